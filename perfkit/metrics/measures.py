"""Measures: additive counts and sums per employee × month, computed by the SQL files of
``parameters/measures/`` in a handful of DuckDB queries (one per file, never a loop over employees).

Each measure file is a query that may read the store's tables plus two temporary tables perfkit
creates first:

- ``report_months(month, month_start, month_end, quarter_start, quarter_end, month_idx)`` — the
  requested months (dates are DATE; ``month_idx`` = year × 12 + month − 1);
- ``task_list(month, rule_id, client_id, employee_id, created_on, due_on, done_on, status,
  due_in_month)`` — the task lists of ``parameters/tasks.yaml`` for those months (a view, created
  only when a measure file mentions ``task_list``; read it once per query).

It returns ``employee_id``, ``month`` and exactly the measures it declares in its
``-- measure: name: 说明`` header lines, with at most one row per (employee_id, month). ``${name}``
placeholders are replaced by the ``settings`` of indicators.yaml.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

from perfkit.data.store import StoreLike, default_db, resource_error
from perfkit.errors import SpecError
from perfkit.metrics.catalog import Catalog, MeasureFile, render_sql
from perfkit.metrics.months import (
    REPORT_MONTHS,
    TASK_LIST,
    create_report_months,
    drop_temp,
    window_start,
)
from perfkit.metrics.tasks import create_task_list, failing_rule

log = logging.getLogger(__name__)

def _run_file(con: duckdb.DuckDBPyConnection, mf: MeasureFile, catalog: Catalog) -> pd.DataFrame:
    sql = render_sql(mf.sql, catalog.settings, file=mf.path)
    try:
        df = con.execute(sql).df()
    except duckdb.Error as exc:
        resource = resource_error(exc, mf.path)
        if resource is not None:
            raise resource from None
        if TASK_LIST in mf.sql and catalog.tasks is not None:  # the task rules run inside this query
            rule_error = failing_rule(con, catalog.tasks, window_start(con))
            if rule_error is not None:
                raise rule_error from None
        raise SpecError(f"measure SQL failed: {exc}", file=mf.path) from None
    cols = list(df.columns)
    expected = {"employee_id", "month", *mf.measures}
    missing = [c for c in ["employee_id", "month", *mf.measures] if c not in cols]
    extra = [c for c in cols if c not in expected]
    if missing or extra:
        raise SpecError(
            "query columns do not match the declared measures: "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"undeclared {', '.join(extra)}" if extra else ""),
            file=mf.path,
        )
    dup = df.duplicated(["employee_id", "month"])
    if dup.any():
        row = df.loc[dup].iloc[0]
        raise SpecError(
            f"query returns more than one row for employee {row['employee_id']} month {row['month']}; "
            "GROUP BY employee_id, month",
            file=mf.path,
        )
    return df


def _create_task_list(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """The ``task_list`` view on ``con`` when a measure file reads it."""
    if catalog.tasks is not None and any(TASK_LIST in f.sql for f in catalog.measure_files):
        create_task_list(con, catalog.tasks, window_start(con))


def _run_files(con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog) -> list[pd.DataFrame]:
    """Every measure file's result, in the catalog's order.

    Two connections to the same database share the files: ``con`` and a cursor of it (with its
    own ``report_months`` and ``task_list``), the files reading ``task_list`` (the heaviest) taken
    first. DuckDB runs each query on all its threads already; a second query at the same time
    keeps the cores busy while the other is in a single-threaded step (a hash table build, the
    final merge of an aggregate). With one DuckDB thread or one file, the files run one by one on
    ``con``. The error raised is that of the first failing file in the catalog's order, as when
    they run one by one.
    """
    files = catalog.measure_files
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    if len(files) < 2 or int(threads) < 2:
        return [_run_file(con, mf, catalog) for mf in files]
    todo = sorted(range(len(files)), key=lambda i: TASK_LIST not in files[i].sql)  # stable
    results: dict[int, pd.DataFrame] = {}
    errors: dict[int, BaseException] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def work(c: duckdb.DuckDBPyConnection) -> None:
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            if c is not con:
                log.debug("%s: run on the second connection", files[i].path)
            try:
                results[i] = _run_file(c, files[i], catalog)
            except Exception as exc:  # noqa: BLE001 - re-raised below, in the catalog's order
                errors[i] = exc

    cur = con.cursor()
    try:
        create_report_months(cur, months)
        _create_task_list(cur, catalog)
        helper = threading.Thread(target=work, args=(cur,), name="perfkit-measures", daemon=True)
        helper.start()
        try:
            work(con)
        except BaseException:  # e.g. KeyboardInterrupt: stop the helper's query too
            stop.set()
            cur.interrupt()
            raise
        finally:
            helper.join()
    finally:
        cur.close()
    if errors:
        raise errors[min(errors)]
    return [results[i] for i in range(len(files))]


#: DuckDB memory (bytes) a measure query needs per account-month it covers (the task rules list
#: and join every client of every month asked for; measured on the 10,000,000-client store of
#: bench/README.md, whose twelve months at once spilled 18 GB beyond a 4.4 GiB limit)
BYTES_PER_ACCOUNT_MONTH = 300

_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def month_batches(con: duckdb.DuckDBPyConnection, months: list[str]) -> list[list[str]]:
    """``months`` (sorted) in runs computed by one query each: as many months as fit DuckDB's
    memory limit at :data:`BYTES_PER_ACCOUNT_MONTH` (all of them on a store of a few million
    clients, one or two at a time on one of ten million), so that a long history is computed
    in memory rather than spilled to disk."""
    if len(months) < 2:
        return [months]
    text = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, _, unit = str(text).partition(" ")
    try:
        limit = float(number) * _UNITS[unit]
    except (ValueError, KeyError):  # no limit, or a format this DuckDB does not use
        return [months]
    rows = con.execute("SELECT count(*) FROM client_months WHERE month = ?", [months[-1]]).fetchone()[0]
    per = max(1, int(limit // max(rows * BYTES_PER_ACCOUNT_MONTH, 1)))
    return [months[i:i + per] for i in range(0, len(months), per)]


def measure_frame(con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog) -> pd.DataFrame:
    """One row per (employee_id, month) for every employee and every month in ``months``, one
    float column per measure of ``catalog`` (money in 元, counts as numbers). An employee with no
    data in a month has 0 for every measure. Rows are sorted by employee_id, month. Months are
    computed in runs that fit DuckDB's memory (:func:`month_batches`); a month's rows do not
    depend on the other months asked for.
    """
    months = sorted(set(months))
    batches = month_batches(con, months)
    if len(batches) == 1:
        return _measure_batch(con, months, catalog)
    frame = pd.concat([_measure_batch(con, b, catalog) for b in batches], ignore_index=True)
    return frame.sort_values(["employee_id", "month"], kind="stable", ignore_index=True)


def _measure_batch(con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog) -> pd.DataFrame:
    """:func:`measure_frame` of ``months`` in one query per measure file."""
    t0 = time.perf_counter()
    create_report_months(con, months)
    try:
        _create_task_list(con, catalog)
        frame = con.execute(
            f"SELECT e.employee_id, m.month FROM employees AS e CROSS JOIN {REPORT_MONTHS} AS m "
            "ORDER BY 1, 2"
        ).df()
        known = set(frame["employee_id"])
        for mf, df in zip(catalog.measure_files, _run_files(con, months, catalog), strict=True):
            orphans = ~df["employee_id"].isin(known)
            if orphans.any():
                log.warning(
                    "%s: %d rows for employees not in the employees table ignored",
                    mf.path, int(orphans.sum()),
                )
                df = df.loc[~orphans]
            frame = frame.merge(df, on=["employee_id", "month"], how="left")
    finally:
        drop_temp(con)
    names = catalog.measure_names
    frame[names] = frame[names].astype("float64").fillna(0.0)
    log.info(
        "computed %d measures for %d employees × %d months in %.2fs",
        len(names), frame["employee_id"].nunique(), len(months), time.perf_counter() - t0,
    )
    return frame


# ── cache: measure frames keyed by store file state and measure definitions ─────────────────────

_MEMORY: dict[str, pd.DataFrame] = {}
_MEMORY_MAX = 512  # (measure file, month) parts: a few KB to a few MB each
#: one computation at a time per store file: a thread asking for measures another thread is
#: computing waits for them and reads them from the cache (the snapshot's frames run in threads)
_COMPUTING: dict[Path, threading.Lock] = {}
_COMPUTING_GUARD = threading.Lock()


def _computing(path: Path) -> threading.Lock:
    with _COMPUTING_GUARD:
        return _COMPUTING.setdefault(path, threading.Lock())


def _store_state(store: StoreLike) -> tuple[Path, str] | None:
    """(path, state) of a store file — size and modification time — or None for a connection."""
    if isinstance(store, duckdb.DuckDBPyConnection):
        return None
    path = Path(store if store is not None else default_db()).resolve()
    try:
        st = path.stat()
    except OSError:
        return None
    wal = Path(str(path) + ".wal")
    wal_state = wal.stat().st_mtime_ns if wal.exists() else 0
    return path, f"{path}|{st.st_size}|{st.st_mtime_ns}|{wal_state}"


def file_fingerprint(mf: MeasureFile, catalog: Catalog) -> str:
    """What one measure file's rows depend on: its SQL with the settings put in (so an 有效户
    setting changes only the files that use it), and the task rules when it reads the task list."""
    sql = render_sql(mf.sql, catalog.settings, file=mf.path)
    tasks = (catalog.tasks.model_dump(mode="json", exclude={"path"})
             if catalog.tasks is not None and TASK_LIST in mf.sql else None)
    payload = json.dumps([Path(mf.path).name, sql, tasks], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def cached_measure_frame(
    store: StoreLike, con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog
) -> pd.DataFrame:
    """:func:`measure_frame`, remembered per (store file state, measure file, month).

    A month's rows do not depend on the other months asked for, nor one file's on another's, so
    each (file, month) is kept on its own: a request computes only the files and months it lacks —
    the scorecard's two months, the level review's window and pay's history overlap, and an
    有效户 change recomputes only the files whose SQL uses the setting (:func:`file_fingerprint`).
    Kept in memory (the last requests) and, for a store file, as Parquet under
    ``$PERFKIT_CACHE`` (default ``<store folder>/.perfkit-cache/``) so that the report batch's
    processes share it. A changed store file (size or mtime) or any edit of a file's SQL, a setting
    it uses or the task rules it reads gives a new key, so a cache never hides an edit. Set
    ``PERFKIT_CACHE=off`` to disable the disk cache. A connection passed as ``store`` is never
    cached.
    """
    state = _store_state(store)
    if state is None:
        return measure_frame(con, months, catalog)
    path, text = state
    folder = os.environ.get("PERFKIT_CACHE", str(path.parent / ".perfkit-cache"))
    disk = None if folder.lower() == "off" else Path(folder)
    months = sorted(set(months))
    keys = {mf.path: hashlib.sha256(f"{text}|{file_fingerprint(mf, catalog)}".encode())
            .hexdigest()[:24] for mf in catalog.measure_files}
    parts: dict[tuple[str, str], pd.DataFrame] = {}

    def lookup() -> list[MeasureFile]:
        for mf in catalog.measure_files:
            for month in months:
                if (mf.path, month) not in parts:
                    found = _cached(f"{keys[mf.path]}-{month}", disk)
                    if found is not None:
                        parts[(mf.path, month)] = found
        return [mf for mf in catalog.measure_files
                if any((mf.path, m) not in parts for m in months)]

    todo = lookup()
    if todo:
        with _computing(path):
            todo = lookup()  # what another thread computed meanwhile
            if todo:
                _compute(con, catalog, todo, months, parts, keys, disk)
    out: pd.DataFrame | None = None
    for mf in catalog.measure_files:
        cols = pd.concat([parts[(mf.path, m)] for m in months], ignore_index=True)
        out = cols if out is None else out.merge(cols, on=["employee_id", "month"], how="outer")
    if out is None:  # no measure files: the employees × months frame alone
        return measure_frame(con, months, catalog)
    return out.sort_values(["employee_id", "month"], kind="stable", ignore_index=True)


def _compute(con: duckdb.DuckDBPyConnection, catalog: Catalog, todo: list[MeasureFile],
             months: list[str], parts: dict[tuple[str, str], pd.DataFrame], keys: dict[str, str],
             disk: Path | None) -> None:
    """Compute the (file, month) parts of ``todo`` missing from ``parts``; remember them."""
    lacking = sorted({m for mf in todo for m in months if (mf.path, m) not in parts})
    frame = measure_frame(con, lacking, catalog.model_copy(update={"measure_files": tuple(todo)}))
    by_month = dict(tuple(frame.groupby("month", sort=False)))
    for mf in todo:
        for month in lacking:
            rows = by_month.get(month, frame.iloc[0:0])
            part = rows[["employee_id", "month", *mf.measures]].reset_index(drop=True)
            key = f"{keys[mf.path]}-{month}"
            parts[(mf.path, month)] = _remember(key, part)
            if disk is not None:
                _write_cache(disk / f"measures-{key}.parquet", part)


def _cached(key: str, disk: Path | None) -> pd.DataFrame | None:
    if key in _MEMORY:
        return _MEMORY[key]
    file = disk / f"measures-{key}.parquet" if disk is not None else None
    if file is None or not file.exists():
        return None
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # noqa: BLE001 - a broken cache file is recomputed
        log.warning("ignoring unreadable cache %s: %s", file, exc)
        return None
    log.debug("read cached measures %s", file)
    return _remember(key, frame)


def _remember(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    while len(_MEMORY) >= _MEMORY_MAX:  # threads may evict at once: the oldest, if still there
        with contextlib.suppress(StopIteration, KeyError, RuntimeError):
            _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = frame
    return frame


def _write_cache(file: Path, frame: pd.DataFrame) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, file)
    except OSError as exc:
        log.warning("cannot write measures cache %s: %s", file, exc)
