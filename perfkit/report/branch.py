"""部门绩效 + 员工管理 (a branch report): the branch beside the company, drilling into its employees;
their scorecards, indicators, open tasks, appraisal figures, level review and pay."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfkit.appraisal.options import load_appraisal
from perfkit.errors import RequestError
from perfkit.report import appraisal_sections
from perfkit.report.base import Report, require_rows
from perfkit.report.dataview import shared_tables
from perfkit.report.levels_pay import (
    condition_table,
    level_cycle_note,
    level_line,
    level_table,
    pay_formulas,
    pay_summary,
)
from perfkit.report.sections import (
    employee_scorecards,
    indicator_summary,
    points_table,
    ranking_options,
    score_line,
    task_tables,
)
from perfkit.report.widgets import (
    Html,
    Page,
    as_widget,
    csv_download,
    drilldown,
    table_html,
    tabs,
    text,
)


@dataclass
class BranchReport(Report):
    """部门绩效 + 员工管理: the branch beside the company; drill into the branch's employees."""

    branch_id: str = ""

    def _reader(self) -> dict[str, str]:
        return {"branch": self.branch_id}  # its own rows and its employees'

    def __post_init__(self) -> None:
        super().__post_init__()
        d, b = self.data, self.branch_id
        self.branch = d.indicators("branch", entity=b)
        require_rows(self.branch, f"branch {b} in {self.month}")
        self.name = str(self.branch["entity_name"].iloc[0])
        self.company = d.indicators("company")
        self.employees = d.indicators("employee", branch=b)
        self.scores, self.breakdown = d.scorecard("employee", entity=b)
        self.tasks = d.tasks("branch", entity=b)
        self.stat = d.stat_tables("branch", entity=b)


    def indicators(self) -> Page:
        """Per family: branch vs company; blue names → the branch's employees ascending + chart
        (the rankings are views of one data set: each employee is named once)."""
        fams = [(label, self.branch[self.branch["family"] == fam],
                 self.company[self.company["family"] == fam])
                for fam, label in self.catalog.families.items()]
        options = ranking_options([rows for _, rows, _ in fams], self.employees, self.catalog,
                                  entity_label="员工", whose="本营业部员工",
                                  parent_label="本营业部", mean_label="本营业部人均")
        pages = {}
        for (label, rows, comp), opts in zip(fams, options, strict=True):
            summary = indicator_summary(rows, compare=comp, compare_label="全公司")
            summary = summary.rename(columns={"本月": "本营业部"})
            pages[label] = [table_html(summary),
                            text("点击指标名称查看本营业部员工情况：", css_class="perfkit-note"),
                            drilldown(opts, kind="links")]
        return tabs(pages)

    def scorecards(self) -> Page:
        return table_html(employee_scorecards(self.scores, self.catalog))

    def employee_pages(self) -> Page:
        """员工管理: pick an employee → his score, indicators with points, and his open tasks (the
        tables of all employees are views of two data sets, drawn when shown)."""
        ordered = self.scores.sort_values(["parent_id", "entity_id"])
        # every employee's points in one merge, split below; his open tasks likewise
        everyone = points_table(self.employees, self.breakdown).set_axis(
            list(zip(self.employees["entity_id"], self.employees["indicator_id"], strict=True)))
        by_emp = self.employees.groupby("entity_id", sort=False).indices
        open_ = self.tasks[self.tasks["status"] == "未完成"]
        open_by = open_.groupby("employee_id", sort=False).indices
        points, todos = [], []
        for s in ordered.itertuples():
            points.append(everyone.iloc[by_emp.get(s.entity_id, [])])
            todos.append(open_.iloc[open_by.get(s.entity_id, [])])
        point_views = shared_tables(points)
        todo_views = task_tables(todos)
        options = [(f"{s.entity_name}（{s.entity_id}）", [
            text(score_line(s), css_class="perfkit-score"), Html(point_views[i]),
            text(f"未完成任务 {len(todos[i])} 项", tag="h4"), todo_views[i],
        ]) for i, s in enumerate(ordered.itertuples())]
        return drilldown(options, kind="dropdown", description="员工")

    def tables(self) -> Page:
        return tabs({name: table_html(df) for name, df in self.stat.items()})

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data of the branch's own employees (no client rows)."""
        return appraisal_sections.branch_frames(self.data, self.branch_id, load_appraisal(self.params))

    def appraisal(self) -> Page:
        """考核方法 per employee: ability, deductions and bonus (with the incidents), risk-adjusted
        figures with the action level, clients by RFM class."""
        spec = load_appraisal(self.params)
        data = appraisal_sections.branch_frames(self.data, self.branch_id, spec)
        return appraisal_sections.branch_section(spec, data["staff"], data)

    # ── 职级评定与薪酬 (issue 8): this branch's employees only ──

    def level_changes(self) -> Page:
        """The branch's employees: level, recommendation and reason; pick one → every condition."""
        try:
            summary, cond = self.data.levels(
                entity=self.branch_id, composite=self.scores.set_index("entity_id")["composite"])
        except RequestError:  # no 客户经理 to review in this branch
            return text("本营业部本月无参加职级评定的员工。", css_class="perfkit-note")
        table_ = level_table(summary)
        conditions = [condition_table(cond[cond["employee_id"] == r.employee_id])
                      for r in summary.itertuples()]
        views = shared_tables(conditions)  # one data set, drawn when an employee is picked
        options = [(f"{r.employee_name}（{r.employee_id}）",
                    [text(level_line(r), css_class="perfkit-score"), Html(views[i])])
                   for i, r in enumerate(summary.itertuples())]
        return as_widget([
            text(level_cycle_note(self.month, summary), css_class="perfkit-note"),
            table_html(table_), csv_download(table_, f"职级评定_{self.branch_id}_{self.month}.csv"),
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
        formulas = [pay_formulas(r).set_axis([(r.employee_id, i) for i in range(5)])
                    for r in df.itertuples()]
        views = shared_tables(formulas)  # one data set, drawn when an employee is picked
        options = [(f"{r.employee_name}（{r.employee_id}）", Html(views[i]))
                   for i, r in enumerate(df.itertuples())]
        return as_widget([
            table_html(out), csv_download(out, f"绩效工资_{self.branch_id}_{self.month}.csv"),
            text("选择员工查看计算公式：", css_class="perfkit-note"),
            drilldown(options, kind="dropdown", description="员工"),
        ])
