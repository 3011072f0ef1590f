"""绩效工资与奖金 — pay tied to the appraisal results, from ``parameters/pay.yaml``.

Per employee (``positions``, appraised in the month) and month, each figure with its inputs and
a formula in Chinese a manager can check by hand:

* **绩效工资** = tier amount of his level × the month's composite score %
  (:func:`perfkit.appraisal.scorecard.scores`, composite 0–100, rounded to 0.1 as shown so that the formula
  can be recomputed by hand); no composite → no amount ("—").
* **提成工资** = (commission from his clients − level base − client cost) × level rate, where client
  cost = ``client_cost_per_account`` × his 在册客户 (accounts with a snapshot) in the month. A
  negative amount is **paid as 0 元** (a firm does not claw back pay) but is kept in
  ``commission_net`` and counts as a negative month; ``demotion_after_negative_months`` negative
  months in a row ending with the month raise ``demotion_flag`` (降一级). A month in which the
  employee was not employed breaks the run.
* **奖金** = bonus standard of his level × conduct score % (百分制倒扣,
  :func:`perfkit.appraisal.deductions.conduct_scores` with scorecard.yaml's window and floor).

The level of each month is the one on its last day in the ``levels`` table (else ``employees.level``).
Commission and accounts come from the cached measures (one frame for all employees and months).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfkit.appraisal.deductions import conduct_scores
from perfkit.appraisal.pay_rules import PayRules, load_pay
from perfkit.appraisal.scorecard import scores
from perfkit.appraisal.spec import load_scorecard
from perfkit.data.schema import LEVELS
from perfkit.data.store import connect
from perfkit.errors import RequestError
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.entities import (
    appraised_sql,
    employees_frame,
    load_appraised,
    require_appraised,
)
from perfkit.metrics.measures import cached_measure_frame
from perfkit.metrics.months import check_month, check_month_format

NEGATIVE_LOOKBACK = 12  # months of history read to count a run of negative commission-share months


def yuan(x: float) -> str:
    """1000 → '1,000 元'; 865.5 → '865.50 元'; negatives with a real minus sign."""
    if pd.isna(x):
        return "—"
    text = f"{x:,.0f}" if abs(x - round(x)) < 0.005 else f"{x:,.2f}"
    return text.replace("-", "−") + " 元"


def pct(x: float) -> str:
    """86.5 → '86.5%'; 95 → '95%'."""
    if pd.isna(x):
        return "—"
    return f"{x:.1f}".removesuffix(".0") + "%"


def pay_frame(emp: pd.DataFrame, months: pd.DataFrame, rules: PayRules, month: str) -> pd.DataFrame:
    """The pure computation behind :func:`pay`.

    ``emp``: one row per employee — employee_id, employee_name, branch_id, level (at month end),
    composite (0–100 or NaN), conduct_score (0–100), deduction_points. ``months``: employee_id,
    month, level, commission, accounts_active for the report month and the months before it that
    the negative run needs (a missing employee-month = not employed, which breaks a run).
    """
    cs = rules.commission_share
    m = months.copy()
    m["base"] = m["level"].map(cs.base).astype(float)
    m["client_cost"] = cs.client_cost_per_account * m["accounts_active"].astype(float)
    m["net"] = m["commission"].astype(float) - m["base"] - m["client_cost"]
    # consecutive negative months ending with the report month
    k = cs.demotion_after_negative_months
    idx = (m["month"].str[:4].astype(int) * 12 + m["month"].str[5:7].astype(int) - 1)
    m_idx = int(month[:4]) * 12 + int(month[5:7]) - 1
    neg = m.assign(back=m_idx - idx)[lambda d: (d["net"] < 0) & (d["back"] >= 0)]
    streak = pd.Series(0, index=emp["employee_id"], dtype=int)
    neg_set = set(zip(neg["employee_id"], neg["back"], strict=True))
    for back in range(max(k, NEGATIVE_LOOKBACK)):   # stop at the first month that breaks the run
        alive = streak == back
        if not alive.any():
            break
        hit = pd.Series([(e, back) in neg_set for e in streak.index], index=streak.index)
        streak[alive & hit] += 1
    cur = m[m["month"] == month].set_index("employee_id")

    out = emp.set_index("employee_id").copy()
    lvl = out["level"]
    out["performance_tier"] = lvl.map(rules.performance.tiers).astype(float)
    out["composite"] = out["composite"].round(1)     # the score % as shown, so the formula adds up
    out["performance_pay"] = (out["performance_tier"] * out["composite"] / 100).round(2)
    out["commission"] = cur["commission"].reindex(out.index).fillna(0.0)
    out["level_base"] = lvl.map(cs.base).astype(float)
    out["active_accounts"] = cur["accounts_active"].reindex(out.index).fillna(0).astype(int)
    out["client_cost"] = cs.client_cost_per_account * out["active_accounts"]
    out["commission_net"] = (out["commission"] - out["level_base"] - out["client_cost"]).round(2)
    out["share_rate"] = lvl.map(cs.rate).astype(float)
    out["commission_pay"] = (out["commission_net"].clip(lower=0) * out["share_rate"] / 100).round(2)
    out["negative_months"] = streak.reindex(out.index).fillna(0).astype(int)
    out["demotion_flag"] = out["negative_months"] >= k
    out["bonus_standard"] = lvl.map(rules.bonus.standard).astype(float)
    out["bonus"] = (out["bonus_standard"] * out["conduct_score"] / 100).round(2)
    out["total_pay"] = out[["performance_pay", "commission_pay", "bonus"]].sum(axis=1, min_count=1).round(2)

    out["performance_formula"] = [
        f"{yuan(t)} × {pct(c)} = {yuan(p)}" if pd.notna(c) else f"{yuan(t)} × 综合得分 — (当月无得分)"
        for t, c, p in zip(out["performance_tier"], out["composite"], out["performance_pay"], strict=True)]
    out["client_cost_formula"] = [
        f"{yuan(cs.client_cost_per_account)} × {n} 户 = {yuan(c)}"
        for n, c in zip(out["active_accounts"], out["client_cost"], strict=True)]
    out["commission_formula"] = [
        (f"(佣金 {yuan(c)} − 基数 {yuan(b)} − 客户成本 {yuan(cc)}) × {pct(r)} = {yuan(p)}" if n >= 0 else
         f"佣金 {yuan(c)} − 基数 {yuan(b)} − 客户成本 {yuan(cc)} = {yuan(n)} < 0，按 0 元发放"
         f"（连续第 {s} 个月为负）")
        for c, b, cc, r, n, p, s in zip(out["commission"], out["level_base"], out["client_cost"],
                                        out["share_rate"], out["commission_net"], out["commission_pay"],
                                        out["negative_months"], strict=True)]
    out["bonus_formula"] = [
        f"{yuan(b)} × {pct(c)} = {yuan(x)}" + (f"（扣 {d:g} 分）" if d > 0 else "")
        for b, c, x, d in zip(out["bonus_standard"], out["conduct_score"], out["bonus"],
                              out["deduction_points"], strict=True)]
    cols = ["employee_name", "branch_id", "level", "composite", "performance_tier", "performance_pay",
            "performance_formula", "commission", "level_base", "active_accounts", "client_cost",
            "client_cost_formula", "commission_net", "share_rate", "commission_pay", "commission_formula",
            "negative_months", "demotion_flag", "deduction_points", "conduct_score", "bonus_standard",
            "bonus", "bonus_formula", "total_pay"]
    return out[cols].reset_index()


def pay(store, month: str, *, entity: str | None = None, params: str | Path | None = None,
        composite: pd.Series | None = None) -> pd.DataFrame:
    """Performance pay, commission-share pay and bonus per employee for ``month`` (see the module
    docstring and :func:`pay_frame` for the columns). ``entity``: an employee id or a branch id.
    ``composite``: the month's composite scores by employee id when the caller already has them
    (a report that scored the month); else :func:`perfkit.appraisal.scorecard.scores` is called."""
    check_month_format(month)
    rules = load_pay(params)
    catalog = load_catalog(params)
    sc = load_scorecard(params)
    k = rules.commission_share.demotion_after_negative_months
    min_days = load_appraised(params).min_days
    with connect(store) as con:
        have = check_month(con, month)
        # enough months to count a negative run exactly (up to a year) and to see the flag's run
        wanted = have[max(0, have.index(month) - (max(k, NEGATIVE_LOOKBACK) - 1)): have.index(month) + 1]
        # who was appraised in which month, and his level on its last day (levels table, else employees)
        staff = con.execute(
            f"""WITH m AS (SELECT unnest(?::VARCHAR[]) AS month),
                    b AS (SELECT month, CAST(month || '-01' AS DATE) AS first_day,
                                 CAST(last_day(CAST(month || '-01' AS DATE)) AS DATE) AS last_day FROM m)
               SELECT e.employee_id, e.employee_name, e.branch_id, b.month,
                      coalesce(l.level, e.level) AS level
               FROM employees AS e
               CROSS JOIN b
               LEFT JOIN levels AS l ON l.employee_id = e.employee_id
                    AND l.start_date <= least(b.last_day, coalesce(e.leave_date, b.last_day))
                    AND (l.end_date IS NULL
                         OR l.end_date >= least(b.last_day, coalesce(e.leave_date, b.last_day)))
               WHERE {appraised_sql(min_days, first="b.first_day", last="b.last_day")}
                 AND list_contains(?::VARCHAR[], e.position)
               ORDER BY e.employee_id, b.month""",
            [wanted, list(rules.positions)],
        ).df()
        if entity is not None and entity not in set(staff.loc[staff["month"] == month,
                                                              "employee_id"]):
            require_appraised(employees_frame(con), month, entity, min_days)  # the listings' rule
        frame = cached_measure_frame(store if store is not None else con, con, wanted, catalog)
        conduct = conduct_scores(con, month, sc.deductions).set_index("employee_id")
    staff = staff[staff["level"].isin(LEVELS)]
    if composite is None:
        composite = scores(store, month, "employee", params=params).set_index("entity_id")["composite"]
    months = staff.merge(frame[["employee_id", "month", "commission", "accounts_active"]],
                         on=["employee_id", "month"], how="left").fillna({"commission": 0.0,
                                                                          "accounts_active": 0.0})
    emp = staff[staff["month"] == month].drop(columns="month").copy()
    if entity is not None:
        emp = emp[(emp["employee_id"] == entity) | (emp["branch_id"] == entity)]
        if emp.empty:
            raise RequestError(f"unknown entity {entity!r}: not a paid employee nor a branch with one")
    emp["composite"] = emp["employee_id"].map(composite).astype(float)
    emp["deduction_points"] = emp["employee_id"].map(conduct["deduction_points"]).fillna(0.0)
    emp["conduct_score"] = emp["employee_id"].map(conduct["conduct_score"]).fillna(100.0)
    months = months[months["employee_id"].isin(emp["employee_id"])]
    return pay_frame(emp, months, rules, month)
