"""The checks of ``perfkit import``: a source file's text → the store's typed columns, and every rule
of :mod:`perfkit.data.schema` checked set-wise in DuckDB (required, type, format, allowed values,
range, duplicate and foreign keys).

:data:`TYPE_RULES` is the registry of how text becomes each SQL type (:func:`register_type` adds
one); :data:`PATTERN_RULES` accepts other spellings of a patterned column (``YYYYMM`` for a month).
Row rules between columns (:class:`~perfkit.data.schema.Ordered`, ``Requires``, ``SameAs``) are
checked by :func:`rule_problems`. A :class:`Problem` names the rule, the column, the first offending
rows and their count; the importer collects every problem of every file and raises them together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from perfkit.data.mapping import SourceMapping
from perfkit.data.readers import ROW_COLUMN, RawFile
from perfkit.data.schema import MONTH_PATTERN, Column, Ordered, Requires, SameAs, Table
from perfkit.errors import DataError, MappingError

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


def quote(name: str) -> str:
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


# --------------------------------------------------------------------------- one file's columns


@dataclass(frozen=True)
class Source:
    """Where a store column's text comes from."""

    header: str | None
    label: str  # what errors call the column: 开户日期 (open_date) or open_date
    default: str | None = None
    codes: dict[str, str] | None = None


def _trimmed(v: str) -> str:
    """SQL: ``v`` without surrounding spaces (also tabs, line breaks, full-width and no-break
    spaces); empty → NULL. Plain ``trim`` is much faster, so the full form runs only when needed."""
    odd = " OR ".join(f"contains({v}, {_lit(ch)})" for ch in _SPACES if ch != " ")
    return f"nullif(CASE WHEN {odd} THEN trim({v}, {_lit(_SPACES)}) ELSE trim({v}) END, '')"


def normalize(
    con: duckdb.DuckDBPyConnection, raw: RawFile, spec: Table, sources: dict[str, Source],
    mapping: SourceMapping | None, norm: str,
) -> list[Problem]:
    """Create table ``norm`` (store columns as trimmed text, codes translated); code problems.

    Trimming is materialized first (table ``<norm>_trim``) so later expressions that use a value
    several times (codes, month spellings) do not trim it again."""
    problems: list[Problem] = []
    used = sorted({s.header for s in sources.values() if s.header})
    trim = f"{norm}_trim"
    cols = [ROW_COLUMN] + [f"{_trimmed(quote(h))} AS {quote(h)}" for h in used]
    con.execute(f"CREATE TEMP TABLE {trim} AS SELECT {', '.join(cols)} FROM {raw.name}")
    selects = [ROW_COLUMN]
    for c in spec.columns:
        s = sources[c.name]
        v = quote(s.header) if s.header else "NULL::VARCHAR"
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
        selects.append(f"{v} AS {quote(c.name)}")
    con.execute(f"CREATE TEMP TABLE {norm} AS SELECT {', '.join(selects)} FROM {trim}")
    con.execute(f"DROP TABLE {trim}")
    return problems


def _text(name: str) -> str:
    """Name of the column holding the (trimmed) source text of store column ``name``."""
    return quote("_text_" + name)


def build_typed(con: duckdb.DuckDBPyConnection, spec: Table, norm: str, typed: str) -> None:
    """Create ``typed``: each store column converted to its type, next to its source text."""
    cols = [ROW_COLUMN]
    for c in spec.columns:
        cols.append(f"({_type_rule(c).cast(quote(c.name))})::{c.type} AS {quote(c.name)}")
        cols.append(f"{quote(c.name)} AS {_text(c.name)}")
    con.execute(f"CREATE TEMP TABLE {typed} AS SELECT {', '.join(cols)} FROM {norm}")


def column_problems(
    con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, Source], typed: str,
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
        v, t = _text(c.name), quote(c.name)
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


def key_problems(
    con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, Source], typed: str,
    unread: frozenset[str] = frozenset(), refs: dict[str, str] | None = None,
) -> list[Problem]:
    """Duplicate keys within the file, then foreign keys against the store (+ earlier files; not
    against a table in ``unread``: its file of this import could not be read). ``refs`` gives the
    SQL a referenced table is read from, when earlier files with problems add rows to it."""
    problems: list[Problem] = []
    key = ", ".join(quote(k) for k in spec.key)
    shown = " || ', ' || ".join(f"CAST({quote(k)} AS VARCHAR)" for k in spec.key)
    whole = " AND ".join(f"{quote(k)} IS NOT NULL" for k in spec.key)  # empty keys: reported
    dup_source = (
        f"(SELECT *, count(*) OVER (PARTITION BY {key}) AS _n FROM {typed} WHERE {whole}) AS d"
    )
    rows, n, first = _offenders(con, dup_source, "_n > 1", shown)
    if n:
        label = ", ".join(sources[k].label for k in spec.key)
        problems.append(Problem(
            DataError, f"duplicate key ({', '.join(spec.key)}) within the file, e.g. {_show(first)}",
            label, rows, n))
    for fk in spec.foreign_keys:
        if fk.ref_table in unread:
            continue
        c = quote(fk.column)
        cond = (
            f"{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {(refs or {}).get(fk.ref_table, fk.ref_table)} AS r "
            f"WHERE r.{quote(fk.ref_column)} = t.{c})"
        )
        rows, n, first = _offenders(con, f"{typed} AS t", cond, c)
        if n:
            problems.append(Problem(
                DataError,
                f"unknown {fk.column} {_show(first)}: not in table {fk.ref_table} "
                f"(neither in the store nor in the files of this import)",
                sources[fk.column].label, rows, n))
    return problems


def rule_problems(
    con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, Source], typed: str,
    waived: frozenset[str] = frozenset(), refs: dict[str, str] | None = None,
) -> list[Problem]:
    """The table's row rules (except ``waived``) on the rows of ``typed``. A rule on a column the
    file does not carry is skipped; SameAs compares with the store (+ earlier files, ``refs`` as
    for :func:`key_problems`)."""
    carried = {c for c, s in sources.items() if s.header is not None or s.default is not None}
    problems: list[Problem] = []
    for rule in spec.rules:
        if rule.name in waived:
            continue
        if isinstance(rule, Ordered):
            if not {rule.earlier, rule.later} <= carried:
                continue
            a, b = quote(rule.earlier), quote(rule.later)
            found = _offenders(con, typed, f"{b} < {a}", f"{b}::VARCHAR || ' < ' || {a}::VARCHAR")
            text = f"{rule.later} is before {rule.earlier} (rule {rule.name}: {rule.text})"
            field = rule.later
        elif isinstance(rule, Requires):
            if rule.column not in carried:
                continue
            c, n = quote(rule.column), quote(rule.needs)
            found = _offenders(con, typed, f"{c} IS NOT NULL AND {n} IS NULL", f"{c}::VARCHAR")
            text = f"{rule.column} is set but {rule.needs} is empty (rule {rule.name})"
            field = rule.column
        elif isinstance(rule, SameAs):
            if not {rule.column, rule.via} <= carried:
                continue
            source = (refs or {}).get(rule.ref_table, rule.ref_table)
            ref = (f"(SELECT any_value(r.{quote(rule.ref_column)}) FROM {source} AS r "
                   f"WHERE r.{quote(rule.ref_key)} = t.{quote(rule.via)})")
            found = _offenders(
                con, f"{typed} AS t", f"{ref} IS DISTINCT FROM t.{quote(rule.column)} AND {ref} IS NOT NULL",
                f"t.{quote(rule.column)} || ' ≠ ' || {ref} || ' of ' || t.{quote(rule.via)}")
            text = (f"{rule.column} differs from the {rule.ref_column} of the row's {rule.via} in "
                    f"{rule.ref_table} (rule {rule.name}; a source mapping where this is normal lists "
                    f"the rule under waive in import.yaml)")
            field = rule.column
        else:  # pragma: no cover - a new rule kind needs its SQL here
            raise TypeError(f"unknown row rule {rule!r}")
        rows, n, first = found
        if n:
            problems.append(Problem(DataError, f"{text}, e.g. {_show(first)}", sources[field].label,
                                    rows, n))
    return problems
