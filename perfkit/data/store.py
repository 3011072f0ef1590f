"""The CRM store: one DuckDB file holding the tables of :mod:`perfkit.data.schema`.

``create_store`` writes an empty store; ``open_store`` opens an existing one and refuses a store of
another schema version with a clear error. Functions elsewhere take either a path or an open
connection (see :func:`connect`). :func:`store_fingerprint` hashes what a month's reports can see
of the store, so that a result computed from it is redone exactly when that changes.

Every connection perfkit opens gets the same DuckDB settings (:func:`duckdb_config`): a memory
limit, so that a large join or sort spills to disk instead of taking the machine, and the folder
it spills to. :func:`copy_parquet` writes a query's rows straight to a Parquet file, never through
pandas.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import shutil
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from perfkit.data.schema import PUBLICATION_TABLES, SCHEMA_VERSION, TABLES
from perfkit.digest import sha256_json
from perfkit.errors import SchemaVersionError, StoreError
from perfkit.projectfile import project_path

log = logging.getLogger(__name__)

META_TABLE = "perfkit_meta"

StoreLike = str | os.PathLike | duckdb.DuckDBPyConnection


def default_db() -> Path:
    """The store path: ``$PERFKIT_DB`` if set, else the store of the project the current folder is
    in (``perfkit.yaml``'s ``store``, by default ``data/crm.duckdb``; :mod:`perfkit.projectfile`)."""
    return project_path("store")


# ── DuckDB settings ─────────────────────────────────────────────────────────────────────────────

#: environment variables that set DuckDB's memory limit (``4GB``, ``800MB``, or ``30%`` of the
#: machine's memory) and the folder it spills to
MEMORY_ENV = "PERFKIT_DUCKDB_MEMORY"
TEMP_ENV = "PERFKIT_DUCKDB_TEMP"
#: environment variable capping DuckDB's threads per process (default: DuckDB's, one per core)
THREADS_ENV = "PERFKIT_DUCKDB_THREADS"
THREADS_MAX = 1024

#: the default memory limit, as a share of the machine's physical memory. DuckDB's own default
#: (80 %) lets one query take a machine that the month's report workers share; less than a fifth
#: of it holds a 10-million-client month's largest joins on a 24 GiB machine (more spills to
#: disk) and leaves room for the frames perfkit keeps in pandas under the 6 GB the month's
#: snapshot may take there (bench/README.md)
MEMORY_SHARE = 0.18


#: where a container's memory limit is read (cgroup v2, then v1)
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _physical_memory() -> int:
    """The memory perfkit may count on: the machine's, or the container's limit when lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 * 2**30
    for file in CGROUP_LIMITS:
        with contextlib.suppress(OSError, ValueError):
            text = Path(file).read_text(encoding="ascii").strip()
            if text.isdigit() and 0 < int(text) < total:  # "max" or a huge v1 number: no limit
                return int(text)
    return total


#: the smallest memory limit perfkit accepts (less and every query runs out of memory)
MEMORY_MIN_MIB = 64
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def memory_limit(default_at_most: int | None = None) -> str:
    """DuckDB's ``memory_limit`` for perfkit's connections: ``$PERFKIT_DUCKDB_MEMORY`` (an amount
    such as ``4GB`` or a share of the machine's memory such as ``30%``), else
    :data:`MEMORY_SHARE` of the physical memory, at least 1 GiB (and at most ``default_at_most``
    MiB when given). StoreError for a malformed value."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        mib = max(int(_physical_memory() * MEMORY_SHARE) >> 20, 1024)
        return f"{min(mib, default_at_most) if default_at_most else mib}MiB"
    share = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if share and 0 < float(share[1]) <= 100:
        return f"{max(int(_physical_memory() * float(share[1]) / 100) >> 20, MEMORY_MIN_MIB)}MiB"
    amount = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT])(i?B)?", text, re.IGNORECASE)
    if amount:
        size = float(amount[1]) * _UNITS[amount[2].upper()]  # KB taken as KiB: only the floor is checked
        if size < MEMORY_MIN_MIB * 2**20:
            raise StoreError(f"${MEMORY_ENV} = {text!r} is less than DuckDB needs: give at least "
                             f"{MEMORY_MIN_MIB}MB (a few GB for a large store)")
        return text.replace(" ", "")
    raise StoreError(f"${MEMORY_ENV} must be an amount such as 4GB or a share such as 30%, "
                     f"got {text!r}")


def cache_dir(sub: str, store: StoreLike | None) -> Path | None:
    """perfkit's cache folder ``sub`` (snapshots, published files, DuckDB's spill files):
    ``$PERFKIT_CACHE/<sub>`` when that is set (and not ``off``: these caches are needed), else
    ``.perfkit-cache/<sub>`` beside the store file (:func:`default_db` when None), on the disk that
    holds it; None for a store given as a connection (no file to put it beside)."""
    env = os.environ.get("PERFKIT_CACHE", "")
    if env and env.lower() != "off":
        return Path(env) / sub
    if store is not None and not isinstance(store, str | os.PathLike):
        return None
    return Path(store if store is not None else default_db()).resolve().parent / ".perfkit-cache" / sub


def spill_folder(store: str | os.PathLike | None = None) -> Path:
    """Where DuckDB spills what does not fit its memory limit: ``$PERFKIT_DUCKDB_TEMP``, else
    ``duckdb-tmp`` in ``$PERFKIT_CACHE`` (when set and not ``off``), else in ``.perfkit-cache``
    beside the store (the disk that holds the store, not a RAM-backed /tmp), then one folder per
    process and store (``<host>-<pid>-<hash of the store's path>``): DuckDB removes its folder when
    the last connection closes and names its files alike for every database, so no two databases
    share one. Folders of this host's processes that are gone are removed when the next one is
    chosen (a folder shared by several machines keeps the others')."""
    env = os.environ.get(TEMP_ENV, "").strip()
    # an in-memory database (no store file) spills beside the current folder
    root = Path(env) if env else cache_dir("duckdb-tmp", store if store is not None
                                           else Path.cwd() / "(in memory)")
    _sweep(root)
    with contextlib.suppress(OSError):  # DuckDB creates the last folder only, when it spills
        root.mkdir(parents=True, exist_ok=True)
    where = str(Path(store).resolve()) if store is not None else ""
    # DuckDB names its spill files alike for every database: one folder per process and store
    return root / f"{_HOST}-{os.getpid()}-{hashlib.sha1(where.encode()).hexdigest()[:8]}"


#: an I/O error of DuckDB's spilling or of a full disk (a missing file a query reads is not one)
_SPILL_OR_DISK = re.compile(r"temp_|temporary|\.tmp\b|spill|no space left|disk (is )?full",
                            re.IGNORECASE)


def resource_error(exc: BaseException, where: str | None = None) -> StoreError | None:
    """A StoreError saying what to change when ``exc`` is DuckDB running out of memory or failing
    to spill to disk (not the query's fault); None for any other error."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return StoreError(f"DuckDB ran out of memory: {str(exc).splitlines()[0]}; raise "
                          f"${MEMORY_ENV} (now {memory_limit()})", file=where)
    if isinstance(exc, duckdb.IOException) and _SPILL_OR_DISK.search(str(exc)):
        return StoreError(f"DuckDB could not read or write a file: {str(exc).splitlines()[0]} "
                          f"(its spill folder is ${TEMP_ENV}, default .perfkit-cache/duckdb-tmp "
                          f"beside the store)", file=where)
    return None


_SWEPT: set[Path] = set()


def _sweep(root: Path) -> None:
    """Remove the spill folders of processes that no longer run (a killed build), once per root."""
    if root in _SWEPT:
        return
    _SWEPT.add(root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    import psutil

    for entry in entries:
        parts = entry.name.rsplit("-", 2)  # <host>-<pid>-<store>; a bare <pid> from perfkit 0.x
        host, pid = (parts[0], parts[1]) if len(parts) == 3 else (_HOST, entry.name)
        if host == _HOST and pid.isdigit() and entry.is_dir() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def duckdb_config(store: str | os.PathLike | None = None) -> dict[str, str]:
    """The settings of every connection perfkit opens to ``store``: ``memory_limit``
    (:func:`memory_limit`), ``temp_directory`` (:func:`spill_folder`) and, when
    ``$PERFKIT_DUCKDB_THREADS`` is set, ``threads``."""
    config = {"memory_limit": memory_limit(), "temp_directory": str(spill_folder(store))}
    threads = os.environ.get(THREADS_ENV, "").strip()
    if threads:
        if not re.fullmatch(r"[0-9]+", threads) or not 1 <= int(threads) <= THREADS_MAX:
            raise StoreError(f"${THREADS_ENV} must be a whole number from 1 to {THREADS_MAX}, "
                             f"got {threads!r}")
        config["threads"] = threads
    return config


def configure(con: duckdb.DuckDBPyConnection, store: str | os.PathLike | None = None) -> None:
    """Apply :func:`duckdb_config` to the database of ``con``. Set after connecting rather than
    passed to ``duckdb.connect``: DuckDB refuses a second connection to a file with another
    configuration than the first, and an analyst's own ``duckdb.connect(path)`` must keep
    working beside perfkit's. A folder DuckDB is spilling to already is kept."""
    for key, value in duckdb_config(store).items():
        try:
            quoted = value.replace("'", "''")
            con.execute(f"SET {key} = '{quoted}'")
        except duckdb.Error as exc:  # e.g. the temporary directory is in use
            chosen = {"memory_limit": MEMORY_ENV, "temp_directory": TEMP_ENV,
                      "threads": THREADS_ENV}[key]
            # the user's own setting not taken is worth a line; perfkit's default is not
            (log.warning if os.environ.get(chosen, "").strip() else log.debug)(
                "DuckDB %s stays as it is (not %s from $%s): %s", key, value, chosen,
                str(exc).splitlines()[0])


def copy_parquet(con: duckdb.DuckDBPyConnection, sql: str, path: str | os.PathLike, *,
                 args: Sequence[Any] | Mapping[str, Any] | None = None, order_by: Sequence[str] = (),
                 row_group_size: int = 20_000) -> int:
    """Write the rows of query ``sql`` to the Parquet file ``path`` inside DuckDB (``COPY … TO``),
    sorted by ``order_by`` (column names; missing values last), ``row_group_size`` rows per row
    group; ``args``: the query's parameters (a list, or a mapping for ``$name``); return the
    number of rows. Nothing passes through Python: a query larger than the
    memory limit spills to disk. Written beside ``path`` and renamed when whole: a failed query
    leaves ``path`` as it was."""
    order = ""
    if order_by:
        order = " ORDER BY " + ", ".join(f'"{c}" NULLS LAST' for c in order_by)
    final = Path(path)
    part = final.with_name(f".{final.name}.{os.getpid()}.part")  # renamed when whole
    target = str(part).replace("'", "''")
    try:
        n = con.execute(
            f"COPY (SELECT * FROM ({sql}) AS q{order}) TO '{target}' "
            f"(FORMAT parquet, ROW_GROUP_SIZE {int(row_group_size)})",
            dict(args) if isinstance(args, Mapping) else list(args or [])).fetchone()
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return int(n[0]) if n else 0


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (if missing) and stamp the schema version."""
    for t in (*TABLES, *PUBLICATION_TABLES):
        con.execute(t.ddl())
    con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(
        f"INSERT OR REPLACE INTO {META_TABLE} VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )


def create_store(path: str | os.PathLike, *, overwrite: bool = False) -> duckdb.DuckDBPyConnection:
    """Create an empty store at ``path`` and return a read-write connection.

    With ``overwrite`` an existing file is replaced; without it, an existing file is an error.
    """
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise StoreError("store already exists; pass overwrite=True to replace it", file=str(path))
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    configure(con, path)
    create_schema(con)
    return con


def check_version(con: duckdb.DuckDBPyConnection, where: str = "store") -> None:
    """Raise :class:`SchemaVersionError` unless the store carries this perfkit's schema version."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [META_TABLE]
    ).fetchone()[0]
    if not has_meta:
        raise SchemaVersionError(
            "not a perfkit store (no perfkit_meta table); build one with `perfkit demo` "
            "or `perfkit import`",
            file=where,
        )
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
    found = row[0] if row else "none"
    if found != str(SCHEMA_VERSION):
        older = found.isdigit() and int(found) < SCHEMA_VERSION
        raise SchemaVersionError(
            f"store has schema version {found}, this perfkit needs {SCHEMA_VERSION}; "
            + ("upgrade it in place with `perfkit upgrade-store` (a backup copy is kept)" if older
               else "rebuild it (`perfkit demo`) or re-import the source files"),
            file=where,
        )


def open_store(
    path: str | os.PathLike | None = None, *, read_only: bool = True, create: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the store at ``path`` (default :func:`default_db`) after checking its schema version.

    ``create=True`` creates an empty store when the file does not exist (used by ``perfkit import``).
    """
    path = Path(path) if path is not None else default_db()
    if not path.exists():
        if create:
            return create_store(path)
        raise StoreError("store not found; build the demo store with `perfkit demo`", file=str(path))
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open store: {exc}", file=str(path)) from None
    try:
        configure(con, path)
        check_version(con, str(path))
    except Exception:
        con.close()
        raise
    return con


@contextlib.contextmanager
def connect(store: StoreLike | None = None, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection for ``store``: an open connection is passed through (and left open),
    a path is opened (version-checked) and closed afterwards."""
    if isinstance(store, duckdb.DuckDBPyConnection):
        yield store
        return
    con = open_store(store, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def table_checksum(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """(row count, order-independent hash of all rows) — equal checksums mean equal contents."""
    n, h = con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} AS t"
    ).fetchone()
    return int(n), int(h)


def store_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """:func:`table_checksum` of every schema table."""
    return {t.name: table_checksum(con, t.name) for t in TABLES}


def months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The months that have client snapshots, ascending (``'YYYY-MM'``)."""
    return [r[0] for r in con.execute("SELECT DISTINCT month FROM client_months ORDER BY 1").fetchall()]


#: The words ``--month`` takes besides ``YYYY-MM``.
MONTH_WORDS = ("latest", "previous")


def resolve_month(store: StoreLike, month: str | None, *, today: dt.date | None = None) -> str:
    """``month`` as ``'YYYY-MM'``: ``None`` or ``'latest'`` is the latest *complete* month with
    data (its last day before ``today``: the current month's data is still coming in),
    ``'previous'`` the month with data before that one; ``'YYYY-MM'`` is returned as given.

    Raises :class:`StoreError` when the store has no such month."""
    if month is not None and month not in MONTH_WORDS:
        return month
    today = today or dt.date.today()
    with connect(store) as con:
        have = months(con)
    complete = [m for m in have if month_bounds(m)[1] < today]
    wanted = 2 if month == "previous" else 1
    if len(complete) < wanted:
        span = f"{have[0]} … {have[-1]}" if have else "none"
        raise StoreError(f"no {'previous' if wanted == 2 else 'complete'} month with data before "
                         f"{today:%Y-%m-%d} in the store (months: {span}); pass --month YYYY-MM")
    chosen = complete[-wanted]
    log.info("month %s: the %s complete month in the store", chosen,
             "previous" if wanted == 2 else "latest")
    return chosen


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count per table."""
    return {t.name: con.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in TABLES}


# ── the month's fingerprint ─────────────────────────────────────────────────────────────────────

# Rows of each table a report of month M can depend on ($month = 'YYYY-MM', $last = the month's
# last day, $half = half-year period 'YYYYH1|2'). Tables not listed count whole.
MONTH_FILTERS: dict[str, str] = {
    "clients": "lead_date <= $last",
    "client_months": "month <= $month",
    "contacts": "contact_time < $last + INTERVAL 1 DAY",
    "risk_assessments": "assessed_on <= $last",
    "surveys": "survey_date <= $last",
    "reviews": "period <= $half",
    "incidents": "incident_date <= $last",
    "market": "month <= $month",
}


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``'YYYY-MM'``."""
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def store_fingerprint(con: duckdb.DuckDBPyConnection, month: str, *,
                      publications: bool = True) -> str:
    """sha256 over (row count, order-independent row hash) of each table, restricted to the rows a
    report of ``month`` can see (:data:`MONTH_FILTERS`). One aggregate query per table; data of later
    months does not change it. With ``publications`` the month's published versions count too
    (a report of a published month shows its latest version: a new one must re-render it)."""
    first, last = month_bounds(month)
    half = f"{first.year}H{1 if first.month <= 6 else 2}"
    values: dict[str, object] = {"month": month, "last": last, "half": half}
    sums: dict[str, list[int]] = {}
    for t in TABLES:
        where = MONTH_FILTERS.get(t.name)
        sql = f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {t.name} AS t"
        args: dict[str, object] = {}
        if where:
            sql += f" WHERE {where}"
            # DuckDB wants exactly the parameters the statement uses
            args = {k: v for k, v in values.items() if f"${k}" in where}
        n, h = con.execute(sql, args).fetchone()
        sums[t.name] = [int(n), int(h)]
    if publications:
        n, h = con.execute(
            "SELECT count(*), coalesce(sum(hash(month, version, fingerprint, published_at)), 0) "
            "FROM publications WHERE month = ?", [month]).fetchone()
        if n:  # unpublished months keep the fingerprint they had before publications existed
            sums["publications"] = [int(n), int(h)]
    return sha256_json(sums)
