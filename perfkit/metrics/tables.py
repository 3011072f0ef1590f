"""Statistical tables (查看报表 → 绩效管理报表) for one month.

``level="company"``: one row per branch (部门统计) plus a 合计 row; ``level="branch"`` with
``entity=<branch_id>``: one row per employee of that branch (客户经理统计) plus a 合计 row (the
branch). Every ratio is Σnumerator / Σdenominator of the row's grain (the 合计 row of a company
table equals the company indicator value), computed from the same measures and task list as
:func:`perfkit.metrics.indicators.indicators`; a zero denominator is NaN (shown as “—”).
Money columns are in 万元 or 元 as their header says; rates in %.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from perfkit.data.store import StoreLike, connect
from perfkit.errors import RequestError, SpecError
from perfkit.metrics.catalog import Catalog, load_catalog
from perfkit.metrics.entities import appraised, employees_frame, load_appraised
from perfkit.metrics.indicators import aggregate_measures, ratio
from perfkit.metrics.measures import cached_measure_frame
from perfkit.metrics.months import check_month, create_report_months, drop_temp, window_start
from perfkit.metrics.tasks import create_task_list, read_task_list

log = logging.getLogger(__name__)

TOTAL = "合计"

# (header, kind, key): kind "m" = a measure (optionally scaled), "i" = an indicator of the catalog.
TABLES: dict[str, list[tuple[str, str, str, float]]] = {
    "潜在客户情况统计表": [
        ("新增潜在客户数", "m", "leads_new", 1),
        ("潜在客户数", "m", "leads_pool", 1),
        ("潜在客户开户数", "m", "leads_opened", 1),
        ("潜在客户转化率(%)", "i", "lead_conversion_rate", 1),
        ("应跟进潜客数", "m", "lead_fu_due", 1),
        ("及时跟进数", "m", "lead_fu_on_time", 1),
        ("潜在客户及时跟进率(%)", "i", "lead_followup_rate", 1),
    ],
    "现有客户情况统计表": [
        ("在册客户数", "m", "accounts_active", 1),
        ("有效客户数", "m", "effective_clients", 1),
        ("客户资产总额(万元)", "i", "client_assets", 1),
        ("资产净流入(万元)", "i", "net_inflow", 1),
        ("佣金收入(元)", "i", "commission", 1),
        ("交易客户数", "m", "traded_clients", 1),
        ("客户活跃率(%)", "i", "active_rate", 1),
        ("客户资产收益率(%)", "i", "client_return", 1),
        ("新开户回访及时率(%)", "i", "callback_rate", 1),
    ],
    "客户资料完成情况统计表": [
        ("在册客户数", "m", "accounts_active", 1),
        ("资料完整客户数", "m", "profile_complete", 1),
        ("资料不全客户数", "m", "profile_open", 1),
        ("客户资料完整率(%)", "i", "profile_complete_rate", 1),
        ("缺职业", "m", "missing_occupation", 1),
        ("缺联系地址", "m", "missing_address", 1),
        ("缺电子邮箱", "m", "missing_email", 1),
        ("缺年收入区间", "m", "missing_income_band", 1),
    ],
    "流失客户情况统计表": [
        ("流失客户数", "m", "lost_clients", 1),
        ("流失资产(万元)", "m", "lost_assets", 0.0001),
        ("销户", "m", "lost_closed", 1),
        ("转托管", "m", "lost_transferred", 1),
        ("资产流出", "m", "lost_outflow", 1),
        ("客户流失率(%)", "i", "churn_rate", 1),
        ("近12个月流失客户数", "m", "lost_window", 1),
        ("已挽回客户数", "m", "recalled_window", 1),
        ("流失客户挽回率(%)", "i", "recall_rate", 1),
        ("流失客户及时联系率(%)", "i", "recall_contact_rate", 1),
    ],
}
ROUTINE = "常态化工作情况统计表"


def _grain(level: str, entity: str | None) -> str:
    """The level of the table's rows for a request."""
    if level == "company":
        return "branch"
    if level == "branch":
        if entity is None:
            raise RequestError(
                "level branch needs entity=<branch_id> (the branch whose employees to list)"
            )
        return "employee"
    raise RequestError(f"statistical tables exist for level company or branch, not {level!r}")


def _column(agg: pd.DataFrame, catalog: Catalog, kind: str, key: str, scale: float) -> pd.Series:
    if kind == "m":
        if key not in agg.columns:
            raise SpecError(f"statistical tables need measure {key!r}", file="parameters/measures")
        return agg[key] * scale
    try:
        ind = catalog.indicator(key)
    except RequestError:
        raise SpecError(f"statistical tables need indicator {key!r}", file=catalog.path) from None
    return ratio(agg[ind.numerator], agg[ind.denominator] if ind.denominator else None, ind.scale)


def _label(agg: pd.DataFrame, names: dict[str, str], level: str, total: bool) -> pd.DataFrame:
    id_col, name_col = ("营业部编号", "营业部") if level == "branch" else ("员工编号", "员工姓名")
    if total:  # one 合计 row per aggregated row (the company, or each branch)
        return pd.DataFrame({id_col: [TOTAL] * len(agg), name_col: [""] * len(agg)})
    return pd.DataFrame({id_col: agg["entity_id"], name_col: agg["entity_id"].map(names)})


def stat_tables(
    store: StoreLike,
    month: str,
    level: str = "company",
    *,
    entity: str | None = None,
    params: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """The five statistical tables of ``month``, keyed by their Chinese titles:
    潜在客户情况统计表, 现有客户情况统计表, 客户资料完成情况统计表, 流失客户情况统计表,
    常态化工作情况统计表. Rows: branches (``level="company"``) or the employees of branch
    ``entity`` (``level="branch"``), then a 合计 row. The routine-work table has one 应完成 column
    per task rule (tasks due in the month), then 按时完成 / 逾期完成 / 未完成 and the rates.
    Raises RequestError for a month outside the data or an unknown branch.
    """
    rows_level = _grain(level, entity)
    catalog, people, branches, frame = _load(store, month, params, entity)
    names = (
        dict(zip(branches["branch_id"], branches["branch_name"], strict=True))
        if rows_level == "branch"
        else dict(zip(people["employee_id"], people["employee_name"], strict=True))
    )
    rows = aggregate_measures(frame, people, rows_level)
    if rows_level == "employee":
        rows = _shown_employees(rows, people, month, load_appraised(params).min_days)
    total = aggregate_measures(frame, people, "company")
    out = _assemble(catalog, rows_level, rows, names, total)
    log.info("statistical tables %s %s %s: %d rows each", month, level, entity or "", len(rows) + 1)
    return out


def branch_stat_tables(
    store: StoreLike, month: str, *, params: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """``stat_tables(level="branch", entity=b)`` of every branch ``b`` at once, from one measure
    frame and one task list: the same tables with a leading ``branch_id`` column; each branch's
    rows (its employees, then its 合计 row) are contiguous and in the order the single-branch call
    gives them. For the month snapshot (:mod:`perfkit.month.frames`)."""
    catalog, people, _, frame = _load(store, month, params, None)
    names = dict(zip(people["employee_id"], people["employee_name"], strict=True))
    rows = _shown_employees(aggregate_measures(frame, people, "employee"), people, month,
                            load_appraised(params).min_days)
    rows = rows[rows["parent_id"].notna()]
    totals = aggregate_measures(frame, people, "branch")
    totals = totals[totals["entity_id"].notna()]
    out = _assemble(catalog, "employee", rows, names, totals)
    keys = pd.concat([rows["parent_id"], totals["entity_id"]], ignore_index=True).to_numpy()
    for title, df in out.items():
        df.insert(0, "branch_id", keys)
        out[title] = df.sort_values("branch_id", kind="stable").reset_index(drop=True)
    log.info("statistical tables %s of %d branches", month, totals["entity_id"].nunique())
    return out


def _load(
    store: StoreLike, month: str, params: str | Path, entity: str | None
) -> tuple[Catalog, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(catalog, employees, branches, measure frame with the routine-work counts as ``_r_*``
    columns), the frame restricted to the employees of branch ``entity`` when given."""
    catalog = load_catalog(params)
    with connect(store) as con:
        check_month(con, month)
        people = employees_frame(con)
        branches = con.execute("SELECT branch_id, branch_name FROM branches ORDER BY 1").df()
        if entity is not None and entity not in set(branches["branch_id"]):
            raise RequestError(f"unknown branch {entity!r}")
        frame = cached_measure_frame(store, con, [month], catalog)
        counts = _routine_counts(con, month, catalog)
    if entity is not None:
        keep = set(people.loc[people["branch_id"] == entity, "employee_id"])
        frame = frame[frame["employee_id"].isin(keep)]
        counts = counts[counts["employee_id"].isin(keep)]
    # the routine-work counts join the measure frame as extra columns
    frame = frame.merge(counts, on="employee_id", how="left")
    extra = [c for c in frame.columns if c.startswith("_r_")]
    frame[extra] = frame[extra].fillna(0.0)
    return catalog, people, branches, frame


def _shown_employees(rows: pd.DataFrame, people: pd.DataFrame, month: str,
                     min_days: int) -> pd.DataFrame:
    """The rows of the employees appraised in the month (the rule of every listing; the 合计 rows
    still count every client of the branch)."""
    return rows[rows["entity_id"].isin(appraised(people, month, min_days))]


def _assemble(catalog: Catalog, rows_level: str, rows: pd.DataFrame, names: dict[str, str],
              totals: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The five tables: ``rows`` labelled with ``names``, then one 合计 row per row of ``totals``."""
    rules = catalog.tasks.rules if catalog.tasks else ()
    out: dict[str, pd.DataFrame] = {}
    for title, spec in {**TABLES, ROUTINE: _routine_spec(rules)}.items():
        parts = []
        for agg, is_total in ((rows, False), (totals, True)):
            body = _label(agg, names, rows_level, is_total).reset_index(drop=True)
            for header, kind, key, scale in spec:
                col = _column(agg, catalog, kind, key, scale).to_numpy()
                body[header] = col.astype("int64") if (kind == "m" and scale == 1) else col
            parts.append(body)
        out[title] = pd.concat(parts, ignore_index=True)
    return out


def _routine_counts(con, month: str, catalog: Catalog) -> pd.DataFrame:
    """Per employee with tasks due in ``month``: the tasks due per rule (``_r_due_<rule>``), all
    due (``_r_due``), done on time, late, not done and done (``_r_on_time``, ``_r_late``,
    ``_r_open``, ``_r_done``) — counted inside DuckDB from the task list, never listed in pandas."""
    rules = catalog.tasks.rules if catalog.tasks else ()
    cols = ["employee_id"] + [f"_r_due_{r.id}" for r in rules] + [
        "_r_due", "_r_on_time", "_r_late", "_r_open", "_r_done"]
    if not rules:
        return pd.DataFrame(columns=cols).astype({"employee_id": "object"})
    per_rule = [f'count(*) FILTER (WHERE rule_id = ?) AS "_r_due_{r.id}"' for r in rules]
    sql = f"""
        SELECT employee_id, {", ".join(per_rule)}, count(*) AS _r_due,
               count(*) FILTER (WHERE status = '已完成') AS _r_on_time,
               count(*) FILTER (WHERE status = '逾期完成') AS _r_late,
               count(*) FILTER (WHERE status = '未完成') AS _r_open,
               count(*) FILTER (WHERE status IN ('已完成', '逾期完成')) AS _r_done
        FROM task_list WHERE due_in_month AND employee_id IS NOT NULL
        GROUP BY employee_id ORDER BY employee_id"""
    create_report_months(con, [month])
    try:
        start = window_start(con)
        create_task_list(con, catalog.tasks, start)
        counts = read_task_list(con, catalog.tasks, start, sql, [r.id for r in rules])
    finally:
        drop_temp(con)
    return counts[cols]


def _routine_spec(rules) -> list[tuple[str, str, str, float]]:
    spec = [(f"{r.name}(应完成)", "m", f"_r_due_{r.id}", 1.0) for r in rules]
    spec += [
        ("到期任务合计", "m", "_r_due", 1.0),
        ("按时完成", "m", "_r_on_time", 1.0),
        ("逾期完成", "m", "_r_late", 1.0),
        ("未完成", "m", "_r_open", 1.0),
        ("常态化工作完成率(%)", "i", "routine_completion_rate", 1.0),
        ("逾期任务数(含结转)", "m", "tasks_overdue", 1.0),
    ]
    return spec
