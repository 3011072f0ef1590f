"""``perfkit import``: validate CSV / Excel / Parquet exports and load them into the store.

Every rule comes from :mod:`perfkit.data.schema` — required columns, types, formats (``Column.pattern``),
allowed values, ranges, the table key and foreign keys — checked set-wise in DuckDB so a file of a
million rows validates in seconds. All files of one call are written in ONE transaction: on any
violation nothing is written and the store stays exactly as it was (a store created by the failed
call is removed again). Rows are replaced by key (re-importing never duplicates).

Accepted text forms (cells are trimmed; an empty cell is a missing value):

* DATE: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY.MM.DD`` (month and day may have one digit),
  ``YYYYMMDD``, a midnight time ``YYYY-MM-DD 00:00:00``, or an Excel date cell.
* TIMESTAMP: ``YYYY-MM-DD HH:MM[:SS]`` (or ``/`` separators, or ``T``), or an Excel date-time cell.
* Month columns (``YYYY-MM``): also ``YYYYMM``, ``YYYY/MM`` and ``YYYY-MM-01`` (Excel turns a typed
  2026-10 into the date 2026-10-01); stored as ``YYYY-MM``.
* Numbers: thousands separators (``1,234.5``) are allowed; whole-number columns accept ``12.0``.

Row numbers in errors are spreadsheet rows for CSV and Excel (header = row 1, first data row = row 2)
and 1-based record numbers for Parquet; see :mod:`perfkit.data.readers`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from perfkit.data.mapping import SourceMapping, TableMapping, get_mapping
from perfkit.data.readers import ROW_COLUMN, RawFile, ReadOptions, known_extensions, read_file
from perfkit.data.schema import LOAD_ORDER, MONTH_PATTERN, Column, Table
from perfkit.data.schema import table as schema_table
from perfkit.errors import DataError, ImportFileError, MappingError

log = logging.getLogger(__name__)

SHOWN_ROWS = 3  # offending row numbers named in a message; the rest are counted

_SPACES = " \t\r\n\u3000\u00a0"


# --------------------------------------------------------------------------- type registry


@dataclass(frozen=True)
class TypeRule:
    """How text becomes one SQL type: ``cast(v)`` is SQL giving the value or NULL when invalid."""

    cast: Callable[[str], str]
    problem: str


def _date_sql(v: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{8}}') THEN try_strptime({v}, '%Y%m%d')::DATE "
        f"WHEN regexp_full_match({v}, '[0-9]{{4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,2}}"
        f"( 0?0:00(:00(\\.0+)?)?)?') "
        f"THEN try_cast(regexp_replace(split_part({v}, ' ', 1), '[/.]', '-', 'g') AS DATE) END"
    )


def _timestamp_sql(v: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,2}}"
        f"([ T][0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}}(\\.[0-9]+)?)?)?') "
        f"THEN try_cast(regexp_replace({v}, '^([0-9]{{4}})[/.]([0-9]{{1,2}})[/.]([0-9]{{1,2}})', "
        f"'\\1-\\2-\\3') AS TIMESTAMP) END"
    )


def _double_sql(v: str) -> str:
    d = f"try_cast(replace({v}, ',', '') AS DOUBLE)"
    return f"CASE WHEN isfinite({d}) THEN {d} END"


def _integer_sql(sql_type: str) -> Callable[[str], str]:
    def cast(v: str) -> str:
        w = f"replace({v}, ',', '')"
        return (
            f"CASE WHEN regexp_full_match({w}, '[-+]?[0-9]+(\\.0*)?') "
            f"THEN try_cast(split_part({w}, '.', 1) AS {sql_type}) END"
        )

    return cast


TYPE_RULES: dict[str, TypeRule] = {
    "VARCHAR": TypeRule(lambda v: v, "not text"),
    "DATE": TypeRule(
        _date_sql, "not a date (accepted: YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel date cell)"
    ),
    "TIMESTAMP": TypeRule(
        _timestamp_sql,
        "not a date-time (accepted: YYYY-MM-DD HH:MM:SS, YYYY/MM/DD HH:MM or an Excel date cell)",
    ),
    "DOUBLE": TypeRule(_double_sql, "not a number"),
    "INTEGER": TypeRule(_integer_sql("INTEGER"), "not a whole number"),
    "BIGINT": TypeRule(_integer_sql("BIGINT"), "not a whole number"),
}


def register_type(sql_type: str, rule: TypeRule) -> None:
    """Register how text is converted to ``sql_type`` (for a schema column of a new type)."""
    TYPE_RULES[sql_type.upper()] = rule


def _type_rule(col: Column) -> TypeRule:
    try:
        return TYPE_RULES[col.type.upper()]
    except KeyError:
        return TypeRule(lambda v, t=col.type: f"try_cast({v} AS {t})", f"not a valid {col.type}")


# Text normalizers keyed by a column's pattern: accepted spellings → the stored spelling.
def _month_sql(v: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{6}}') THEN substr({v}, 1, 4) || '-' || substr({v}, 5, 2) "
        f"WHEN regexp_full_match({v}, '[0-9]{{4}}[/.][0-9]{{2}}') THEN substr({v}, 1, 4) || '-' || substr({v}, 6, 2) "
        f"WHEN regexp_full_match({v}, '[0-9]{{4}}[-/.][0-9]{{2}}[-/.]01( 00:00:00)?') "
        f"THEN substr({v}, 1, 4) || '-' || substr({v}, 6, 2) ELSE {v} END"
    )


PATTERN_RULES: dict[str, tuple[Callable[[str], str], str]] = {
    MONTH_PATTERN: (_month_sql, "not a month (accepted: YYYY-MM, YYYYMM, YYYY/MM)"),
}


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One violated rule in one file: the error to raise, built lazily."""

    cls: type[DataError]
    message: str
    field: str | None
    rows: tuple[int, ...]
    count: int

    def error(self, file: str, table: str) -> DataError:
        return self.cls(self.message, file=file, table=table, field=self.field, rows=self.rows,
                        count=self.count)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _offenders(
    con: duckdb.DuckDBPyConnection, source: str, condition: str, value: str
) -> tuple[tuple[int, ...], int, object]:
    """First offending row numbers, their total count and the first offending value."""
    found = con.execute(
        f"SELECT {ROW_COLUMN}, {value}, count(*) OVER () FROM {source} WHERE {condition} "
        f"ORDER BY {ROW_COLUMN} LIMIT {SHOWN_ROWS}"
    ).fetchall()
    if not found:
        return (), 0, None
    return tuple(int(r[0]) for r in found), int(found[0][2]), found[0][1]


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


# --------------------------------------------------------------------------- planning


def _table_for_name(stem: str, mapping: SourceMapping | None) -> str | None:
    """The table a file name stands for: ``clients``, ``clients_2026-10``, or a mapped source name.
    The longest matching name wins (``client_months_x`` → client_months, not clients)."""
    candidates: list[tuple[str, str]] = [(t, t) for t in LOAD_ORDER]
    if mapping is not None:
        candidates += [(n, t) for t, tm in mapping.tables.items() for n in tm.file_names]
    low = stem.lower().strip()
    best: tuple[int, str] | None = None
    for name, table in candidates:
        n = name.lower()
        matches = low == n or any(low.startswith(n + sep) for sep in "_-. ")
        if matches and (best is None or len(n) > best[0]):
            best = (len(n), table)
    return best[1] if best else None


def plan_files(
    paths: Sequence[Path], *, table: str | None = None, mapping: SourceMapping | None = None
) -> list[tuple[Path, str]]:
    """(file, table) pairs in load order (:data:`perfkit.data.schema.LOAD_ORDER`, then as given).

    A folder stands for its files with a known extension (not recursive; hidden files and Excel
    ``~$`` lock files skipped). Without ``table`` each file's name says its table.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            members = sorted(
                f for f in p.iterdir()
                if f.is_file() and f.suffix.lower() in known_extensions()
                and not f.name.startswith((".", "~$"))
            )
            if not members:
                raise ImportFileError(
                    f"folder has no files to import ({', '.join(known_extensions())})", file=str(p)
                )
            files += members
        elif not p.exists():
            raise ImportFileError("file not found", file=str(p))
        else:
            files.append(p)
    if table is not None:
        schema_table(table)  # unknown → error listing the tables
    plan: list[tuple[Path, str]] = []
    for f in files:
        t = table or _table_for_name(f.stem, mapping)
        if t is None:
            names = ", ".join(LOAD_ORDER)
            if mapping is None:
                names += "; for a source system's own file names pass --mapping"
            else:
                names += "; or a source name of mapping " + mapping.name + ": " + ", ".join(
                    n for tm in mapping.tables.values() for n in tm.file_names
                )
            raise ImportFileError(
                f"cannot tell which table this file is for: pass --table or name the file after "
                f"a table ({names})",
                file=str(f),
            )
        plan.append((f, t))
    plan.sort(key=lambda ft: LOAD_ORDER.index(ft[1]))
    return plan


# --------------------------------------------------------------------------- one file


@dataclass(frozen=True)
class _Source:
    """Where a store column's text comes from."""

    header: str | None
    label: str  # what errors call the column: 开户日期 (open_date) or open_date
    default: str | None = None
    codes: dict[str, str] | None = None


def _resolve(
    raw: RawFile, spec: Table, tm: TableMapping | None, mapping: SourceMapping | None
) -> dict[str, _Source]:
    """Store column → source, checking that every required column is there."""
    file = str(raw.path)
    by_lower = {c.lower(): c for c in spec.column_names}
    found: dict[str, str] = {}
    ignored: list[str] = []
    for h in raw.headers:
        col = tm.columns.get(h) if tm is not None else None
        if col is None:
            col = by_lower.get(h.lower())
        if col is None:
            ignored.append(h)
            continue
        if col in found:
            raise (MappingError if tm else ImportFileError)(
                f"headers {found[col]!r} and {h!r} both give column {col}",
                file=file, table=spec.name, field=col,
            )
        found[col] = h
    if ignored:
        log.warning("%s: ignoring column(s) not in table %s: %s", file, spec.name, ", ".join(ignored))
    out: dict[str, _Source] = {}
    for c in spec.columns:
        h = found.get(c.name)
        default = tm.defaults.get(c.name) if tm else None
        # codes translate a source header's values; a header already named like the store
        # column carries store values (map it to itself in import.yaml to translate it anyway)
        codes = tm.codes.get(c.name) if tm and h in tm.columns else None
        label = c.name if h is None or h == c.name else f"{h} ({c.name})"
        if h is None and default is None:
            if not c.nullable:
                _missing(raw, spec, tm, mapping, c.name)
            log.debug("%s: column %s absent; left empty", file, c.name)
        out[c.name] = _Source(h, label, default, codes)
    return out


def _missing(
    raw: RawFile, spec: Table, tm: TableMapping | None, mapping: SourceMapping | None, col: str
) -> None:
    file = str(raw.path)
    headers = ", ".join(raw.headers[:12]) + (" …" if len(raw.headers) > 12 else "")
    if mapping is not None and tm is not None:
        expected = tm.headers_for(col)
        if expected:
            raise MappingError(
                f"missing column {expected[0]!r} (mapped to required column {col} by mapping "
                f"{mapping.name}); the file's headers: {headers}",
                file=file, table=spec.name, field=expected[0],
            )
        raise MappingError(
            f"required column {col} has no source header in mapping {mapping.name} "
            f"(add one under tables.{spec.name}.columns in import.yaml); the file's headers: {headers}",
            file=file, table=spec.name, field=col,
        )
    raise DataError(
        f"missing required column; the file's headers: {headers}",
        file=file, table=spec.name, field=col,
    )


def _trimmed(v: str) -> str:
    """SQL: ``v`` without surrounding spaces (also tabs, line breaks, full-width and no-break
    spaces); empty → NULL. Plain ``trim`` is much faster, so the full form runs only when needed."""
    odd = " OR ".join(f"contains({v}, {_lit(ch)})" for ch in _SPACES if ch != " ")
    return f"nullif(CASE WHEN {odd} THEN trim({v}, {_lit(_SPACES)}) ELSE trim({v}) END, '')"


def _normalize(
    con: duckdb.DuckDBPyConnection, raw: RawFile, spec: Table, sources: dict[str, _Source],
    mapping: SourceMapping | None, norm: str,
) -> list[Problem]:
    """Create table ``norm`` (store columns as trimmed text, codes translated); code problems.

    Trimming is materialized first (table ``<norm>_trim``) so later expressions that use a value
    several times (codes, month spellings) do not trim it again."""
    problems: list[Problem] = []
    used = sorted({s.header for s in sources.values() if s.header})
    trim = f"{norm}_trim"
    cols = [ROW_COLUMN] + [f"{_trimmed(_q(h))} AS {_q(h)}" for h in used]
    con.execute(f"CREATE TEMP TABLE {trim} AS SELECT {', '.join(cols)} FROM {raw.name}")
    selects = [ROW_COLUMN]
    for c in spec.columns:
        s = sources[c.name]
        v = _q(s.header) if s.header else "NULL::VARCHAR"
        if s.codes is not None and s.header:
            keys = ", ".join(_lit(k) for k in s.codes)
            rows, n, first = _offenders(con, trim, f"{v} IS NOT NULL AND {v} NOT IN ({keys})", v)
            if n:
                known = ", ".join(f"{k}={val}" for k, val in s.codes.items())
                problems.append(Problem(
                    MappingError, f"unknown code {_show(first)} (mapping "
                    f"{mapping.name if mapping else '?'} knows {known})", s.label, rows, n))
            cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(val)}" for k, val in s.codes.items())
            v = f"CASE {v} {cases} END"
        if s.default is not None:
            v = f"coalesce({v}, {_lit(s.default)})"
        if c.pattern in PATTERN_RULES:
            v = PATTERN_RULES[c.pattern][0](v)
        selects.append(f"{v} AS {_q(c.name)}")
    con.execute(f"CREATE TEMP TABLE {norm} AS SELECT {', '.join(selects)} FROM {trim}")
    con.execute(f"DROP TABLE {trim}")
    return problems


def _text(name: str) -> str:
    """Name of the column holding the (trimmed) source text of store column ``name``."""
    return _q("_text_" + name)


def _build_typed(con: duckdb.DuckDBPyConnection, spec: Table, norm: str, typed: str) -> None:
    """Create ``typed``: each store column converted to its type, next to its source text."""
    cols = [ROW_COLUMN]
    for c in spec.columns:
        cols.append(f"({_type_rule(c).cast(_q(c.name))})::{c.type} AS {_q(c.name)}")
        cols.append(f"{_q(c.name)} AS {_text(c.name)}")
    con.execute(f"CREATE TEMP TABLE {typed} AS SELECT {', '.join(cols)} FROM {norm}")


def _column_problems(
    con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, _Source], typed: str,
    skip: set[str],
) -> list[Problem]:
    """Required, type, format, allowed-value and range checks, column by column (except ``skip``:
    columns already reported for unknown codes). One scan counts every check; only failing checks
    are queried again for their row numbers."""
    checks: list[tuple[str, str, str, bool]] = []  # (column, condition, message, show value)
    for c in spec.columns:
        s = sources[c.name]
        if (s.header is None and s.default is None) or c.name in skip:
            continue  # absent optional column (absent required ones were refused earlier)
        v, t = _text(c.name), _q(c.name)
        if not c.nullable:
            checks.append((c.name, f"{v} IS NULL", "required value is empty", False))
        checks.append((c.name, f"{v} IS NOT NULL AND {t} IS NULL", _type_rule(c).problem, True))
        if c.pattern:
            message = PATTERN_RULES[c.pattern][1] if c.pattern in PATTERN_RULES else (
                f"does not match the format {c.pattern}")
            checks.append((c.name, f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(c.pattern)})",
                           message, True))
        if c.values:
            allowed = ", ".join(_lit(x) for x in c.values)
            checks.append((c.name, f"{v} IS NOT NULL AND {v} NOT IN ({allowed})",
                           f"not an allowed value (allowed: {', '.join(c.values)})", True))
        if c.min is not None:
            checks.append((c.name, f"{t} < {c.min!r}", f"below the minimum {c.min:g}", True))
        if c.max is not None:
            checks.append((c.name, f"{t} > {c.max!r}", f"above the maximum {c.max:g}", True))
    if not checks:
        return []
    counts = con.execute(
        "SELECT " + ", ".join(f"count_if({cond})" for _, cond, _, _ in checks) + f" FROM {typed}"
    ).fetchone()
    problems: list[Problem] = []
    for (col, cond, message, show), n in zip(checks, counts, strict=True):
        if n:
            rows, n, first = _offenders(con, typed, cond, _text(col))
            text = message + (f", e.g. {_show(first)}" if show and first is not None else "")
            problems.append(Problem(DataError, text, sources[col].label, rows, n))
    return problems


def _key_problems(
    con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, _Source], typed: str
) -> list[Problem]:
    """Duplicate keys within the file, then foreign keys against the store (+ earlier files)."""
    problems: list[Problem] = []
    key = ", ".join(_q(k) for k in spec.key)
    shown = " || ', ' || ".join(f"CAST({_q(k)} AS VARCHAR)" for k in spec.key)
    dup_source = (
        f"(SELECT *, count(*) OVER (PARTITION BY {key}) AS _n FROM {typed}) AS d"
    )
    rows, n, first = _offenders(con, dup_source, "_n > 1", shown)
    if n:
        label = ", ".join(sources[k].label for k in spec.key)
        problems.append(Problem(
            DataError, f"duplicate key ({', '.join(spec.key)}) within the file, e.g. {_show(first)}",
            label, rows, n))
    for fk in spec.foreign_keys:
        c = _q(fk.column)
        cond = (
            f"{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {fk.ref_table} AS r "
            f"WHERE r.{_q(fk.ref_column)} = t.{c})"
        )
        rows, n, first = _offenders(con, f"{typed} AS t", cond, c)
        if n:
            problems.append(Problem(
                DataError,
                f"unknown {fk.column} {_show(first)}: not in table {fk.ref_table} "
                f"(neither in the store nor in the files of this import)",
                sources[fk.column].label, rows, n))
    return problems


def _raise_first(problems: list[Problem], file: str, table: str) -> None:
    if not problems:
        return
    for p in problems[1:]:  # the first is raised; the others are logged so one run shows them all
        log.error("also: %s", p.error(file, table))
    raise problems[0].error(file, table)


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    mapping: SourceMapping | None = None,
    options: ReadOptions | None = None,
    tag: str = "0",
) -> int:
    """Validate ``path`` as rows of ``table`` and replace them by key in the open connection.

    Runs inside the caller's transaction (it does not commit). Returns the number of rows written.
    Raises ImportFileError (unreadable file), MappingError (headers/codes not covered by
    ``mapping``) or DataError (a schema rule broken) naming file, table, column and rows.
    """
    spec = schema_table(table)
    tm = mapping.tables.get(table) if mapping is not None else None
    names = [f"_perfkit_import_{tag}_{part}" for part in ("raw", "norm", "typed", "norm_trim")]
    file = str(path)
    try:
        raw = read_file(path, con, names[0], options)
        sources = _resolve(raw, spec, tm, mapping)
        problems = _normalize(con, raw, spec, sources, mapping, names[1])
        coded = {c for c, s in sources.items() for p in problems if p.field == s.label}
        con.execute(f"DROP TABLE {names[0]}")  # free memory early: a big file is held 3 times
        _build_typed(con, spec, names[1], names[2])
        con.execute(f"DROP TABLE {names[1]}")
        problems += _column_problems(con, spec, sources, names[2], coded)
        _raise_first(problems, file, table)
        _raise_first(_key_problems(con, spec, sources, names[2]), file, table)
        # Replace by key. INSERT OR REPLACE is much faster in DuckDB than DELETE + INSERT on a
        # primary key; a table whose columns are all key columns has nothing to replace.
        verb = "OR REPLACE" if set(spec.column_names) - set(spec.key) else "OR IGNORE"
        cols = ", ".join(_q(c) for c in spec.column_names)
        con.execute(
            f"INSERT {verb} INTO {table} ({cols}) SELECT {cols} FROM {names[2]} ORDER BY {ROW_COLUMN}"
        )
        return raw.rows
    except duckdb.Error as exc:
        raise DataError(f"import failed: {str(exc).splitlines()[0]}", file=file, table=table) from None
    finally:
        for name in names:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS {name}")


# --------------------------------------------------------------------------- the API


def import_paths(
    db: str | os.PathLike | duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    *,
    table: str | None = None,
    mapping: str | None = None,
    encoding: str = "utf-8",
    params_dir: Path = Path("parameters"),
    sheet: str | None = None,
) -> dict[str, int]:
    """Import ``files`` (files or folders) into the store ``db``; returns rows imported per table.

    ``db`` is a path (created if missing) or an open read-write connection. Without ``table`` each
    file's name says its table (``clients.csv``, ``client_months_2026-10.xlsx``, or a source file
    name of ``mapping``). ``mapping`` names a source system in ``params_dir/import.yaml``.
    ``encoding`` applies to CSV files, ``sheet`` to Excel files (default: the first sheet).

    Files are loaded in :data:`perfkit.data.schema.LOAD_ORDER`, so foreign keys may point to rows of an
    earlier file of the same call. One transaction: on any error nothing is written. A later file
    with the same keys as an earlier one in the same call replaces those rows, like a re-import.
    """
    t0 = time.perf_counter()
    source = get_mapping(mapping, params_dir) if mapping else None
    plan = plan_files(files, table=table, mapping=source)
    options = ReadOptions(encoding=encoding, sheet=sheet)
    own = not isinstance(db, duckdb.DuckDBPyConnection)
    created = own and not Path(db).exists()
    if own:
        from perfkit.data.store import open_store

        con = open_store(db, read_only=False, create=True)
    else:
        con = db
    counts: dict[str, int] = {}
    ok = False
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for i, (path, tname) in enumerate(plan):
                n = import_file(con, path, tname, mapping=source, options=options, tag=str(i))
                counts[tname] = counts.get(tname, 0) + n
                log.info("validated %s: %d rows for %s", path, n, tname)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        ok = True
    finally:
        if own:
            con.close()
            if created and not ok:  # the store did not exist before: leave none behind
                Path(db).unlink(missing_ok=True)
                Path(str(db) + ".wal").unlink(missing_ok=True)
    log.info("imported %s in %.1fs", counts, time.perf_counter() - t0)
    return {t: counts[t] for t in LOAD_ORDER if t in counts}


__all__ = ["import_paths", "import_file", "plan_files", "register_type", "TypeRule", "TYPE_RULES"]
