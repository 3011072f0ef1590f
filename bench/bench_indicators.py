"""Benchmark: all indicators for all employees for one month.

Times, in the same run and on the same store:
  perfkit      perfkit.metrics.measures.measure_frame + indicator_values (the SQL measures, DuckDB)
  pandas       a straightforward pandas implementation of the same indicators: read the tables
               into DataFrames (SELECT *), then filter / merge / groupby; checked to give the same
               values as perfkit
  bare scan    DuckDB reading the tables once, two ways: every column the measure SQL and task
               rules refer to (max() of each: the input perfkit must read at least once), and
               count(*) + sum() of every numeric column of every table (cheaper: no strings, dates)
plus, for information, the full ``perfkit.indicators(...)`` call (12-month history, prev month),
cold (no cache) and then warm (the in-process measures cache).

    .venv/bin/python bench/bench_indicators.py --db /tmp/bench_1m.duckdb --clients 1000000
    .venv/bin/python bench/bench_indicators.py --db /work/scale/s10m.duckdb --skip-pandas

The store is built with perfkit.data.demo.generate when --db does not exist (a 1,000,000-client,
13-month store takes a few minutes). Each timing is the best of --repeat runs. ``--skip-pandas``
leaves the pandas implementation out (it reads whole tables into memory: not for a store of
millions of clients on a small machine).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfkit.data.schema import TABLES  # noqa: E402
from perfkit.data.store import months, open_store  # noqa: E402
from perfkit.metrics.catalog import load_catalog  # noqa: E402
from perfkit.metrics.indicators import indicator_values, indicators  # noqa: E402
from perfkit.metrics.measures import _MEMORY, measure_frame  # noqa: E402


def best_of(n: int, fn):
    times, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


# ── bare scan ───────────────────────────────────────────────────────────────────────────────────


def bare_scan(con) -> list:
    out = []
    for t in TABLES:
        nums = [c.name for c in t.columns if c.type in ("DOUBLE", "INTEGER", "BIGINT")]
        exprs = ", ".join(["count(*)"] + [f"sum({c})" for c in nums])
        out.append(con.execute(f"SELECT {exprs} FROM {t.name}").fetchone())
    return out


def referenced_columns(catalog) -> dict[str, list[str]]:
    """Table → the columns the measure SQL and the task rules mention (the indicators' input)."""
    import re

    texts = [f.sql for f in catalog.measure_files]
    if catalog.tasks is not None:
        texts += [r.sql for r in catalog.tasks.rules]
    code = re.sub(r"--[^\n]*", "", "\n".join(texts))  # SQL comments name no input
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    return {t.name: [c.name for c in t.columns if c.name in words]
            for t in TABLES if t.name in words}


def input_scan(con, columns: dict[str, list[str]]) -> list:
    """DuckDB reading every input column once: max() of each (count(*) alone would read nothing)."""
    out = []
    for table, cols in columns.items():
        exprs = ", ".join(["count(*)"] + [f"max({c})" for c in cols])
        out.append(con.execute(f"SELECT {exprs} FROM {table}").fetchone())
    return out


# ── perfkit ─────────────────────────────────────────────────────────────────────────────────────


def perfkit_values(con, month: str, catalog) -> pd.DataFrame:
    frame = measure_frame(con, [month], catalog)
    return indicator_values(con, [month], "employee", catalog, frame=frame)


# ── pandas ──────────────────────────────────────────────────────────────────────────────────────


def load_tables(con) -> dict[str, pd.DataFrame]:
    names = ["employees", "clients", "client_months", "contacts", "surveys", "risk_assessments"]
    return {n: con.execute(f"SELECT * FROM {n}").df() for n in names}


def _first_contact(cand: pd.DataFrame, contacts: pd.DataFrame, purposes, since: str) -> pd.Series:
    """Per candidate row (index kept): first contact date with a purpose, on or after cand[since]."""
    k = contacts[contacts["purpose"].isin(purposes)][["client_id", "day"]]
    m = cand[["client_id", since]].reset_index().merge(k, on="client_id")
    m = m[m["day"] >= m[since]]
    return m.groupby("index")["day"].min().reindex(cand.index)


def pandas_values(tb: dict[str, pd.DataFrame], month: str, catalog, rules, settings) -> pd.DataFrame:
    ms = pd.Timestamp(f"{month}-01")
    me = ms + pd.offsets.MonthEnd(0)
    qs = ms - pd.offsets.QuarterBegin(startingMonth=1) if ms.month not in (1, 4, 7, 10) else ms
    qe = qs + pd.offsets.QuarterEnd(0)
    cl, cm, ct, sv, ra = (tb[n].copy() for n in ("clients", "client_months", "contacts", "surveys",
                                                  "risk_assessments"))
    for c in ("lead_date", "open_date", "lost_date", "recalled_date", "profile_completed_on"):
        cl[c] = pd.to_datetime(cl[c])
    ct["day"] = pd.to_datetime(ct["contact_time"]).dt.normalize()
    sv["survey_date"] = pd.to_datetime(sv["survey_date"])
    ra["assessed_on"] = pd.to_datetime(ra["assessed_on"])
    ws = pd.Timestamp(f"{cm['month'].min()}-01")
    emp = tb["employees"][["employee_id"]]
    res: dict[str, pd.Series] = {}

    def count(series_emp: pd.Series, name: str) -> None:
        res[name] = series_emp.value_counts()

    def total(df: pd.DataFrame, col: str, name: str, key: str = "employee_id") -> None:
        res[name] = df.groupby(key)[col].sum()

    # leads
    lead = cl[(cl.lead_date <= me) & (cl.open_date.isna() | (cl.open_date >= ms))]
    count(lead.loc[lead.lead_date >= ms, "employee_id"], "leads_new")
    count(lead.loc[(lead.open_date >= ms) & (lead.open_date <= me), "employee_id"], "leads_opened")
    count(lead["employee_id"], "leads_pool")
    # accounts, with the 有效户 window
    w = settings["effective_window_months"]
    win_months = [(ms - pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(w)]
    tdw = cm[cm.month.isin(win_months)].groupby("client_id")["trade_days"].sum()
    cur = cm[cm.month == month].merge(cl, on="client_id", suffixes=("", "_c"))
    cur["wtd"] = cur["client_id"].map(tdw)
    count(cur.employee_id, "accounts_active")
    count(cur.loc[(cur.assets_end >= settings["effective_min_assets"])
                  & (cur.wtd >= settings["effective_min_trade_days"]), "employee_id"],
          "effective_clients")
    for c in ("assets_end", "net_inflow", "commission", "pnl"):
        total(cur, c, c)
    cur["rb"] = cur.assets_begin + 0.5 * cur.net_inflow
    total(cur, "rb", "return_base")
    count(cur.loc[cur.trade_days > 0, "employee_id"], "traded_clients")
    count(cur.loc[cur.profile_completed_on <= me, "employee_id"], "profile_complete")
    for f in ("occupation", "address", "email", "income_band"):
        count(cur.loc[cur[f].isna(), "employee_id"], f"missing_{f}")
    # lost
    lost = cl[(cl.lost_date >= ms) & (cl.lost_date <= me)].merge(
        cm[cm.month == month][["client_id", "employee_id", "assets_begin"]],
        on="client_id", how="left", suffixes=("_c", ""))
    lost["employee_id"] = lost["employee_id"].fillna(lost["employee_id_c"])
    count(lost.employee_id, "lost_clients")
    total(lost.fillna({"assets_begin": 0}), "assets_begin", "lost_assets")
    for reason, name in (("销户", "lost_closed"), ("转托管", "lost_transferred"),
                         ("资产流出", "lost_outflow")):
        count(lost.loc[lost.lost_reason == reason, "employee_id"], name)
    rw = cl[(cl.lost_date <= me)
            & (cl.lost_date > me - pd.DateOffset(months=settings["recall_window_months"]))]
    count(rw.employee_id, "lost_window")
    count(rw.loc[rw.recalled_date <= me, "employee_id"], "recalled_window")
    # contacts, surveys
    count(ct.loc[(ct.day >= ms) & (ct.day <= me), "employee_id"], "service_contacts")
    s = sv[(sv.survey_date >= ms) & (sv.survey_date <= me)]
    total(s, "score", "survey_score")
    count(s.employee_id, "survey_count")

    # tasks
    r = {x.id: x for x in rules.rules}
    cands = []
    for rid, col in (("lead_followup", "lead_date"), ("account_callback", "open_date"),
                     ("lost_recall", "lost_date")):
        c = cl[cl[col] >= ws][["client_id", col]].rename(columns={col: "created_on"})
        c["due_on"] = c.created_on + pd.Timedelta(days=r[rid].days)
        c["done_on"] = _first_contact(c, ct, r[rid].purposes, "created_on")
        cands.append(c.assign(rule_id=rid))
    c = cl[cl.open_date.notna()][["client_id", "open_date", "profile_completed_on"]]
    cands.append(pd.DataFrame({
        "client_id": c.client_id, "created_on": c.open_date,
        "due_on": c.open_date + pd.Timedelta(days=r["profile_completion"].days),
        "done_on": c.profile_completed_on, "rule_id": "profile_completion"}))
    qmonths = [(qs + pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(3)]
    acc = cl[cl.client_id.isin(cm.loc[cm.month.isin(qmonths), "client_id"].unique())]
    c = pd.DataFrame({"client_id": acc.client_id, "created_on": np.maximum(acc.open_date, qs),
                      "due_on": qe, "quarter_start": qs})
    k = ct[(ct.day >= qs) & (ct.day <= qe)]
    c["done_on"] = _first_contact(c, k, r["quarterly_contact"].purposes, "quarter_start")
    cands.append(c.drop(columns="quarter_start").assign(rule_id="quarterly_contact"))
    ra = ra.sort_values(["client_id", "assessed_on"])
    ra["next_on"] = ra.groupby("client_id")["assessed_on"].shift(-1)
    ra["expires_on"] = ra.assessed_on + pd.DateOffset(months=r["risk_renewal"].validity_months)
    ra = ra[ra.next_on.isna() | (ra.next_on > ra.expires_on)]
    cands.append(pd.DataFrame({
        "client_id": ra.client_id, "created_on": ra.expires_on,
        "due_on": ra.expires_on + pd.Timedelta(days=r["risk_renewal"].days),
        "done_on": ra.next_on, "rule_id": "risk_renewal"}))
    t = pd.concat(cands, ignore_index=True)
    carry = t.rule_id.map({x.id: x.carry_over for x in rules.rules})
    backlog = t.rule_id.map({x.id: x.backlog for x in rules.rules})
    t = t[(t.created_on <= me) & ((t.due_on >= ms) | (carry & (t.done_on.isna() | (t.done_on >= ms))))
          & (backlog | (t.created_on >= ws))]
    owners = cm.loc[cm.month == month, ["client_id", "employee_id"]]
    t = t.merge(owners, on="client_id", how="left").merge(
        cl[["client_id", "employee_id"]], on="client_id", suffixes=("", "_c"))
    active = t.rule_id.map({x.id: x.scope == "active" for x in rules.rules})
    t = t[~active | t.employee_id.notna()]
    t["employee_id"] = t.employee_id.fillna(t.employee_id_c)
    done = t.done_on <= me
    t["status"] = np.select(
        [done & (t.done_on <= t.due_on), done, t.due_on <= me], ["已完成", "逾期完成", "未完成"], "进行中")
    t["due_in"] = (t.due_on >= ms) & (t.due_on <= me)
    due = t[t.due_in]
    for rid, pre in (("lead_followup", "lead_fu"), ("account_callback", "callback"),
                     ("lost_recall", "recall_fu"), ("risk_renewal", "risk")):
        count(due.loc[due.rule_id == rid, "employee_id"], f"{pre}_due")
        count(due.loc[(due.rule_id == rid) & (due.status == "已完成"), "employee_id"], f"{pre}_on_time")
    q = t[t.rule_id == "quarterly_contact"]
    count(q.employee_id, "coverage_tasks")
    count(q.loc[q.status.isin(["已完成", "逾期完成"]), "employee_id"], "coverage_done")
    count(t.loc[(t.rule_id == "profile_completion") & t.status.isin(["未完成", "进行中"]), "employee_id"],
          "profile_open")
    count(due.employee_id, "tasks_due")
    count(due.loc[due.status == "已完成", "employee_id"], "tasks_due_on_time")
    count(due.loc[due.status.isin(["已完成", "逾期完成"]), "employee_id"], "tasks_due_done")
    count(t.loc[t.status == "未完成", "employee_id"], "tasks_overdue")

    m = emp.set_index("employee_id")
    for name in catalog.measure_names:
        m[name] = res[name].reindex(m.index).fillna(0).astype(float) if name in res else 0.0
    rows = []
    for ind in catalog.indicators:
        num = m[ind.numerator]
        val = num * ind.scale if not ind.denominator else (
            num / m[ind.denominator].where(m[ind.denominator] != 0) * ind.scale)
        rows.append(pd.DataFrame({"entity_id": m.index, "indicator_id": ind.id, "value": val.values}))
    return pd.concat(rows, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("data/bench_1m.duckdb"))
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--employees", type=int, default=1500)
    ap.add_argument("--branches", type=int, default=60)
    ap.add_argument("--params", type=Path, default=ROOT / "parameters")
    ap.add_argument("--month", default=None, help="default: the last month of the store")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-pandas", action="store_true", help="time perfkit and the scans only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if not args.db.exists():
        try:
            from perfkit.data.demo import generate
        except ImportError:
            print("perfkit.data.demo is not available; pass --db of an existing store", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        generate(args.db, clients=args.clients, employees=args.employees, branches=args.branches)
        print(f"built {args.db} in {time.perf_counter() - t0:.0f}s")

    con = open_store(args.db)
    month = args.month or months(con)[-1]
    n_clients = con.execute("SELECT count(*) FROM clients").fetchone()[0]
    n_emp = con.execute("SELECT count(*) FROM employees").fetchone()[0]
    n_cm = con.execute("SELECT count(*) FROM client_months").fetchone()[0]
    catalog = load_catalog(args.params)
    print(f"store {args.db}: {n_clients:,} clients, {n_emp:,} employees, {n_cm:,} client-months; "
          f"month {month}; {len(catalog.indicators)} indicators")

    inputs = referenced_columns(catalog)
    # interleaved, so that the runs compared share whatever else the machine is doing
    t_scan = t_inputs = t_pk = float("inf")
    for _ in range(args.repeat):
        t_scan = min(t_scan, best_of(1, lambda: bare_scan(con))[0])
        t_inputs = min(t_inputs, best_of(1, lambda: input_scan(con, inputs))[0])
        t, pk = best_of(1, lambda: perfkit_values(con, month, catalog))
        t_pk = min(t_pk, t)
    pdv = None
    if not args.skip_pandas:
        t_load, tables = best_of(1, lambda: load_tables(con))
        t_pd_calc, pdv = best_of(1, lambda: pandas_values(tables, month, catalog, catalog.tasks,
                                                          catalog.settings))
        del tables
    con.close()
    os.environ["PERFKIT_CACHE"] = "off"  # cold: no disk cache; then warm: the in-process cache
    _MEMORY.clear()
    t_full, _ = best_of(1, lambda: indicators(args.db, month, "employee", params=args.params))
    t_warm, _ = best_of(1, lambda: indicators(args.db, month, "branch", params=args.params))

    print()
    print(f"{'run':<44}{'seconds':>10}")
    print(f"{'bare scan: numeric columns (count, sum)':<44}{t_scan:>10.2f}")
    print(f"{'bare scan: every input column (max)':<44}{t_inputs:>10.2f}")
    print(f"{'perfkit (measures + indicator values)':<44}{t_pk:>10.2f}")
    if pdv is not None:
        t_pd = t_load + t_pd_calc
        print(f"{'pandas: read tables':<44}{t_load:>10.2f}")
        print(f"{'pandas: compute':<44}{t_pd_calc:>10.2f}")
        print(f"{'pandas total':<44}{t_pd:>10.2f}")
    print(f"{'perfkit.indicators() + 12-month history, cold':<44}{t_full:>10.2f}")
    print(f"{'  … next call, same month (cached measures)':<44}{t_warm:>10.2f}")
    print()
    if pdv is not None:
        print(f"perfkit vs pandas: {t_pd / t_pk:.1f}× faster (target ≥ 10×)")
    print(f"perfkit vs bare scan (target ≤ 3×): {t_pk / t_inputs:.1f}× the input columns, "
          f"{t_pk / t_scan:.1f}× the numeric columns")
    print("input columns: " + "; ".join(f"{t}({', '.join(c)})" for t, c in inputs.items()))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if pdv is not None:
        merged = pk.merge(pdv, on=["entity_id", "indicator_id"], suffixes=("_pk", "_pd"))
        same = np.allclose(merged.value_pk, merged.value_pd, rtol=1e-9, atol=1e-6, equal_nan=True)
        print(f"pandas and perfkit values agree: {'yes' if same else 'NO'} ({len(merged):,} values)")
        if not same:
            bad = merged[~np.isclose(merged.value_pk, merged.value_pd, rtol=1e-9, atol=1e-6,
                                     equal_nan=True)]
            print(bad.groupby("indicator_id").size().to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
