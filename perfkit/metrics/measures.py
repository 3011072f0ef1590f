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

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

from perfkit.data.store import StoreLike, default_db
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


def measure_frame(con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog) -> pd.DataFrame:
    """One row per (employee_id, month) for every employee and every month in ``months``, one
    float column per measure of ``catalog`` (money in 元, counts as numbers). An employee with no
    data in a month has 0 for every measure. Rows are sorted by employee_id, month.
    """
    t0 = time.perf_counter()
    months = sorted(set(months))
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
_MEMORY_MAX = 48  # months (a request is one entry per month)


def measures_fingerprint(catalog: Catalog) -> str:
    """Hash of everything measures depend on: settings, measure SQL files and task rules.

    Indicator entries are not part of it (they only combine measures), so adding a ratio indicator
    reuses cached measures while any edit of a measure file, setting or task rule does not. Files
    count by name and content, not by folder: a copy of the parameters (a what-if proposal) shares
    the measures of the folder it was copied from.
    """
    payload = json.dumps(
        [
            catalog.settings,
            [(Path(f.path).name, f.sql) for f in catalog.measure_files],
            catalog.tasks.model_dump(mode="json", exclude={"path"}) if catalog.tasks else None,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


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


def cached_measure_frame(
    store: StoreLike, con: duckdb.DuckDBPyConnection, months: list[str], catalog: Catalog
) -> pd.DataFrame:
    """:func:`measure_frame`, remembered per (store file state, measures fingerprint, month).

    A month's rows do not depend on the other months asked for, so each month is kept on its own
    and a request computes only the months it lacks (the scorecard's two months, the level
    review's window and pay's history overlap). Kept in memory (the last requests) and, for a store
    file, as Parquet under ``$PERFKIT_CACHE`` (default ``<store folder>/.perfkit-cache/``) so that
    the report batch's processes share it. A changed store file (size or mtime) or any edit of
    settings, measure SQL or task rules gives a new key, so a cache never hides an edit. Set
    ``PERFKIT_CACHE=off`` to disable the disk cache. A connection passed as ``store`` is never
    cached.
    """
    state = _store_state(store)
    if state is None:
        return measure_frame(con, months, catalog)
    path, text = state
    base = hashlib.sha256(f"{text}|{measures_fingerprint(catalog)}".encode()).hexdigest()[:24]
    folder = os.environ.get("PERFKIT_CACHE", str(path.parent / ".perfkit-cache"))
    disk = None if folder.lower() == "off" else Path(folder)
    parts: dict[str, pd.DataFrame] = {}
    for month in sorted(set(months)):
        key = f"{base}-{month}"
        if key in _MEMORY:
            parts[month] = _MEMORY[key]
            continue
        file = disk / f"measures-{key}.parquet" if disk is not None else None
        if file is not None and file.exists():
            try:
                parts[month] = _remember(key, pd.read_parquet(file))
                log.info("read cached measures %s", file)
            except Exception as exc:  # noqa: BLE001 - a broken cache file is recomputed
                log.warning("ignoring unreadable cache %s: %s", file, exc)
    missing = sorted(set(months) - set(parts))
    if missing:
        frame = measure_frame(con, missing, catalog)
        for month, part in frame.groupby("month", sort=False):
            part = part.reset_index(drop=True)
            parts[str(month)] = _remember(f"{base}-{month}", part)
            if disk is not None:
                _write_cache(disk / f"measures-{base}-{month}.parquet", part)
        for month in missing:  # a month without employees: an empty frame of the same columns
            parts.setdefault(month, frame.iloc[0:0])
    out = pd.concat([parts[m] for m in sorted(parts)], ignore_index=True)
    return out.sort_values(["employee_id", "month"], kind="stable", ignore_index=True)


def _remember(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    if len(_MEMORY) >= _MEMORY_MAX:
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
