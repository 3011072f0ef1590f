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

Memory is bounded whatever the number of clients: every client is registered first (a few numbers
each), then the clients are simulated and written :data:`CHUNK_CLIENTS` at a time, in the order of
their client numbers, each chunk from random streams of its own (the first chunk from the streams
an unchunked build uses, so a store of at most that many clients is built exactly as before). A
later chunk is appended to tables that have their key already, and the store is checkpointed after
each chunk, so that neither the rows nor the key index of earlier chunks stay in memory. Contact
and survey numbers continue from chunk to chunk; within a chunk, rows are in the order of their
month (client_months) or time (contacts, surveys).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from perfkit.data.demo.base import (
    _Calendar,
    _calendar,
    _cat,
    _codes,
    _dates,
    _join,
    _num,
    _strs,
)
from perfkit.data.demo.clients import _client_table, _Clients, _clients, _risk, _simulate
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
from perfkit.data.store import create_store, memory_limit
from perfkit.errors import RequestError

log = logging.getLogger(__name__)

__all__ = ["generate"]

#: clients simulated and written at a time. Part of the generator, not a machine setting: a store
#: of more clients than this is drawn chunk by chunk (other numbers than one unchunked draw), and
#: the same flags and seed always give the same store.
CHUNK_CLIENTS = 500_000

#: yielded by :func:`_tables` after each chunk of clients: the writes so far are checkpointed
CHUNK_END = "(chunk end)"

#: DuckDB's memory limit while writing (MiB) unless ``$PERFKIT_DUCKDB_MEMORY`` says otherwise: the
#: writer needs little more than one chunk's key index, and what it has written is in the store
#: file; the numbers of the chunk being drawn live beside it, in numpy
WRITE_MEMORY_MB = 2048


# ----------------------------------------------------------------------------- loading


def _load(con: duckdb.DuckDBPyConnection, table: Table, data: pa.Table, *, append: bool = False) -> int:
    """Replace ``table``'s rows with ``data`` (columns in schema order), or with ``append`` add
    them to the rows (and key) already written.

    Bulk path: insert into the table without its key, then add the primary key in one pass —
    several times faster than maintaining the index row by row. Falls back to a plain insert
    when this DuckDB cannot add a primary key to an existing table.
    """
    if data.column_names != table.column_names:
        raise AssertionError(f"{table.name}: columns {data.column_names} != {table.column_names}")
    cols = ", ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns)
    con.register("_demo_src", data)
    try:
        if append:
            con.execute(f"INSERT INTO {table.name} SELECT * FROM _demo_src")
            return data.num_rows
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


def _chunks(n: int) -> list[tuple[int, int]]:
    """Client positions ``[lo, hi)`` of each chunk (at least one, even for no clients)."""
    return [(lo, min(lo + CHUNK_CLIENTS, n)) for lo in range(0, max(n, 1), CHUNK_CLIENTS)]


def _chunk_streams(seed: int, chunk: int) -> list[np.random.Generator]:
    """The random streams of chunk ``chunk``: those of an unchunked build for the first, for
    chunk j > 0 stream i is seeded by ``(seed, spawn key (i, j))`` — independent of the others."""
    if chunk == 0:
        return [np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(13)]
    return [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, chunk)))
            for i in range(13)]


def _part(c: _Clients, lo: int, hi: int) -> _Clients:
    """The clients at positions ``[lo, hi)`` of ``c`` (as registered, before the simulation)."""
    if (lo, hi) == (0, c.n):
        return c
    n = c.n
    sel = (c.acct >= lo) & (c.acct < hi)
    kw = {f.name: getattr(c, f.name)[lo:hi] for f in fields(c)
          if isinstance(getattr(c, f.name), np.ndarray) and f.name not in ("acct", "open_m")
          and len(getattr(c, f.name)) == n}
    return _Clients(**kw, acct=c.acct[sel] - lo, open_m=c.open_m[sel])


def _renumber(table: pa.Table, column: str, offset: int) -> pa.Table:
    """``table`` with ``offset`` added to its number column ``column`` (ids continue across chunks)."""
    if not offset:
        return table
    i = table.column_names.index(column)
    return table.set_column(i, column, pc.add(table[column], pa.scalar(offset, pa.int64())))


# ----------------------------------------------------------------------------- entry point


def _daily_average(rng: np.random.Generator, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """月日均资产: a point between month-start and month-end assets (where in the month the money
    moved) with a little noise for intra-month swings, never negative, in 元 to the cent."""
    where = rng.beta(2.0, 2.0, len(begin))
    swing = rng.normal(1.0, 0.03, len(begin))
    return np.round(np.maximum((begin + (end - begin) * where) * swing, 0.0), 2)


def _tables(cal: _Calendar, branches: int, employees: int, clients: int,
            seed: int) -> Iterator[tuple[str, pa.Table | None]]:
    """Yield ``(table name, Arrow table)`` for every table — the client tables once per chunk of
    clients, each chunk followed by ``(CHUNK_END, None)`` — cheapest-to-build-first where it helps
    the writer start early. Each part draws from its own random stream of ``seed``."""
    streams = _chunk_streams(seed, 0)
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
    everyone = _clients(streams[3], clients, staff, params, cal, ret)
    ids = {"contacts": 0, "surveys": 0}
    for j, (lo, hi) in enumerate(_chunks(everyone.n)):
        rs = streams if j == 0 else _chunk_streams(seed, j)
        for name, data in _client_tables(rs, _part(everyone, lo, hi), staff, params, cal, ret,
                                         emp_ids, branch_ids, t0):
            if name in ids:
                data = _renumber(data, data.column_names[0], ids[name])
                ids[name] += data.num_rows
            yield name, data
        yield CHUNK_END, None
    yield "reviews", _reviews(streams[9], staff, cal, emp_ids)
    yield "incidents", _incidents(streams[10], staff, cal, emp_ids)


def _client_tables(streams: list[np.random.Generator], cl: _Clients, staff, params,
                   cal: _Calendar, ret: np.ndarray, emp_ids: pa.Array, branch_ids: pa.Array,
                   t0: float) -> Iterator[tuple[str, pa.Table]]:
    """The tables of the clients ``cl`` (one chunk): client_months, clients, risk_assessments,
    contacts and surveys, numbered from 1 where they have numbers."""
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
    del avg, by_month
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

    written: set[str] = set()

    def write(name: str, data: pa.Table, built: float, cur: duckdb.DuckDBPyConnection,
              append: bool) -> None:
        t0 = time.perf_counter()
        rows = _load(cur, TABLE_BY_NAME[name], data, append=append)
        counts[name] = counts.get(name, 0) + rows
        took = time.perf_counter() - t0
        log.info("demo %s: %d rows (built %.1fs, written %.1fs)", name, rows, built, took,
                 extra={"demo_table": name, "demo_rows": rows, "demo_build": built,
                        "demo_write": took})

    try:
        con.execute(f"SET memory_limit = '{memory_limit(WRITE_MEMORY_MB)}'")
        for cur in (con, *cursors):
            cur.execute("SET preserve_insertion_order = false")
            cur.execute("SET enable_progress_bar = false")
        t0 = time.perf_counter()
        for name, data in _tables(cal, branches, employees, clients, seed):
            if name == CHUNK_END:
                if len(_chunks(clients)) > 1:  # nothing of this chunk stays in memory
                    for f in pending:
                        f.result()
                    con.execute("CHECKPOINT")
                t0 = time.perf_counter()
                continue
            i = 0 if name == "client_months" else 1
            pending.append(writers[i].submit(write, name, data, time.perf_counter() - t0,
                                             cursors[i], name in written))
            written.add(name)
            del data
            for f in list(pending):  # fail fast when a write went wrong (checked and dropped
                if f.done():         # in one pass: none is dropped unchecked)
                    pending.remove(f)
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
