"""One small exception hierarchy. The CLI turns any of these into one line and an exit code.

Every error carries the context a user needs to fix the input: the file, table, row(s) and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PerfkitError(Exception):
    """Base class of every error perfkit raises on purpose."""

    exit_code = 1
    #: More than the one line, for ``--debug`` (e.g. the YAML parser's full message); or None.
    detail: str | None = None

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        table: str | None = None,
        entry: str | None = None,
        field: str | None = None,
        rows: Sequence[int] | None = None,
        count: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.table = table
        self.entry = entry
        self.field = field
        self.rows = list(rows) if rows is not None else []
        self.count = count if count is not None else len(self.rows)
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.table:
            where.append(f"table {self.table}")
        if self.entry:
            where.append(f"entry {self.entry}")
        if self.field:
            # a table has columns; a parameters file has entries with fields
            where.append(f"{'column' if self.table else 'field'} {self.field}")
        text = (": ".join([", ".join(where), self.message])) if where else self.message
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = self.count - len(self.rows)
            text += f" (row {shown}" + (f" and {more} more" if more > 0 else "") + ")"
        return text


class SpecError(PerfkitError):
    """A parameters file (YAML) is malformed or inconsistent."""

    exit_code = 2


def spec_error(file: str, entry: str, field: str | None, message: str) -> SpecError:
    """A SpecError reading ``<file>: <entry>, field <field>: <message>``, with ``.entry``,
    ``.field`` and ``.message`` set apart (``perfkit check`` lists them in columns). The form of the
    files whose entries are nested sections (scorecard.yaml, appraisal.yaml)."""
    text = f"{entry}" + (f", field {field}" if field else "") + f": {message}"
    err = SpecError(text, file=file)
    err.entry, err.field, err.message = entry, field, message
    return err


def loc_entry(loc: tuple, data: Any = None) -> tuple[str, str | None]:
    """(entry, field) of a pydantic error location in such a file: ``("families", "lost",
    "indicators", 0, "weight")`` → ``("families.lost.indicators[0]", "weight")``; a top-level field
    is entry ``(top)``. With the file's parsed ``data``, a list entry that has an ``id`` is named by
    it: ``families.lost.indicators[churn_rate]``."""
    parts = [str(p) for p in loc]
    if not parts:
        return "(top)", None
    if len(parts) == 1:
        return "(top)", parts[0]
    entry = parts[0]
    node = data.get(loc[0]) if isinstance(data, dict) else None
    for raw in loc[1:-1]:
        p = str(raw)
        if isinstance(node, list) and isinstance(raw, int) and 0 <= raw < len(node):
            node = node[raw]
            ident = node.get("id") if isinstance(node, dict) else None
            entry += f"[{ident}]" if isinstance(ident, str | int) else f"[{p}]"
            continue
        entry += f"[{p}]" if p.isdigit() else f".{p}"
        node = node.get(raw) if isinstance(node, dict) else None
    return entry, parts[-1]


class StoreError(PerfkitError):
    """The DuckDB store is missing, unreadable or of another schema version."""

    exit_code = 3


class SchemaVersionError(StoreError):
    """The store was written by a perfkit with a different schema version."""


class DataError(PerfkitError):
    """Input data violates the schema (type, range, key, foreign key, format)."""

    exit_code = 4


class ImportFileError(DataError):
    """A file to import cannot be read (empty, wrong encoding, not what its extension says)."""


class MappingError(DataError):
    """A source system's headers or codes are not covered by its mapping in parameters/import.yaml."""


class ImportProblems(DataError):
    """Every problem one ``perfkit import`` found, in every file, one line each (after a summary
    line). ``problems`` holds them; ``file``, ``field``, ``rows`` … are the first one's."""

    SHOWN = 40  # problems listed; the rest are counted

    def __init__(self, problems: Sequence[DataError]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.message, file=first.file, table=first.table, field=first.field,
                         rows=first.rows, count=first.count)

    def _render(self) -> str:
        n, files = len(self.problems), len({p.file for p in self.problems})
        lines = [f"{n} problems in {files} file{'s' if files > 1 else ''}; nothing was imported:"]
        lines += [f"  {p}" for p in self.problems[: self.SHOWN]]
        if n > self.SHOWN:
            lines.append(f"  … and {n - self.SHOWN} more problems")
        return "\n".join(lines)


def data_problems(problems: Sequence[DataError]) -> DataError | None:
    """The error to raise for ``problems``: None, the one problem itself, or all of them."""
    if not problems:
        return None
    return problems[0] if len(problems) == 1 else ImportProblems(problems)


class RequestError(PerfkitError):
    """A request names something that is not in the data (month, entity, level)."""

    exit_code = 5


class RenderError(PerfkitError):
    """Executing or exporting a report failed."""

    exit_code = 6


class DeliveryError(PerfkitError):
    """Sending the month's reports failed for at least one recipient."""

    exit_code = 7


class OutputError(PerfkitError):
    """A file or folder perfkit must write cannot be written (permissions, a full disk)."""

    exit_code = 8
