"""``perfkit import``: validate CSV / Excel / Parquet exports and load them into the store.

Every rule comes from :mod:`perfkit.data.schema` — required columns, types, formats
(``Column.pattern``), allowed values, ranges, the table key and foreign keys — checked set-wise in
DuckDB by :mod:`perfkit.data.checks`, so a file of a million rows validates in seconds — and the
row rules between columns (``lead_date ≤ open_date``, a client's branch is his manager's branch …).
Every problem of every file is found in one call and reported together (each with its count and
first rows): a file with problems still lends its usable rows to the checks of later files, so
one bad branches file does not hide the rest behind "unknown branch_id" errors.

All files of one call are written in ONE transaction: on any violation nothing is written and the
store stays exactly as it was (a store created by the failed call is removed again). Rows are
replaced by key (re-importing never duplicates).

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
from collections.abc import Sequence
from pathlib import Path

import duckdb

from perfkit.data.checks import (
    Source,
    build_typed,
    column_problems,
    key_problems,
    normalize,
    quote,
    rule_problems,
)
from perfkit.data.lock import writes_store
from perfkit.data.mapping import SourceMapping, TableMapping, get_mapping
from perfkit.data.readers import ROW_COLUMN, RawFile, ReadOptions, known_extensions, read_file
from perfkit.data.schema import LOAD_ORDER, Table
from perfkit.data.schema import table as schema_table
from perfkit.errors import DataError, ImportFileError, MappingError, data_problems
from perfkit.projectfile import project_path

log = logging.getLogger(__name__)

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


def _resolve(
    raw: RawFile, spec: Table, tm: TableMapping | None, mapping: SourceMapping | None
) -> dict[str, Source]:
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
    out: dict[str, Source] = {}
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
        out[c.name] = Source(h, label, default, codes)
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


def _warn_formulas(con: duckdb.DuckDBPyConnection, spec: Table, sources: dict[str, Source],
                   typed: str, file: str) -> None:
    """Log the rows whose text a spreadsheet would evaluate (``=…``, ``+…``, ``@…``; see
    :mod:`perfkit.sheets`): they are stored as they are, and every export neutralises them."""
    for c in spec.columns:
        if c.type != "VARCHAR" or sources[c.name].header is None:
            continue
        col = quote(c.name)
        rows = con.execute(
            f"SELECT {ROW_COLUMN} FROM {typed} WHERE regexp_matches({col}, '^[=+@\t\r-]') "
            f"AND NOT regexp_matches({col}, '^[+-][0-9][0-9,]*(\\.[0-9]+)?%?$') "
            f"ORDER BY {ROW_COLUMN}").fetchall()
        if rows:
            shown = ", ".join(str(r[0]) for r in rows[:5]) + (" …" if len(rows) > 5 else "")
            log.warning("%s: %s.%s: %d row(s) start like a spreadsheet formula (rows %s); kept as "
                        "text, neutralised in every CSV and Excel export", file, spec.name,
                        c.name, len(rows), shown)


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
    ``mapping``) or DataError (a schema rule broken) naming file, table, column and rows — with
    several problems, :class:`~perfkit.errors.ImportProblems` listing them all; then nothing is
    written.
    """
    rows, problems = _check_and_load(con, path, table, mapping=mapping, options=options, tag=tag)
    if error := data_problems(problems):
        raise error
    return rows


def _check_and_load(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, mapping: SourceMapping | None,
    options: ReadOptions | None, tag: str, unread: frozenset[str] = frozenset(),
    refs: dict[str, str] | None = None, keep: str | None = None,
) -> tuple[int, list[DataError]]:
    """Every problem of one file, and its rows written when it has none. With problems and
    ``keep``, the file's typed rows are kept as temp table ``keep`` (for the checks of later
    files: see :func:`_with_kept`). ``unread`` and ``refs``: see :func:`perfkit.data.checks.key_problems`."""
    spec = schema_table(table)
    tm = mapping.tables.get(table) if mapping is not None else None
    names = [f"_perfkit_import_{tag}_{part}" for part in ("raw", "norm", "typed", "norm_trim")]
    file = str(path)
    try:
        raw = read_file(path, con, names[0], options)
        sources = _resolve(raw, spec, tm, mapping)
        problems = normalize(con, raw, spec, sources, mapping, names[1])
        coded = {c for c, s in sources.items() for p in problems if p.field == s.label}
        con.execute(f"DROP TABLE {names[0]}")  # free memory early: a big file is held 3 times
        build_typed(con, spec, names[1], names[2])
        con.execute(f"DROP TABLE {names[1]}")
        problems += column_problems(con, spec, sources, names[2], coded)
        problems += key_problems(con, spec, sources, names[2], unread, refs)
        problems += rule_problems(con, spec, sources, names[2], frozenset(tm.waive if tm else ()),
                                  refs)
        errors = [p.error(file, table) for p in problems]
        if errors:
            if keep:
                con.execute(f"ALTER TABLE {names[2]} RENAME TO {keep}")
            return raw.rows, errors
        _warn_formulas(con, spec, sources, names[2], file)
        # Replace by key. INSERT OR REPLACE is much faster in DuckDB than DELETE + INSERT on a
        # primary key; a table whose columns are all key columns has nothing to replace.
        verb = "OR REPLACE" if set(spec.column_names) - set(spec.key) else "OR IGNORE"
        cols = ", ".join(quote(c) for c in spec.column_names)
        con.execute(
            f"INSERT {verb} INTO {table} ({cols}) SELECT {cols} FROM {names[2]} ORDER BY {ROW_COLUMN}"
        )
        return raw.rows, []
    except duckdb.Error as exc:
        raise DataError(f"import failed: {str(exc).splitlines()[0]}", file=file, table=table) from None
    finally:
        for name in names:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS {name}")


def _with_kept(kept: dict[str, list[str]]) -> dict[str, str]:
    """SQL for each table that files with problems add rows to: the store's rows and theirs, so
    a later file is not told that a key of an earlier file is unknown (one problem, not two)."""
    out: dict[str, str] = {}
    for table, names in kept.items():
        cols = ", ".join(quote(c) for c in schema_table(table).column_names)
        parts = [f"SELECT {cols} FROM {table}"] + [f"SELECT {cols} FROM {n}" for n in names]
        out[table] = "(" + " UNION ALL ".join(parts) + ")"
    return out


# --------------------------------------------------------------------------- the API


@writes_store("perfkit import", "db")
def import_paths(
    db: str | os.PathLike | duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    *,
    table: str | None = None,
    mapping: str | None = None,
    encoding: str = "utf-8",
    params_dir: Path | None = None,
    sheet: str | None = None,
) -> dict[str, int]:
    """Import ``files`` (files or folders) into the store ``db``; returns rows imported per table.

    ``db`` is a path (created if missing) or an open read-write connection. Without ``table`` each
    file's name says its table (``clients.csv``, ``client_months_2026-10.xlsx``, or a source file
    name of ``mapping``). ``mapping`` names a source system in ``params_dir/import.yaml`` (default:
    the project's parameters folder).
    ``encoding`` applies to CSV files, ``sheet`` to Excel files (default: the first sheet).

    Files are loaded in :data:`perfkit.data.schema.LOAD_ORDER`, so foreign keys may point to rows of an
    earlier file of the same call. One transaction: on any error nothing is written. A later file
    with the same keys as an earlier one in the same call replaces those rows, like a re-import.
    """
    t0 = time.perf_counter()
    if mapping and params_dir is None:
        params_dir = project_path("parameters")
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
            problems: list[DataError] = []
            unread: set[str] = set()  # tables whose file could not be read: no foreign-key noise
            kept: dict[str, list[str]] = {}  # table → typed rows of its files with problems
            for i, (path, tname) in enumerate(plan):
                try:
                    n, found = _check_and_load(
                        con, path, tname, mapping=source, options=options, tag=str(i),
                        unread=frozenset(unread), refs=_with_kept(kept),
                        keep=f"_perfkit_import_kept_{i}")
                except DataError as exc:  # unreadable, or a required column missing
                    problems.append(exc)
                    unread.add(tname)
                    continue
                if found:
                    kept.setdefault(tname, []).append(f"_perfkit_import_kept_{i}")
                problems += found
                counts[tname] = counts.get(tname, 0) + n
                log.info("validated %s: %d rows for %s%s", path, n, tname,
                         f" ({len(found)} problems)" if found else "")
            for names in kept.values():
                for name in names:
                    con.execute(f"DROP TABLE {name}")
            if error := data_problems(problems):
                raise error
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


__all__ = ["import_file", "import_paths", "plan_files"]
