"""``perfkit demo``: a deterministic synthetic CRM store that looks real to a brokerage analyst.

:func:`generate` writes every table of :mod:`perfkit.data.schema` from a handful of flags and a seed. The
store is a pure function of ``(branches, employees, clients, months, end_month, seed)``: the same
inputs give identical table contents, another seed gives other data.

How the data is made (all vectorised with numpy; strings are assembled with Arrow compute kernels):

* **Employees** differ in skill (lead volume, conversion 20–40 %, client alpha, inflows, level) and
  diligence (follow-up speed, call-backs, quarterly coverage, recall effort, profile completeness).
  A 客户经理's book follows his level: with the default sizes its assets sit at about 1.5–1.8 × his
  level's maintain standard of ``parameters/levels.yaml`` (clients' wealth scales with the branch's
  region class as the standards do), and his monthly flows around its 2 户 / 20万 conditions, so the
  default parameters demote or flag about one manager in seven and promote a few (README.md).
  Every branch has exactly one 营业部负责人. Two edge cases are always present when the sizes allow:
  a new hire in the last month with no clients (the latest ``hire_date``) and a 客户经理 who left in
  the middle of the window (the only ``leave_date``); from the month after the leave date that
  employee's clients belong to a colleague of the same branch.
* **Clients** (the ``clients`` flag counts leads and accounts): about 36 % are accounts opened before
  the window, the rest are leads registered during it that convert at their employee's rate.
  Assets are log-normal (median about 4万 元, scaled by the employee's level and region class), with
  高净值 clients (median 300万, tail to tens of millions) in the books of senior managers, advisers
  and branch heads; monthly returns are ``beta × index + employee alpha + noise``, the index drifting
  +0.6 % a month in every half-year whatever the seed; trading days are binomial (many dormant
  accounts), turnover log-normal, commission about 万2.5 with a 5 元 minimum for some. Monthly churn
  (about 1 %) falls with the client's service coverage; lost clients are recalled at a
  diligence-dependent rate.
* **Contacts** follow the task rules' logic: lead follow-ups (mostly within days, some late or
  never), new-account call-backs, profile completion, recall attempts, quarterly routine service,
  risk-assessment renewals, investment advice by the branch's 投资顾问.

Money is in 元 rounded to cents; dates are calendar dates; contact times fall on working days
between 09:00 and 17:30. 资产流出 leaves a balance below 1,000 元 in the month of the loss.

Layout of :mod:`perfkit.data.demo`: ``reference`` (names, cities, codes), ``base`` (calendar, Arrow
helpers), ``staff`` (branches, employees, behaviour, reviews, incidents, market), ``clients``
(leads, accounts, the monthly simulation, risk assessments, contacts, surveys); this module only
orders the tables and writes them. Tables are built in the calling thread while two writer threads
(client_months alone on one) load finished tables into DuckDB; each is inserted without its key and
the primary key is added afterwards, several times faster than maintaining the index row by row.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from perfkit.data.demo.base import _Calendar, _calendar, _cat, _codes, _dates, _join, _num, _strs
from perfkit.data.demo.clients import _client_table, _clients, _risk, _simulate
from perfkit.data.demo.contacts import _contacts, _surveys
from perfkit.data.demo.staff import (
    _employee_table,
    _incidents,
    _levels,
    _market,
    _params,
    _reviews,
    _staff,
)
from perfkit.data.lock import writes_store
from perfkit.data.schema import RISK_LEVELS, TABLE_BY_NAME, Table
from perfkit.data.store import create_store
from perfkit.errors import RequestError

log = logging.getLogger(__name__)

__all__ = ["generate"]


# ----------------------------------------------------------------------------- loading


def _load(con: duckdb.DuckDBPyConnection, table: Table, data: pa.Table) -> int:
    """Replace ``table``'s rows with ``data`` (columns in schema order).

    Bulk path: insert into the table without its key, then add the primary key in one pass —
    several times faster than maintaining the index row by row. Falls back to a plain insert
    when this DuckDB cannot add a primary key to an existing table.
    """
    if data.column_names != table.column_names:
        raise AssertionError(f"{table.name}: columns {data.column_names} != {table.column_names}")
    cols = ", ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns)
    con.register("_demo_src", data)
    try:
        con.execute(f"DROP TABLE {table.name}")
        con.execute(f"CREATE TABLE {table.name} ({cols})")
        con.execute(f"INSERT INTO {table.name} SELECT * FROM _demo_src")
        try:
            con.execute(f"ALTER TABLE {table.name} ADD PRIMARY KEY ({', '.join(table.key)})")
        except duckdb.Error:  # older DuckDB: rebuild with the key declared up front
            con.execute(f"ALTER TABLE {table.name} RENAME TO _demo_nokey")
            con.execute(table.ddl())
            con.execute(f"INSERT INTO {table.name} SELECT * FROM _demo_nokey")
            con.execute("DROP TABLE _demo_nokey")
    finally:
        con.unregister("_demo_src")
    return data.num_rows


# ----------------------------------------------------------------------------- entry point


def _daily_average(rng: np.random.Generator, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """月日均资产: a point between month-start and month-end assets (where in the month the money
    moved) with a little noise for intra-month swings, never negative, in 元 to the cent."""
    where = rng.beta(2.0, 2.0, len(begin))
    swing = rng.normal(1.0, 0.03, len(begin))
    return np.round(np.maximum((begin + (end - begin) * where) * swing, 0.0), 2)


def _tables(cal: _Calendar, branches: int, employees: int, clients: int, seed: int):
    """Yield ``(table name, Arrow table)`` for every table, cheapest-to-build-first where it helps
    the writer start early. Each part draws from its own random stream of ``seed``."""
    streams = [np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(13)]
    t0 = time.perf_counter()
    ret, rf = _market(streams[0], cal)
    staff = _staff(streams[1], branches, employees, cal)
    params = _params(streams[2], staff, cal)
    emp_ids = _codes("E", staff.n, 5)
    branch_ids = staff.branch_table["branch_id"].combine_chunks()
    yield "branches", staff.branch_table
    yield "employees", _employee_table(staff)
    yield "levels", _levels(streams[11], staff, cal, emp_ids)
    yield "market", pa.table(
        {"month": _strs(cal.labels), "index_return": pa.array(ret), "risk_free_rate": pa.array(rf)}
    )
    cl = _clients(streams[3], clients, staff, params, cal, ret)
    mo = _simulate(streams[4], cl, staff, params, cal, ret)
    log.info("demo: simulated %d clients (%d accounts, %d account-months) in %.1fs",
             cl.n, len(cl.acct), len(mo.t), time.perf_counter() - t0)
    cids = _join("C", _num(cl.cno, 8))
    # Month by month, as a warehouse loads its monthly snapshot: each row group then holds one or
    # two months, so a query for a month skips the others (DuckDB's zone maps on `month`). Only the
    # row order changes; the values are drawn in the simulation's order.
    avg = _daily_average(streams[12], mo.begin, mo.end)
    by_month = np.argsort(mo.t, kind="stable")
    yield "client_months", pa.table(
        {
            "client_id": _cat(cl.acct[mo.acct[by_month]], cids),
            "month": _cat(mo.t[by_month], cal.labels),
            "employee_id": _cat(mo.owner[by_month], emp_ids),
            "assets_begin": pa.array(mo.begin[by_month]),
            "assets_end": pa.array(mo.end[by_month]),
            "assets_avg": pa.array(avg[by_month]),
            "net_inflow": pa.array(mo.inflow[by_month]),
            "trade_amount": pa.array(mo.trade[by_month]),
            "trade_days": pa.array(mo.tdays[by_month].astype(np.int32)),
            "commission": pa.array(mo.comm[by_month]),
            "pnl": pa.array(mo.pnl[by_month]),
        }
    )
    risk = _risk(streams[5], cl, cal)
    prof = _client_table(streams[6], cl, staff, params, cal, risk, emp_ids, branch_ids, cids)
    yield "clients", prof.table
    yield "risk_assessments", pa.table(
        {
            "client_id": _cat(cl.acct[risk.acct], cids),
            "assessed_on": _dates(risk.day),
            "risk_level": _cat(risk.level, RISK_LEVELS),
        }
    )
    yield "contacts", _contacts(streams[7], cl, staff, params, cal, mo, risk, prof.completed, emp_ids, cids)
    yield "surveys", _surveys(streams[8], cl, staff, mo, emp_ids, cids)
    yield "reviews", _reviews(streams[9], staff, cal, emp_ids)
    yield "incidents", _incidents(streams[10], staff, cal, emp_ids)


@writes_store("perfkit demo", "db")
def generate(
    db: str | os.PathLike,
    *,
    branches: int = 12,
    employees: int = 180,
    clients: int = 60_000,
    months: int = 13,
    end_month: str = "2026-10",
    seed: int = 20261031,
) -> dict[str, int]:
    """Build the synthetic store at ``db`` and return the row count of every table.

    ``clients`` counts leads and accounts together; ``months`` months end with ``end_month``
    (``'YYYY-MM'``). An existing store at ``db`` is replaced; the store is built in
    ``db + '.tmp'`` and renamed at the end, so a failure never leaves a half-written store.
    Raises :class:`~perfkit.errors.RequestError` for sizes that cannot make a store (no branch,
    fewer employees than branches, no month).
    """
    if branches < 1 or months < 1 or clients < 0:
        raise RequestError(
            f"demo needs at least one branch and one month and clients ≥ 0 "
            f"(got branches={branches}, months={months}, clients={clients})"
        )
    if employees < branches:
        raise RequestError(
            f"demo needs at least one employee per branch (营业部负责人); "
            f"got employees={employees} for branches={branches}"
        )
    try:
        cal = _calendar(end_month, months)
    except ValueError:
        raise RequestError(f"end_month must be YYYY-MM, got {end_month!r}") from None

    db = Path(db)
    tmp = Path(str(db) + ".tmp")
    t_all = time.perf_counter()
    counts: dict[str, int] = {}
    con = create_store(tmp, overwrite=True)
    # Tables are built (numpy, Arrow) in this thread while two writer threads, each with its own
    # cursor, load finished tables into DuckDB (which releases the GIL): client_months, the
    # largest, has a writer of its own. Different tables never conflict.
    writers = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"perfkit-demo-writer{i}")
               for i in range(2)]
    cursors = [con.cursor() for _ in writers]
    pending: list[Future] = []

    def write(name: str, data: pa.Table, built: float, cur: duckdb.DuckDBPyConnection) -> None:
        t0 = time.perf_counter()
        counts[name] = _load(cur, TABLE_BY_NAME[name], data)
        took = time.perf_counter() - t0
        log.info("demo %s: %d rows (built %.1fs, written %.1fs)", name, counts[name], built, took,
                 extra={"demo_table": name, "demo_rows": counts[name], "demo_build": built,
                        "demo_write": took})

    try:
        for cur in (con, *cursors):
            cur.execute("SET preserve_insertion_order = false")
            cur.execute("SET enable_progress_bar = false")
        t0 = time.perf_counter()
        for name, data in _tables(cal, branches, employees, clients, seed):
            i = 0 if name == "client_months" else 1
            pending.append(writers[i].submit(write, name, data, time.perf_counter() - t0, cursors[i]))
            for f in pending:  # fail fast when a write went wrong
                if f.done():
                    f.result()
            t0 = time.perf_counter()
        for f in pending:
            f.result()
        for w, cur in zip(writers, cursors, strict=True):
            w.shutdown(wait=True)
            cur.close()
        t0 = time.perf_counter()
        con.execute("CHECKPOINT")
        con.close()
        log.info("demo: checkpoint %.1fs", time.perf_counter() - t0,
                 extra={"demo_table": "(checkpoint)", "demo_rows": 0, "demo_build": 0.0,
                        "demo_write": time.perf_counter() - t0})
    except BaseException:
        for w, cur in zip(writers, cursors, strict=True):
            w.shutdown(wait=True, cancel_futures=True)
            cur.close()
        con.close()
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    Path(str(db) + ".wal").unlink(missing_ok=True)
    os.replace(tmp, db)
    log.info("demo: wrote %s (%s rows) in %.1fs", db, f"{sum(counts.values()):,}", time.perf_counter() - t_all)
    return {name: counts[name] for name in TABLE_BY_NAME}
