"""员工绩效 (an employee report): his own indicators, targets, points, trend, grade and stars, the
tasks behind each value, why his score moved, his appraisal figures, level review and pay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from perfkit.appraisal.level_rules import load_levels
from perfkit.appraisal.options import load_appraisal
from perfkit.appraisal.pay_rules import load_pay
from perfkit.appraisal.spec import load_scorecard
from perfkit.data.store import connect
from perfkit.errors import RequestError
from perfkit.metrics.tasks import rows_behind
from perfkit.report import appraisal_sections
from perfkit.report.base import Report, require_rows
from perfkit.report.levels_pay import (
    condition_table,
    level_cycle_note,
    level_line,
    pay_formulas,
)
from perfkit.report.sections import (
    points_table,
    score_line,
    task_tables,
    trend_chart,
    why_moved,
)
from perfkit.report.widgets import Page, as_widget, csv_download, drilldown, table_html, tabs, text


@dataclass
class EmployeeReport(Report):
    """员工绩效: own indicators, targets, points, trend, grade and stars; the tasks behind each value."""

    employee_id: str = ""
    _pos: tuple[str | None] | None = field(default=None, init=False, repr=False)

    def _reader(self) -> dict[str, str]:
        return {"employee": self.employee_id}  # his own rows only

    def __post_init__(self) -> None:
        super().__post_init__()
        d, e = self.data, self.employee_id
        self.rows = d.indicators("employee", entity=e)
        require_rows(self.rows, f"employee {e} in {self.month}")
        self.name = str(self.rows["entity_name"].iloc[0])
        self.score, self.breakdown = d.scorecard("employee", entity=e)
        self.tasks = d.tasks("employee", entity=e)


    def summary(self) -> Page:
        if self.score.empty:
            return text("本月无评分", css_class="perfkit-score")
        return text(score_line(next(self.score.itertuples())), css_class="perfkit-score")

    def indicators(self) -> Page:
        """Per family: own values with targets and points; blue names → trend and task list (the
        task lists are views of one data set: a task behind several indicators is sent once)."""
        fams = [(label, rows, list(rows.itertuples()))
                for fam, label in self.catalog.families.items()
                for rows in [self.rows[self.rows["family"] == fam]]]
        behind = {}
        for _, _, recs in fams:
            for r in recs:
                ind = self.catalog.indicator(r.indicator_id)
                if ind.task:
                    behind[r.indicator_id] = rows_behind(self.tasks, ind)
        tables = dict(zip(behind, task_tables(list(behind.values())), strict=True))
        points = points_table(self.rows, self.breakdown)  # one merge, split by family below
        pages = {}
        for label, rows, recs in fams:
            options = []
            for r in recs:
                page: list[Any] = [trend_chart(r.history, r.unit, r.name, r.target)]
                if r.indicator_id in behind:
                    page += [text(f"{r.name}对应任务 {len(behind[r.indicator_id])} 项", tag="h4"),
                             tables[r.indicator_id]]
                else:
                    page.append(text("该指标无对应任务。", css_class="perfkit-note"))
                options.append((r.name, page))
            pages[label] = [table_html(points[self.rows.index.isin(rows.index)]),
                            text("点击指标名称查看趋势与任务列表：", css_class="perfkit-note"),
                            drilldown(options, kind="links")]
        return tabs(pages)

    def movement(self) -> Page:
        """Why the score moved since last month: the change attributed to indicators."""
        return why_moved(self.score, self.breakdown)

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data of this employee only (his rows, his clients)."""
        frames = appraisal_sections.employee_frames(self.data, self.employee_id,
                                                    load_appraisal(self.params))
        self._frames = frames  # his position is in the ability frame (see _paid)
        return frames

    def appraisal(self) -> Page:
        """考核方法: his ability score, deductions and bonus with the incidents behind them, his
        risk-adjusted figures with the action level, his clients by RFM class with the service."""
        spec = load_appraisal(self.params)
        d = self.appraisal_data()
        av = appraisal_sections
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
            table_html(table_), csv_download(table_, f"职级评定_{self.employee_id}_{self.month}.csv"),
        ])

    def pay_and_bonus(self) -> Page:
        """绩效工资, 提成工资 and 奖金 of the month, each with its formula and inputs."""
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
        parts: list[Any] = [table_html(table_)]
        if r.demotion_flag:
            parts.append(text(f"提成工资已连续 {r.negative_months} 个月为负，按规定触发降一级提示。",
                              css_class="perfkit-note"))
        parts.append(csv_download(table_, f"绩效工资_{self.employee_id}_{self.month}.csv"))
        return as_widget(parts)

    def _reviewed(self) -> bool:
        return self._paid(load_levels(self.params).positions)

    def _paid(self, positions: tuple[str, ...]) -> bool:
        return self._position() in positions

    def _position(self) -> str | None:
        """His position: from the ability frame when the 考核方法 section has read it (no store
        query in a batch), else from the store."""
        if self._pos is None:
            ability = getattr(self, "_frames", {}).get("ability")
            if ability is not None and len(ability):
                self._pos = (str(ability["position"].iloc[0]),)
            else:
                with connect(self.db) as con:
                    row = con.execute("SELECT position FROM employees WHERE employee_id = ?",
                                      [self.employee_id]).fetchone()
                self._pos = (row[0] if row else None,)
        return self._pos[0]
