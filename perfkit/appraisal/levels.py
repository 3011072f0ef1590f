"""职级评定 — the level review of 客户经理 from ``parameters/levels.yaml``.

For a month, every reviewed employee (``positions``, appraised in the month by the rule of
:mod:`perfkit.metrics.entities`) gets:

* his **current level** and **months at level** from the store's ``levels`` table (the row covering
  the month's last day; without one, ``employees.level`` since the hire date). Months at level =
  full calendar months from the level's start to the month's end (a start on the 1st counts its
  month).
* a **recommendation**, computed every month from that month's data:

  - **probation** (the first ``probation.months`` calendar months, the hire month being month 1):
    the probation standard over the months so far → 维持 (passed) or 试用期未达标;
  - **afterwards**: 晋级 when at least ``promotion.min_months_at_level`` months at level AND the next
    level's maintain standard was met in each of the last ``promotion.consecutive_quarters``
    complete quarters (ended by the month) AND, with ``promotion.min_composite``, the month's
    composite score (perfkit scores: the work and quality appraisal) reaches it; else 降级 when the current level's maintain standard is
    not met over the last ``review.window_months`` months (the lowest level has nothing below:
    未达维持标准, which a firm checks at contract renewal); else 维持.

  The recommendation takes effect only at a review: ``review_month`` says whether the month is
  one (``review.months``, half-yearly by default; for a probationer the last probation month), and
  ``next_review`` names the next. In other months it is a forecast (预估) on the data so far — so a
  manager sees mid-cycle where he stands. (perfkit does not emit "未到评定期": the flag and the
  next review month carry that.)

* **each condition** with its value, threshold, unit, met/unmet and a note (the large-assets
  alternative for effective clients; the "either" between the two monthly flow conditions).

Standards use the measures (:func:`perfkit.metrics.measures.cached_measure_frame`): 托管资产 = Σ month-end
assets (``assets_end``), 有效户 = ``effective_clients`` (so it follows the 有效户 settings of
indicators.yaml), 月均净增有效户 = (有效户 at the window's end − the month before the window) ÷ months,
月均净增资产 = Σ ``net_inflow`` ÷ months, 创收 = Σ ``commission``. A window reaching before the store's
first month is shortened to the months the store has (the note says so). All employees are computed
at once (pivoted month columns); nothing loops over employees.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.level_rules import LevelRules, Threshold, load_levels
from perfkit.appraisal.scorecard import scores
from perfkit.data.store import connect, month_bounds
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

log = logging.getLogger(__name__)


MAINTAIN, PROMOTE, DEMOTE, PROBATION_FAIL, BELOW_LOWEST = "维持", "晋级", "降级", "试用期未达标", "未达维持标准"


CHECK_PROBATION, CHECK_MAINTAIN, CHECK_PROMOTION = "试用期标准", "维持标准", "晋级标准"


SUMMARY_COLUMNS = ["employee_id", "employee_name", "branch_id", "branch_name", "region_class", "level",
                   "level_since", "months_at_level", "status", "review_month", "next_review",
                   "recommendation", "recommended_level", "maintain_met", "promotion_met", "probation_met",
                   "reason"]


CONDITION_COLUMNS = ["employee_id", "check", "standard_level", "period", "condition", "value", "threshold",
                     "unit", "value_text", "threshold_text", "met", "note"]


def _resolve(th: Threshold | None, region: pd.Series) -> pd.Series:
    """A threshold per employee from his branch's region class (NaN when not set)."""
    if th is None:
        return pd.Series(np.nan, index=region.index)
    if isinstance(th, dict):
        return region.map({k: float(v) for k, v in th.items()}).astype(float)
    return pd.Series(float(th), index=region.index)


def _midx(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _quarter_end(m_idx: int) -> int:
    """The last month of the last complete quarter ended by month index ``m_idx``."""
    return m_idx - (m_idx % 3 + 1) % 3


def _mlabel(idx: int) -> str:
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def _money(x: float) -> str:
    if pd.isna(x):
        return "—"
    text = f"{x / 10000:,.1f}".removesuffix(".0")
    return f"{text}万元".replace("-", "−")


def _count(x: float, unit: str = "户") -> str:
    if pd.isna(x):
        return "—"
    return (f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}").replace("-", "−") + unit


def _text(value: pd.Series, unit: str) -> pd.Series:
    fmt = {"元": _money, "月": lambda v: _count(v, "个月"),
           "分": lambda v: "—" if pd.isna(v) else f"{v:.1f}".removesuffix(".0") + "分"}.get(unit, _count)
    return value.map(fmt)


class _Data:
    """Measures pivoted to employee × month-index matrices (months the store lacks are NaN)."""

    def __init__(self, frame: pd.DataFrame, employees: pd.Index, first: int, last: int):
        self.first, self.last = first, last
        cols = list(range(first, last + 1))
        frame = frame.assign(t=frame["month"].map(_midx))
        self.m: dict[str, pd.DataFrame] = {}
        for name in ("assets_end", "effective_clients", "net_inflow", "commission"):
            self.m[name] = (frame.pivot_table(index="employee_id", columns="t", values=name, aggfunc="sum")
                            .reindex(index=employees, columns=cols).fillna(0.0))

    def at(self, name: str, t: int) -> pd.Series:
        """The measure at month index ``t``; NaN (shown "—", never met) before the store's data."""
        if t < self.first:
            return pd.Series(np.nan, index=self.m[name].index)
        return self.m[name][t]

    def window_sum(self, name: str, start: int, end: int) -> pd.Series:
        return self.m[name].loc[:, start:end].sum(axis=1)

    def flows(self, start: int, end: int) -> tuple[pd.Series, pd.Series, int, str]:
        """(月均净增有效户, 月均净增资产, months, note) over months start..end, shortened to the
        store's months (the month before the window is the baseline)."""
        note = ""
        if start - 1 < self.first:
            start = self.first + 1
            note = f"数据自 {_mlabel(self.first)} 起，按 {max(end - start + 1, 0)} 个月计"
        n = end - start + 1
        if n <= 0:
            nan = pd.Series(np.nan, index=self.m["assets_end"].index)
            return nan, nan, 0, "数据不足"
        eff = (self.at("effective_clients", end) - self.at("effective_clients", start - 1)) / n
        inflow = self.window_sum("net_inflow", start, end) / n
        return eff, inflow, n, note


def _rows(ids: pd.Index, check: str, std_level: pd.Series | str, period: pd.Series | str, condition: str,
          value: pd.Series, threshold: pd.Series, unit: str, note: pd.Series | str = "") -> pd.DataFrame:
    met = (value >= threshold - 1e-9) & value.notna() & threshold.notna()
    return pd.DataFrame({
        "employee_id": ids, "check": check,
        "standard_level": std_level if isinstance(std_level, str) else std_level.to_numpy(),
        "period": period if isinstance(period, str) else period.to_numpy(),
        "condition": condition, "value": value.to_numpy(dtype=float),
        "threshold": threshold.to_numpy(dtype=float), "unit": unit,
        "value_text": _text(value, unit).to_numpy(), "threshold_text": _text(threshold, unit).to_numpy(),
        "met": met.to_numpy(), "note": note if isinstance(note, str) else note.to_numpy(),
    })


def _standard(
    data: _Data, std_of: pd.Series, rules: LevelRules, region: pd.Series, start: int, end: int,
    check: str, period: str,
) -> tuple[list[pd.DataFrame], pd.Series]:
    """Evaluate, for each employee, the maintain standard of level ``std_of`` (NaN = none) over
    months start..end: condition rows and whether all conditions are met."""
    ids = std_of.index
    has = std_of.notna()
    th: dict[str, pd.Series] = {k: pd.Series(np.nan, index=ids) for k in
                                ("assets", "eff", "la_assets", "la_eff", "flow_eff", "flow_assets")}
    for lv in rules.levels:
        sel = std_of == lv
        if not sel.any():
            continue
        s = rules.standards[lv]
        r = region[sel]
        th["assets"][sel] = _resolve(s.assets, r)
        th["eff"][sel] = _resolve(s.effective_clients, r)
        if s.large_assets is not None:
            th["la_assets"][sel] = _resolve(s.large_assets.assets, r)
            th["la_eff"][sel] = _resolve(s.large_assets.effective_clients, r)
        th["flow_eff"][sel] = _resolve(s.net_new_effective_clients, r)
        th["flow_assets"][sel] = _resolve(s.net_new_assets, r)
    assets = data.at("assets_end", end)
    eff = data.at("effective_clients", end)
    large = th["la_assets"].notna() & (assets > th["la_assets"])
    eff_th = th["eff"].where(~large, th["la_eff"])
    eff_note = pd.Series(np.select(
        [large.to_numpy(), th["la_assets"].notna().to_numpy()],
        [("托管资产超过 " + th["la_assets"].map(_money) + "，适用大额门槛").to_numpy(),
         ("托管资产超过 " + th["la_assets"].map(_money) + " 时门槛为 " + th["la_eff"].map(_count)).to_numpy()],
        ""), index=ids)
    flow_eff, flow_assets, _, flow_note = data.flows(start, end)
    either = th["flow_eff"].notna() & th["flow_assets"].notna()
    note_e = pd.Series(flow_note, index=ids).str.cat(
        pd.Series("", index=ids).where(~either, "与月均净增资产满足其一即可"), sep="；").str.strip("；")
    note_a = pd.Series(flow_note, index=ids).str.cat(
        pd.Series("", index=ids).where(~either, "与月均净增有效户满足其一即可"), sep="；").str.strip("；")
    lv = std_of.fillna("")
    end_label = f"{_mlabel(end)} 月末"
    parts = [
        _rows(ids, check, lv, end_label, "托管资产", assets, th["assets"], "元"),
        _rows(ids, check, lv, end_label, "有效户", eff, eff_th, "户", eff_note),
    ]
    flow_rows = []
    if th["flow_eff"].notna().any():
        flow_rows.append(_rows(ids, check, lv, period, "月均净增有效户", flow_eff, th["flow_eff"], "户", note_e))
    if th["flow_assets"].notna().any():
        flow_rows.append(_rows(ids, check, lv, period, "月均净增资产", flow_assets, th["flow_assets"], "元",
                               note_a))
    parts += flow_rows
    # only employees with a standard here, only the conditions their standard has
    parts = [p[has.to_numpy() & p["threshold"].notna().to_numpy()] for p in parts]
    stock_ok = (assets >= th["assets"] - 1e-9) & (eff >= eff_th - 1e-9)
    flow_ok = ((flow_eff >= th["flow_eff"] - 1e-9) & th["flow_eff"].notna()) | (
        (flow_assets >= th["flow_assets"] - 1e-9) & th["flow_assets"].notna())
    return parts, (stock_ok & flow_ok & has)


def _reviewed(con, month: str, rules: LevelRules, min_days: int) -> pd.DataFrame:
    """Reviewed employees — of the positions the review covers, appraised in the month
    (:mod:`perfkit.metrics.entities`) — with region class and their level on the month's last day
    (or on the day they left)."""
    first, end = month_bounds(month)
    df = con.execute(
        f"""SELECT e.employee_id, e.employee_name, e.branch_id, b.branch_name, b.region_class,
                  e.hire_date, coalesce(l.level, e.level) AS level,
                  coalesce(l.start_date, e.hire_date) AS level_since,
                  l.level IS NOT NULL AS from_history
           FROM employees AS e
           JOIN branches AS b USING (branch_id)
           LEFT JOIN levels AS l ON l.employee_id = e.employee_id
                AND l.start_date <= least($last, coalesce(e.leave_date, $last))
                AND (l.end_date IS NULL OR l.end_date >= least($last, coalesce(e.leave_date, $last)))
           WHERE {appraised_sql(min_days)} AND list_contains($positions::VARCHAR[], e.position)
           ORDER BY e.employee_id""",
        {"first": first, "last": end, "positions": list(rules.positions)},
    ).df()
    dup = df["employee_id"].duplicated()
    if dup.any():
        raise RequestError(f"levels: employee {df.loc[dup, 'employee_id'].iloc[0]} has overlapping level "
                           f"periods on {end}; fix the levels table")
    unknown = ~df["level"].isin(rules.levels)
    if unknown.any():
        log.warning("levels: %d reviewed employees without a level of levels.yaml left out (e.g. %s)",
                    int(unknown.sum()), df.loc[unknown, "employee_id"].iloc[0])
        df = df[~unknown]
    return df.set_index("employee_id")


def level_review(
    store, month: str, *, entity: str | None = None, params: str | Path | None = None,
    composite: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, conditions) of the level review for ``month`` (see the module docstring).

    summary, one row per reviewed employee: employee_id, employee_name, branch_id, branch_name,
    region_class, level, level_since, months_at_level, status (试用期 / 正式), review_month (bool),
    next_review ('YYYY-MM'), recommendation (维持 / 晋级 / 降级 / 试用期未达标 / 未达维持标准),
    recommended_level, maintain_met, promotion_met, probation_met (bool or <NA>), reason (中文).

    conditions, one row per employee × condition: employee_id, check (试用期标准 / 维持标准 / 晋级标准),
    standard_level, period, condition, value, threshold, unit (元 / 户 / 月), value_text,
    threshold_text, met, note.

    ``entity``: an employee id or a branch id (its employees). ``composite``: the month's composite
    scores by employee id, when the caller has them (needed for ``promotion.min_composite``; else
    :func:`perfkit.appraisal.scorecard.scores` is called).
    """
    check_month_format(month)
    rules = load_levels(params)
    catalog = load_catalog(params)
    m_idx = _midx(month)
    q_end = _quarter_end(m_idx)
    span = max(rules.review.window_months, 3 * rules.promotion.consecutive_quarters + (m_idx - q_end),
               rules.probation.months)
    with connect(store) as con:
        have = check_month(con, month)
        first = max(_midx(have[0]), m_idx - span)
        wanted = [m for m in have if first <= _midx(m) <= m_idx]
        min_days = load_appraised(params).min_days
        emp = _reviewed(con, month, rules, min_days)
        if entity is not None and entity not in emp.index:  # the listings' rule, for him too
            require_appraised(employees_frame(con), month, entity, min_days)
        frame = cached_measure_frame(store if store is not None else con, con, wanted, catalog)
    if entity is not None:
        sel = (emp.index == entity) | (emp["branch_id"] == entity)
        if not sel.any():
            raise RequestError(f"unknown entity {entity!r}: not a reviewed employee nor a branch with one")
        emp = emp[sel]
    if rules.promotion.min_composite is not None and composite is None:
        composite = scores(store, month, "employee", params=params).set_index("entity_id")["composite"]
    return review(emp, frame, month, rules, first=_mlabel(first), composite=composite)


def review(
    emp: pd.DataFrame, frame: pd.DataFrame, month: str, rules: LevelRules, *, first: str | None = None,
    composite: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pure part of :func:`level_review`: ``emp`` indexed by employee_id with employee_name,
    branch_id, branch_name, region_class, hire_date, level and level_since; ``frame`` the measures
    (employee_id, month, assets_end, effective_clients, net_inflow, commission) of the months
    ``first`` (default: the frame's first month; the store's first month) … ``month``; ``composite``
    the month's composite score by employee id (for ``promotion.min_composite``; missing = not met)."""
    if emp.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS), pd.DataFrame(columns=CONDITION_COLUMNS)
    m_idx = _midx(month)
    q_end = _quarter_end(m_idx)
    first_idx = _midx(first if first is not None else str(frame["month"].min()))
    ids = emp.index
    data = _Data(frame[frame["employee_id"].isin(ids)], ids, first_idx, m_idx)
    region = emp["region_class"]
    order = {lv: i for i, lv in enumerate(rules.levels)}
    lvl_i = emp["level"].map(order)

    since = pd.to_datetime(emp["level_since"])
    since_idx = since.dt.year * 12 + since.dt.month - 1
    months_at = (m_idx - since_idx + (since.dt.day == 1).astype(int)).astype(int)
    hire = pd.to_datetime(emp["hire_date"])
    hire_idx = hire.dt.year * 12 + hire.dt.month - 1
    served = m_idx - hire_idx + 1                      # calendar months incl. the hire month
    probation = served <= rules.probation.months

    parts: list[pd.DataFrame] = []
    # probation: hire month … this month
    p_ids = ids[probation.to_numpy()]
    probation_met = pd.Series(pd.NA, index=ids, dtype="boolean")
    if len(p_ids):
        ps = rules.probation.standard
        r = region[p_ids]
        start = hire_idx[p_ids].clip(lower=data.first)
        new_eff = data.m["effective_clients"].loc[p_ids, m_idx]      # none before hire
        mask = np.arange(data.first, m_idx + 1)[None, :] >= start.to_numpy()[:, None]
        inflow = (data.m["net_inflow"].loc[p_ids].to_numpy() * mask).sum(axis=1)
        revenue = (data.m["commission"].loc[p_ids].to_numpy() * mask).sum(axis=1)
        period = start.map(_mlabel) + "…" + month
        conds = [("新增有效户", new_eff, ps.new_effective_clients, "户"),
                 ("新增客户净资产", pd.Series(inflow, index=p_ids), ps.new_net_assets, "元"),
                 ("创收", pd.Series(revenue, index=p_ids), ps.revenue, "元")]
        ok = pd.Series(True, index=p_ids)
        for name, value, th, unit in conds:
            if th is None:
                continue
            t = _resolve(th, r)
            rows = _rows(p_ids, CHECK_PROBATION, emp.loc[p_ids, "level"], period, name,
                         value, t, unit, f"试用期 {rules.probation.months} 个月内累计")
            parts.append(rows)
            ok &= rows.set_index("employee_id")["met"]
        probation_met[p_ids] = ok

    regular = ~probation
    # maintain: the current level over the last window_months months
    w = rules.review.window_months
    cur_std = emp["level"].where(regular)
    m_parts, maintain_met = _standard(data, cur_std, rules, region, m_idx - w + 1, m_idx, CHECK_MAINTAIN,
                                      f"{_mlabel(m_idx - w + 1)}…{month}")
    parts += m_parts
    # promotion: months at level + the next level's maintain standard in consecutive quarters
    nxt = lvl_i.map(lambda i: rules.levels[i + 1] if i + 1 < len(rules.levels) else None)
    nxt = nxt.where(regular & nxt.notna())
    can = nxt.notna()
    tenure_ok = months_at >= rules.promotion.min_months_at_level
    tenure_rows = _rows(ids, CHECK_PROMOTION, nxt.fillna(""), f"截至 {month}", "在级月数",
                        months_at.astype(float), pd.Series(float(rules.promotion.min_months_at_level), index=ids),
                        "月", "自 " + since.dt.strftime("%Y-%m-%d") + " 起任现职级")
    parts.append(tenure_rows[can.to_numpy()])
    promotion_met = tenure_ok & can
    if rules.promotion.min_composite is not None:   # 工作与质量考核合格: the month's composite score
        comp = (composite if composite is not None else pd.Series(dtype=float)).reindex(ids).astype(float)
        comp_rows = _rows(ids, CHECK_PROMOTION, nxt.fillna(""), month, "综合得分", comp,
                          pd.Series(float(rules.promotion.min_composite), index=ids), "分",
                          "当月综合考核得分（工作与质量考核合格）")
        parts.append(comp_rows[can.to_numpy()])
        promotion_met &= pd.Series(comp_rows["met"].to_numpy(), index=ids)
    for k in range(rules.promotion.consecutive_quarters):
        qe = q_end - 3 * k
        label = f"{qe // 12}Q{qe % 12 // 3 + 1}"
        q_parts, q_met = _standard(data, nxt, rules, region, qe - 2, qe, CHECK_PROMOTION, label)
        parts += q_parts
        promotion_met &= q_met

    top = lvl_i == len(rules.levels) - 1
    rec = pd.Series(MAINTAIN, index=ids)
    rec[regular & ~maintain_met] = DEMOTE
    rec[regular & ~maintain_met & (lvl_i == 0)] = BELOW_LOWEST
    rec[regular & promotion_met] = PROMOTE
    rec[probation & ~probation_met.fillna(False).astype(bool)] = PROBATION_FAIL
    rec_level = emp["level"].copy()
    rec_level[rec == PROMOTE] = nxt[rec == PROMOTE]
    down = rec == DEMOTE
    rec_level[down] = lvl_i[down].map(lambda i: rules.levels[max(i - 1, 0)])

    moy = m_idx % 12 + 1
    review_month = pd.Series(moy in rules.review.months, index=ids) & regular
    review_month |= probation & (served == rules.probation.months)
    ahead = min((r - moy) % 12 or 12 for r in rules.review.months)   # next review strictly after
    next_review = pd.Series(_mlabel(m_idx + ahead), index=ids)
    waiting = probation & (served < rules.probation.months)
    next_review[waiting] = (hire_idx[waiting] + rules.probation.months - 1).map(_mlabel)

    cond = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    check_order = {CHECK_PROBATION: 0, CHECK_MAINTAIN: 1, CHECK_PROMOTION: 2}
    if len(cond):
        cond = (cond.assign(_o=cond["check"].map(check_order), _e=cond["employee_id"].map(
            {e: i for i, e in enumerate(ids)}), _r=np.arange(len(cond)))
            .sort_values(["_e", "_o", "_r"]).drop(columns=["_o", "_e", "_r"]).reset_index(drop=True))

    summary = pd.DataFrame({
        "employee_id": ids,
        "employee_name": emp["employee_name"].to_numpy(),
        "branch_id": emp["branch_id"].to_numpy(),
        "branch_name": emp["branch_name"].to_numpy(),
        "region_class": region.to_numpy(),
        "level": emp["level"].to_numpy(),
        "level_since": since.dt.date.to_numpy(),
        "months_at_level": months_at.to_numpy(),
        "status": np.where(probation, "试用期", "正式"),
        "review_month": review_month.to_numpy(),
        "next_review": next_review.to_numpy(),
        "recommendation": rec.to_numpy(),
        "recommended_level": rec_level.to_numpy(),
        "maintain_met": pd.array(maintain_met.where(regular), dtype="boolean"),
        "promotion_met": pd.array(promotion_met.where(regular & ~top), dtype="boolean"),
        "probation_met": probation_met.to_numpy(),
    })
    summary["reason"] = _reasons(summary, cond, rules)
    return summary.reset_index(drop=True), cond


def _failed(cond: pd.DataFrame, check: str) -> dict[str, str]:
    """employee_id → the conditions of ``check`` he missed, as one sentence (set-wise: a loop per
    employee took seconds for a thousand)."""
    if cond.empty:
        return {}
    f = cond[(cond["check"] == check) & ~cond["met"].astype(bool)]
    if check != CHECK_PROBATION:  # an either-or flow pair is missed only when both are
        pair = ["月均净增有效户", "月均净增资产"]
        met = cond[cond["condition"].isin(pair) & (cond["check"] == check) & cond["met"].astype(bool)]
        ok = pd.MultiIndex.from_frame(met[["employee_id", "period"]])
        here = pd.MultiIndex.from_frame(f[["employee_id", "period"]])
        f = f[~(f["condition"].isin(pair).to_numpy() & here.isin(ok))]
    text = (f["period"].astype(str) + " " + f["condition"].astype(str) + " "
            + f["value_text"].astype(str) + " < " + f["threshold_text"].astype(str))
    return text.groupby(f["employee_id"], sort=False).agg("；".join).to_dict()


def _reasons(summary: pd.DataFrame, cond: pd.DataFrame, rules: LevelRules) -> list[str]:
    """One Chinese sentence per employee saying why the recommendation is what it is."""
    failed = {c: _failed(cond, c) for c in (CHECK_PROBATION, CHECK_MAINTAIN, CHECK_PROMOTION)}
    out: list[str] = []
    for row in summary.itertuples(index=False):
        if row.recommendation == PROBATION_FAIL:
            out.append("试用期标准未达到：" + failed[CHECK_PROBATION].get(row.employee_id, ""))
        elif row.status == "试用期":
            out.append("试用期标准已达到")
        elif row.recommendation == PROMOTE:
            out.append(f"在级 {row.months_at_level} 个月，连续 {rules.promotion.consecutive_quarters} 个季度"
                       f"达到{row.recommended_level}维持标准")
        elif row.recommendation in (DEMOTE, BELOW_LOWEST):
            out.append(f"未达{row.level}维持标准：" + failed[CHECK_MAINTAIN].get(row.employee_id, ""))
        else:
            why = failed[CHECK_PROMOTION].get(row.employee_id, "")
            out.append(f"达到{row.level}维持标准" + (f"；未晋级：{why}" if why else ""))
    return out
