"""The three role views (总部 / 营业部 / 员工) as widgets, for the notebooks in ``notebooks/``.

Each report class loads its data once (through the public API: indicators, scores, breakdown, tasks,
stat_tables — or its own slice of a month snapshot, :mod:`perfkit.month.sources`, in the batch) and offers
one method per section; a notebook displays them in order. Every drill-down
is pre-computed and switched in the browser (:func:`perfkit.widgets.drilldown`), so the exported HTML
needs no kernel. Scoping is a security rule and lives here: a report only loads what its role may see
(the company report knows branches, never employees — except in the change list of a revised
published month, which shows headquarters every changed figure; a branch report knows its own
employees and the company aggregate; an employee report knows only that employee and his clients,
masked).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit import appraisal_views, charts
from perfkit.appraisal.options import load_appraisal
from perfkit.charts import DASH, format_number
from perfkit.data.store import StoreLike, default_db
from perfkit.errors import RequestError
from perfkit.metrics.catalog import Catalog, find_params, load_catalog
from perfkit.metrics.tasks import rows_behind
from perfkit.month.sources import source
from perfkit.widgets import Html, Page, as_widget, csv_download, drilldown, tabs, text
from perfkit.widgets import table as table_widget

log = logging.getLogger(__name__)

#: decimals shown per unit
DECIMALS = {"户": 0, "次": 0, "项": 0, "元": 0, "万元": 2, "%": 1, "分": 2}
STAR = "★"
#: task lists show open work first, and at most this many rows (the heading gives the full count)
STATUS_ORDER = ("未完成", "进行中", "逾期完成", "已完成")
TASK_ROWS_SHOWN = 150
TASK_COLUMNS = {
    "rule_name": "任务",
    "client_id": "客户号",
    "client_name": "客户姓名",
    "phone": "手机号",
    "created_on": "生成日期",
    "due_on": "应完成日期",
    "done_on": "完成日期",
    "status": "状态",
}


# ── formatting ──────────────────────────────────────────────────────────────────────────────────


def fmt_value(value: Any, unit: str, *, sign: bool = False, with_unit: bool = True) -> str:
    """A value as a manager reads it: "82.3%", "1,234.56 万元", "228 户", "—" when missing."""
    text_ = format_number(value, DECIMALS.get(unit, 2), sign=sign)
    if text_ == DASH or not with_unit:
        return text_
    return text_ + ("%" if unit == "%" else f" {unit}")


def attainment(value: float, target: float, higher_is_better: bool) -> float:
    """value ÷ target (target ÷ value when lower is better); NaN when either is missing or zero."""
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (value, target)):
        return math.nan
    if higher_is_better:
        return value / target if target else math.nan
    if value == 0:
        return math.nan if target == 0 else math.inf
    return target / value


def stars(n: Any) -> str:
    try:
        k = int(n)
    except (TypeError, ValueError):
        return DASH
    return STAR * k + "☆" * (5 - k)


def _pct(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "达标"
    return format_number(x, 1, percent=True)


# ── shared pieces ───────────────────────────────────────────────────────────────────────────────


def indicator_summary(rows: pd.DataFrame, *, compare: pd.DataFrame | None = None,
                      compare_label: str = "全公司") -> pd.DataFrame:
    """The month's value of each indicator with last month, change, target and attainment."""
    out = pd.DataFrame({
        "指标": rows["name"].to_numpy(),
        "本月": [fmt_value(v, u) for v, u in zip(rows["value"], rows["unit"], strict=True)],
    })
    if compare is not None:
        other = compare.set_index("indicator_id")["value"]
        out[compare_label] = [fmt_value(other.get(i), u)
                              for i, u in zip(rows["indicator_id"], rows["unit"], strict=True)]
    out["上月"] = [fmt_value(v, u) for v, u in zip(rows["prev_value"], rows["unit"], strict=True)]
    out["变化"] = [fmt_value(v, u, sign=True, with_unit=False)
                 for v, u in zip(rows["change"], rows["unit"], strict=True)]
    out["目标"] = [fmt_value(v, u) for v, u in zip(rows["target"], rows["unit"], strict=True)]
    out["完成率"] = [_pct(attainment(v, t, h)) for v, t, h in
                  zip(rows["value"], rows["target"], rows["higher_is_better"], strict=True)]
    return out


def ranking(rows: pd.DataFrame, unit: str, entity_label: str) -> pd.DataFrame:
    """Entities of one indicator in ascending order of value (missing last), as shown in drill-downs."""
    rows = rows.sort_values(["rank", "entity_id"], na_position="last")
    return pd.DataFrame({
        "排名": [format_number(x, 0) for x in rows["rank"]],  # "1", not "1.00" (NaN ranks → —)
        entity_label: rows["entity_name"].to_numpy(),
        "本月": [fmt_value(v, unit) for v in rows["value"]],
        "分子": [format_number(v, 2 if unit in ("万元", "分") else 0) for v in rows["numerator"]],
        "分母": [format_number(v, 0) for v in rows["denominator"]],
        "上月": [fmt_value(v, unit) for v in rows["prev_value"]],
        "变化": [fmt_value(v, unit, sign=True, with_unit=False) for v in rows["change"]],
    })


def ranking_chart(rows: pd.DataFrame, unit: str, title: str, ref_value: float,
                  ref_label: str) -> Page:
    """Horizontal bars of the entities, ascending top to bottom, with a reference line."""
    rows = rows.sort_values(["rank", "entity_id"], na_position="last")
    svg = charts.bars_svg(list(zip(rows["entity_name"].astype(str), rows["value"], strict=True)),
                          title=f"{title}（{unit}）", decimals=DECIMALS.get(unit, 2),
                          suffix="%" if unit == "%" else "", ref=ref_value, ref_label=ref_label)
    return Html(f'<div class="perfkit-chart">{svg}</div>')


def trend_chart(history: list[tuple[str, float]], unit: str, title: str,
                target: float | None = None) -> Page:
    """The indicator's monthly values (12 months by default), with the target when there is one."""
    svg = charts.trend_svg(history, title=f"{title}（{unit}）", decimals=DECIMALS.get(unit, 2),
                           suffix="%" if unit == "%" else f" {unit}", target=target)
    return Html(f'<div class="perfkit-chart">{svg}</div>')


def indicator_notes(catalog: Catalog) -> Page:
    """指标说明: every indicator's family, unit, direction and 统计项说明."""
    rows = pd.DataFrame({
        "类别": [catalog.families.get(i.family, i.family) for i in catalog.indicators],
        "指标": [i.name for i in catalog.indicators],
        "单位": [i.unit for i in catalog.indicators],
        "方向": ["越高越好" if i.higher_is_better else "越低越好" for i in catalog.indicators],
        "统计项说明": [i.description for i in catalog.indicators],
    })
    return table_widget(rows, css_class="perfkit-notes")


def task_notes(catalog: Catalog) -> Page:
    """任务说明: each task rule, its time limit, what it counts and the indicators it backs."""
    rules = catalog.tasks.rules if catalog.tasks else ()
    backs = catalog.indicators_by_rule()
    rows = pd.DataFrame({
        "任务": [r.name for r in rules],
        "时限": [f"{r.days} 天" if r.days is not None else
               (f"有效期 {r.validity_months} 个月" if r.validity_months else DASH) for r in rules],
        "对应指标": ["、".join(i.name for i in backs[r.id]) or DASH for r in rules],
        "任务规则说明": [r.description for r in rules],  # last: the long column wraps
    })
    return table_widget(rows, css_class="perfkit-notes")


def task_table(df: pd.DataFrame, *, max_rows: int | None = TASK_ROWS_SHOWN) -> Page:
    """A (masked) task list with Chinese headers: open tasks first (未完成, 进行中, then 逾期完成,
    已完成), each by due date. At most ``max_rows`` rows are listed; a note gives the number left
    out (the heading above states the full count)."""
    order = df["status"].map({s: i for i, s in enumerate(STATUS_ORDER)}).fillna(len(STATUS_ORDER))
    df = df.assign(_order=order).sort_values(["_order", "due_on", "client_id"])
    out = df[list(TASK_COLUMNS)].rename(columns=TASK_COLUMNS)
    for col in ("生成日期", "应完成日期", "完成日期"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").fillna(DASH)
    return table_widget(out, max_rows=max_rows)


def _check_month_rows(rows: pd.DataFrame, what: str) -> None:
    if rows.empty:
        raise RequestError(f"no data for {what}")


# ── the reports ─────────────────────────────────────────────────────────────────────────────────


@dataclass
class _Report:
    month: str
    db: StoreLike | None = None
    params: str | Path | None = None
    #: a month snapshot folder (:mod:`perfkit.month.sources`) to read this report's slice from; None:
    #: ``$PERFKIT_SNAPSHOT`` when set, else everything is computed from the store
    snapshot: str | Path | None = field(default=None, kw_only=True)
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        if self.db is None:
            self.db = default_db()
        self.params = find_params(self.params)
        self.catalog = load_catalog(self.params)
        self.data = source(self.db, self.month, self.params, self.snapshot)

    def indicator_notes(self) -> Page:
        return indicator_notes(self.catalog)

    def publication(self) -> Page:
        """发布状态: the published version this report shows ("已发布 v1 · … 由 … 发布"); for a
        revision ("修订版 v2") its reason and what changed against the previous version — only
        the rows this report's reader may see."""
        return publication_note(self.db, self.month, self.data.publication, **self._reader())

    def _reader(self) -> dict[str, str]:
        """Whose rows of the published changes this report may show (company: all)."""
        return {}

    def task_notes(self) -> Page:
        return task_notes(self.catalog)


@dataclass
class CompanyReport(_Report):
    """总部绩效: the company value of every indicator; drill into branches."""

    def __post_init__(self) -> None:
        super().__post_init__()
        d = self.data
        self.company = d.indicators("company")
        self.branches = d.indicators("branch")
        self.scores = d.scores("branch")
        self.stat = d.stat_tables("company")


    def indicators(self) -> Page:
        """Per family: the company summary, then blue indicator names → branches ascending + chart."""
        pages = {}
        for fam, label in self.catalog.families.items():
            rows = self.company[self.company["family"] == fam]
            options = []
            for r in rows.itertuples():
                br = self.branches[self.branches["indicator_id"] == r.indicator_id]
                options.append((r.name, [
                    text(f"{r.name}：各营业部本月值（升序），虚线为全公司值", tag="h4"),
                    table_widget(ranking(br, r.unit, "营业部")),
                    ranking_chart(br, r.unit, r.name, r.value, "全公司"),
                ]))
            pages[label] = [table_widget(indicator_summary(rows)),
                            text("点击指标名称查看各营业部情况：", css_class="perfkit-note"),
                            drilldown(options, kind="links")]
        return tabs(pages)

    def scorecards(self) -> Page:
        """Branch scorecards: composite, grade, stars and family scores, best first."""
        s = self.scores.sort_values(["rank", "entity_id"])
        fam_cols = {f"score_{k}": f"{v}得分" for k, v in self.catalog.families.items()
                    if f"score_{k}" in s.columns}
        out = pd.DataFrame({"排名": s["rank"].to_numpy(), "营业部": s["entity_name"].to_numpy(),
                            "综合得分": s["composite"].round(1).to_numpy()})
        for col, label in fam_cols.items():
            out[label] = s[col].round(1).to_numpy()
        out["等级"] = s["grade"].to_numpy()
        out["星级"] = [stars(x) for x in s["stars"]]
        out["较上月"] = [format_number(x, 1, sign=True) for x in s["change"]]
        return table_widget(out)

    def trends(self) -> Page:
        options = [(r.name, trend_chart(r.history, r.unit, r.name, r.target))
                   for r in self.company.itertuples()]
        return drilldown(options, kind="dropdown", description="指标")

    def tables(self) -> Page:
        return tabs({name: table_widget(df) for name, df in self.stat.items()})

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data: branch-level frames only (see :mod:`perfkit.appraisal_views`)."""
        return appraisal_views.company_frames(self.data, load_appraisal(self.params))

    def appraisal(self) -> Page:
        """考核方法: per branch, its employees' action levels and its clients by RFM class."""
        spec = load_appraisal(self.params)
        data = appraisal_views.company_frames(self.data, spec)
        names = dict(zip(self.scores["entity_id"], self.scores["entity_name"], strict=True))
        return appraisal_views.company_section(spec, data.get("advisor_branch", pd.DataFrame()),
                                               data.get("rfm_branch", pd.DataFrame()), names)

    # ── 职级评定 (issue 8): counts by branch and region class, never employee rows ──

    def level_summary(self) -> Page:
        """Recommended level changes (晋级 / 降级 / 试用期未达标 …) counted by branch and by region class."""
        summary, _ = self.data.levels(conditions=False)
        by_branch, by_class = level_counts(summary)   # only counts leave this method
        return as_widget([
            text(level_cycle_note(self.month, summary), css_class="perfkit-note"),
            text("按营业部", tag="h4"), table_widget(by_branch),
            csv_download(by_branch, f"职级评定_按营业部_{self.month}.csv"),
            text("按地区类别", tag="h4"), table_widget(by_class),
            csv_download(by_class, f"职级评定_按地区类别_{self.month}.csv"),
        ])


@dataclass
class BranchReport(_Report):
    """部门绩效 + 员工管理: the branch beside the company; drill into the branch's employees."""

    branch_id: str = ""

    def _reader(self) -> dict[str, str]:
        return {"branch": self.branch_id}  # its own rows and its employees'

    def __post_init__(self) -> None:
        super().__post_init__()
        d, b = self.data, self.branch_id
        self.branch = d.indicators("branch", entity=b)
        _check_month_rows(self.branch, f"branch {b} in {self.month}")
        self.name = str(self.branch["entity_name"].iloc[0])
        self.company = d.indicators("company")
        self.employees = d.indicators("employee", branch=b)
        self.scores, self.breakdown = d.scorecard("employee", entity=b)
        self.tasks = d.tasks("branch", entity=b)
        self.stat = d.stat_tables("branch", entity=b)


    def indicators(self) -> Page:
        """Per family: branch vs company; blue names → the branch's employees ascending + chart."""
        pages = {}
        for fam, label in self.catalog.families.items():
            rows = self.branch[self.branch["family"] == fam]
            comp = self.company[self.company["family"] == fam]
            options = []
            for r in rows.itertuples():
                emp = self.employees[self.employees["indicator_id"] == r.indicator_id]
                options.append((r.name, [
                    text(f"{r.name}：本营业部员工本月值（升序），虚线为本营业部值", tag="h4"),
                    table_widget(ranking(emp, r.unit, "员工")),
                    ranking_chart(emp, r.unit, r.name, r.value, "本营业部"),
                ]))
            summary = indicator_summary(rows, compare=comp, compare_label="全公司")
            summary = summary.rename(columns={"本月": "本营业部"})
            pages[label] = [table_widget(summary),
                            text("点击指标名称查看本营业部员工情况：", css_class="perfkit-note"),
                            drilldown(options, kind="links")]
        return tabs(pages)

    def scorecards(self) -> Page:
        return table_widget(employee_scorecards(self.scores, self.catalog))

    def employee_pages(self) -> Page:
        """员工管理: pick an employee → his score, indicators with points, and his open tasks."""
        options = []
        ordered = self.scores.sort_values(["parent_id", "entity_id"])
        for s in ordered.itertuples():
            bd = self.breakdown[self.breakdown["entity_id"] == s.entity_id]
            ind = self.employees[self.employees["entity_id"] == s.entity_id]
            todo = self.tasks[(self.tasks["employee_id"] == s.entity_id)
                              & (self.tasks["status"] == "未完成")]
            options.append((f"{s.entity_name}（{s.entity_id}）", [
                text(score_line(s), css_class="perfkit-score"),
                table_widget(points_table(ind, bd)),
                text(f"未完成任务 {len(todo)} 项", tag="h4"),
                task_table(todo),
            ]))
        return drilldown(options, kind="dropdown", description="员工")

    def tables(self) -> Page:
        return tabs({name: table_widget(df) for name, df in self.stat.items()})

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data of the branch's own employees (no client rows)."""
        return appraisal_views.branch_frames(self.data, self.branch_id, load_appraisal(self.params))

    def appraisal(self) -> Page:
        """考核方法 per employee: ability, deductions and bonus (with the incidents), risk-adjusted
        figures with the action level, clients by RFM class."""
        spec = load_appraisal(self.params)
        data = appraisal_views.branch_frames(self.data, self.branch_id, spec)
        return appraisal_views.branch_section(spec, data["staff"], data)

    # ── 职级评定与薪酬 (issue 8): this branch's employees only ──

    def level_changes(self) -> Page:
        """The branch's employees: level, recommendation and reason; pick one → every condition."""
        try:
            summary, cond = self.data.levels(
                entity=self.branch_id, composite=self.scores.set_index("entity_id")["composite"])
        except RequestError:  # no 客户经理 to review in this branch
            return text("本营业部本月无参加职级评定的员工。", css_class="perfkit-note")
        table_ = level_table(summary)
        options = [(f"{r.employee_name}（{r.employee_id}）",
                    [text(level_line(r), css_class="perfkit-score"),
                     table_widget(condition_table(cond[cond["employee_id"] == r.employee_id]))])
                   for r in summary.itertuples()]
        return as_widget([
            text(level_cycle_note(self.month, summary), css_class="perfkit-note"),
            table_widget(table_), csv_download(table_, f"职级评定_{self.branch_id}_{self.month}.csv"),
            text("选择员工查看各项条件：", css_class="perfkit-note"),
            drilldown(options, kind="dropdown", description="员工"),
        ])

    def pay_table(self) -> Page:
        """The branch's employees: 绩效工资, 提成工资, 奖金 and total; pick one → the formulas."""
        comp = self.scores.set_index("entity_id")["composite"]
        try:
            df = self.data.pay(entity=self.branch_id, composite=comp)
        except RequestError:  # nobody paid by these rules in this branch
            return text("本营业部本月无适用本办法的员工。", css_class="perfkit-note")
        out = pay_summary(df)
        options = [(f"{r.employee_name}（{r.employee_id}）", table_widget(pay_formulas(r)))
                   for r in df.itertuples()]
        return as_widget([
            table_widget(out), csv_download(out, f"绩效工资_{self.branch_id}_{self.month}.csv"),
            text("选择员工查看计算公式：", css_class="perfkit-note"),
            drilldown(options, kind="dropdown", description="员工"),
        ])


@dataclass
class EmployeeReport(_Report):
    """员工绩效: own indicators, targets, points, trend, grade and stars; the tasks behind each value."""

    employee_id: str = ""

    def _reader(self) -> dict[str, str]:
        return {"employee": self.employee_id}  # his own rows only

    def __post_init__(self) -> None:
        super().__post_init__()
        d, e = self.data, self.employee_id
        self.rows = d.indicators("employee", entity=e)
        _check_month_rows(self.rows, f"employee {e} in {self.month}")
        self.name = str(self.rows["entity_name"].iloc[0])
        self.score, self.breakdown = d.scorecard("employee", entity=e)
        self.tasks = d.tasks("employee", entity=e)


    def summary(self) -> Page:
        if self.score.empty:
            return text("本月无评分", css_class="perfkit-score")
        return text(score_line(next(self.score.itertuples())), css_class="perfkit-score")

    def indicators(self) -> Page:
        """Per family: own values with targets and points; blue names → trend and task list."""
        pages = {}
        for fam, label in self.catalog.families.items():
            rows = self.rows[self.rows["family"] == fam]
            options = []
            for r in rows.itertuples():
                page: list[Any] = [trend_chart(r.history, r.unit, r.name, r.target)]
                ind = self.catalog.indicator(r.indicator_id)
                if ind.task:
                    mine = rows_behind(self.tasks, ind)
                    page += [text(f"{r.name}对应任务 {len(mine)} 项", tag="h4"), task_table(mine)]
                else:
                    page.append(text("该指标无对应任务。", css_class="perfkit-note"))
                options.append((r.name, page))
            pages[label] = [table_widget(points_table(rows, self.breakdown)),
                            text("点击指标名称查看趋势与任务列表：", css_class="perfkit-note"),
                            drilldown(options, kind="links")]
        return tabs(pages)

    def movement(self) -> Page:
        """Why the score moved since last month: the change attributed to indicators."""
        return why_moved(self.score, self.breakdown)

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data of this employee only (his rows, his clients)."""
        return appraisal_views.employee_frames(self.data, self.employee_id,
                                               load_appraisal(self.params))

    def appraisal(self) -> Page:
        """考核方法: his ability score, deductions and bonus with the incidents behind them, his
        risk-adjusted figures with the action level, his clients by RFM class with the service."""
        from perfkit.appraisal.spec import load_scorecard

        spec = load_appraisal(self.params)
        d = appraisal_views.employee_frames(self.data, self.employee_id, spec)
        av = appraisal_views
        pages: dict[str, Page] = {}
        if spec.enabled("ability"):
            pages["ability"] = av.ability_page(d["ability"], d["ability_dimensions"])
        if spec.enabled("conduct"):
            floor = load_scorecard(self.params).deductions.floor
            pages["conduct"] = av.conduct_page(d["conduct"], d["incidents"], floor)
        if spec.enabled("advisor"):
            pages["advisor"] = av.advisor_page(d["advisor"])
        if spec.enabled("rfm"):
            pages["rfm"] = av.rfm_page(d["rfm_clients"], spec.rfm.services)
        return av.employee_section(spec, pages)

    # ── 职级评定与薪酬 (issue 8): this employee only ──

    def level_status(self) -> Page:
        """Current level, recommendation and every condition with value, threshold and met."""
        if self.data.publication is None and not self._reviewed():  # (published: as frozen)
            return text("本岗位不参加客户经理职级评定。", css_class="perfkit-note")
        try:
            summary, cond = self.data.levels(
                entity=self.employee_id, composite=self.score.set_index("entity_id")["composite"])
        except RequestError:  # another position, or left before the month's end
            if not self._reviewed():
                return text("本岗位不参加客户经理职级评定。", css_class="perfkit-note")
            return text("本月不参加职级评定（月末不在职）。", css_class="perfkit-note")
        r = next(summary.itertuples())
        table_ = condition_table(cond)
        return as_widget([
            text(level_line(r), css_class="perfkit-score"),
            text(level_cycle_note(self.month, summary), css_class="perfkit-note"),
            table_widget(table_), csv_download(table_, f"职级评定_{self.employee_id}_{self.month}.csv"),
        ])

    def pay_and_bonus(self) -> Page:
        """绩效工资, 提成工资 and 奖金 of the month, each with its formula and inputs."""
        from perfkit.appraisal.pay_rules import load_pay

        positions = load_pay(self.params).positions
        if self.data.publication is None and not self._paid(positions):
            return text("本岗位不适用本办法的绩效工资与奖金。", css_class="perfkit-note")
        comp = self.score.set_index("entity_id")["composite"]
        try:
            df = self.data.pay(entity=self.employee_id, composite=comp)
        except RequestError:  # another position, or no level on record
            if not self._paid(positions):
                return text("本岗位不适用本办法的绩效工资与奖金。", css_class="perfkit-note")
            return text("本月无职级记录，不计算绩效工资与奖金。", css_class="perfkit-note")
        r = next(df.itertuples())
        table_ = pay_formulas(r)
        parts: list[Any] = [table_widget(table_)]
        if r.demotion_flag:
            parts.append(text(f"提成工资已连续 {r.negative_months} 个月为负，按规定触发降一级提示。",
                              css_class="perfkit-note"))
        parts.append(csv_download(table_, f"绩效工资_{self.employee_id}_{self.month}.csv"))
        return as_widget(parts)

    def _reviewed(self) -> bool:
        from perfkit.appraisal.level_rules import load_levels

        return self._paid(load_levels(self.params).positions)

    def _paid(self, positions: tuple[str, ...]) -> bool:
        from perfkit.data.store import connect

        with connect(self.db) as con:
            row = con.execute("SELECT position FROM employees WHERE employee_id = ?",
                              [self.employee_id]).fetchone()
        return bool(row) and row[0] in positions


# ── employee score pieces (used by branch and employee reports) ────────────────────────────────


def score_line(s: Any) -> str:
    change = "" if pd.isna(s.change) else f"，较上月 {format_number(s.change, 1, sign=True)}"
    return (f"综合得分 {format_number(s.composite, 1)}（{s.grade}）{stars(s.stars)}"
            f"　同岗位排名 {s.rank}/{s.n_peers}{change}")


def points_table(rows: pd.DataFrame, bd: pd.DataFrame) -> pd.DataFrame:
    """Indicator values with target, score and points (weight × score) of one employee."""
    merged = rows.merge(bd[["entity_id", "indicator_id", "score", "weight", "points"]],
                        on=["entity_id", "indicator_id"], how="left")
    out = indicator_summary(merged)
    out["得分"] = [format_number(x, 1) for x in merged["score"]]
    out["权重"] = [format_number(x, 1, percent=True) for x in merged["weight"]]
    out["得分点数"] = [format_number(x, 2) for x in merged["points"]]
    return out


def employee_scorecards(s: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    s = s.sort_values(["composite", "entity_id"], ascending=[False, True])
    out = pd.DataFrame({"员工": s["entity_name"].to_numpy(), "岗位": s["peer_group"].to_numpy(),
                        "KPI得分": s["kpi_score"].round(1).to_numpy(),
                        "能力得分": s["ability_score"].round(1).to_numpy(),
                        "行为扣分": s["deduction_points"].to_numpy(),
                        "综合得分": s["composite"].round(1).to_numpy(),
                        "等级": s["grade"].to_numpy(),
                        "星级": [stars(x) for x in s["stars"]],
                        "较上月": [format_number(x, 1, sign=True) for x in s["change"]]})
    return out


def why_moved(score: pd.DataFrame, bd: pd.DataFrame) -> Page:
    if score.empty:
        return text("本月无评分", css_class="perfkit-note")
    s = next(score.itertuples())
    if pd.isna(s.change):
        return text("上月无评分，无法比较。", css_class="perfkit-note")
    moved = bd.dropna(subset=["attribution"])
    moved = moved.reindex(moved["attribution"].abs().sort_values(ascending=False).index)
    top = [f"{r.indicator_name} {format_number(r.attribution, 2, sign=True)} 分"
           for r in moved.head(3).itertuples() if abs(r.attribution) >= 0.005]
    line = (f"综合得分较上月 {format_number(s.change, 1, sign=True)} 分"
            f"（{format_number(s.prev_composite, 1)} → {format_number(s.composite, 1)}）。")
    if top:
        line += "KPI 变化主要来自：" + "、".join(top) + "。"
    out = pd.DataFrame({
        "指标": moved["indicator_name"].to_numpy(),
        "上月得分点数": [format_number(x, 2) for x in moved["prev_points"]],
        "本月得分点数": [format_number(x, 2) for x in moved["points"]],
        "变化": [format_number(x, 2, sign=True) for x in moved["attribution"]],
    })
    return as_widget([text(line), table_widget(out)])


# ── published months (perfkit publish) ─────────────────────────────────────────────────────────

CHANGES_SHOWN = 200


def publication_note(db: StoreLike, month: str, pub: Any, *, branch: str | None = None,
                     employee: str | None = None) -> Page:
    """Which version a report shows. Unpublished: a note that the figures are computed from the
    current data. A revision: its reason and the changed figures (entity, figure, old, new) of
    ``employee`` / ``branch`` (everything when neither is given)."""
    from perfkit.month.publish import changes

    if pub is None:
        return text(f"{month} 尚未发布：以下为按当前数据计算的结果，发布前可能变化。",
                    css_class="perfkit-note")
    parts: list[Any] = [text(pub.label, css_class="perfkit-score")]
    if pub.version == 1:
        parts.append(text(f"以下为 {month} 已发布的结果（发布后数据或参数的变化不影响本报告）。",
                          css_class="perfkit-note"))
        return as_widget(parts)
    parts.append(text(f"修订原因：{pub.reason}", css_class="perfkit-note"))
    ch = changes(db, month, pub.version, branch=branch, employee=employee)
    prev = f"v{pub.version - 1}"
    if ch.empty:
        parts.append(text(f"与 {prev} 相比，本报告范围内的数据没有变化。", css_class="perfkit-note"))
        return as_widget(parts)
    out = pd.DataFrame({
        "层级": ch["level"].to_numpy(),
        "对象": [f"{n}（{i}）" for n, i in zip(ch["entity_name"], ch["entity_id"], strict=True)],
        "项目": ch["figure"].to_numpy(),
        f"原值（{prev}）": ch["old_value"].fillna(DASH).to_numpy(),
        f"新值（v{pub.version}）": ch["new_value"].fillna(DASH).to_numpy(),
    })
    parts += [text(f"与 {prev} 相比的变化 {len(out)} 项", tag="h4"),
              table_widget(out, max_rows=CHANGES_SHOWN),
              csv_download(out, f"修订变化_v{pub.version}_{month}.csv")]
    return as_widget(parts)


# ── level review and pay pieces (issue 8) ──────────────────────────────────────────────────────

LEVEL_ACTIONS = ("晋级", "降级", "未达维持标准", "试用期未达标", "维持")


def level_cycle_note(month: str, summary: pd.DataFrame) -> str:
    """Whether the recommendations take effect this month or are a forecast."""
    if summary.empty:
        return "本月无参评人员。"
    if summary["review_month"].all():
        return f"{month} 为评定月，以下建议为本次评定结果。"
    nxt = sorted(set(summary.loc[~summary["review_month"], "next_review"]))
    return (f"{month} 非评定月（下次评定 {'、'.join(nxt[:3])}），以下建议为按截至本月数据的预估；"
            "试用期员工在试用期满当月评定。")


def level_line(r: Any) -> str:
    change = "" if r.recommended_level == r.level else f" → {r.recommended_level}"
    return (f"当前职级 {r.level}（自 {r.level_since} 起，在级 {r.months_at_level} 个月，{r.status}）"
            f"　建议：{r.recommendation}{change}。{r.reason}")


def level_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Employees with level and recommendation, changes first."""
    order = {a: i for i, a in enumerate(LEVEL_ACTIONS)}
    s = summary.assign(_o=summary["recommendation"].map(order)).sort_values(["_o", "employee_id"])
    return pd.DataFrame({
        "员工": s["employee_name"].to_numpy(), "员工编号": s["employee_id"].to_numpy(),
        "职级": s["level"].to_numpy(), "在级月数": s["months_at_level"].to_numpy(),
        "状态": s["status"].to_numpy(), "建议": s["recommendation"].to_numpy(),
        "建议职级": s["recommended_level"].to_numpy(), "下次评定": s["next_review"].to_numpy(),
        "原因": s["reason"].to_numpy(),
    })


def condition_table(cond: pd.DataFrame) -> pd.DataFrame:
    """Each condition of one employee with value, threshold and met."""
    return pd.DataFrame({
        "标准": (cond["check"] + "（" + cond["standard_level"] + "）").to_numpy(),
        "期间": cond["period"].to_numpy(), "条件": cond["condition"].to_numpy(),
        "实际值": cond["value_text"].to_numpy(), "门槛": cond["threshold_text"].to_numpy(),
        "是否达标": ["✓ 达标" if m else "✗ 未达标" for m in cond["met"]],
        "说明": cond["note"].to_numpy(),
    })


def level_counts(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by branch, by region class): reviewed employees and the count of each recommendation;
    branches in id order, region classes in their own order (一类, 二类, 三四类)."""
    from perfkit.data.schema import REGION_CLASSES

    summary = summary.assign(region_class=pd.Categorical(summary["region_class"], REGION_CLASSES))

    def count(keys: list[str], labels: list[str]) -> pd.DataFrame:
        g = summary.groupby(keys, sort=True, observed=True)
        out = g.size().rename("参评人数").to_frame()
        for a in LEVEL_ACTIONS:
            out[a] = g["recommendation"].apply(lambda x, a=a: int((x == a).sum()))
        out = out.reset_index()
        out["region_class"] = out["region_class"].astype(str)
        return out.drop(columns=[k for k in keys if k not in labels]).rename(columns=labels)

    return (count(["branch_id", "branch_name", "region_class"],
                  {"branch_name": "营业部", "region_class": "地区类别"}),
            count(["region_class"], {"region_class": "地区类别"}))


def pay_summary(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "员工": df["employee_name"].to_numpy(), "员工编号": df["employee_id"].to_numpy(),
        "职级": df["level"].to_numpy(),
        "综合得分": [format_number(x, 1) for x in df["composite"]],
        "绩效工资": [format_number(x, 2) for x in df["performance_pay"]],
        "提成工资": [format_number(x, 2) for x in df["commission_pay"]],
        "奖金": [format_number(x, 2) for x in df["bonus"]],
        "合计": [format_number(x, 2) for x in df["total_pay"]],
        "提成连续为负月数": df["negative_months"].to_numpy(),
        "降级提示": ["是" if f else "" for f in df["demotion_flag"]],
    })


def pay_formulas(r: Any) -> pd.DataFrame:
    """One employee's pay items with their formulas (元)."""
    return pd.DataFrame({
        "项目": ["绩效工资", "客户成本", "提成工资", "奖金", "合计"],
        "计算公式": [r.performance_formula, r.client_cost_formula, r.commission_formula, r.bonus_formula,
                 "绩效工资 + 提成工资 + 奖金"],
        "金额（元）": [format_number(x, 2) for x in
                    (r.performance_pay, r.client_cost, r.commission_pay, r.bonus, r.total_pay)],
    })
