"""总部绩效 (the company report): the company value of every indicator, drilling into branches;
branch scorecards, 12-month trends, the statistical tables by branch, the appraisal methods and
the level review counted by branch — never an employee row."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from perfkit.appraisal.options import load_appraisal
from perfkit.formatting import format_number
from perfkit.report import appraisal_sections
from perfkit.report.base import Report
from perfkit.report.levels_pay import (
    level_counts,
    level_cycle_note,
)
from perfkit.report.sections import (
    indicator_summary,
    ranking_options,
    stars,
    trend_chart,
)
from perfkit.report.widgets import Page, as_widget, csv_download, drilldown, table_html, tabs, text


@dataclass
class CompanyReport(Report):
    """总部绩效: the company value of every indicator; drill into branches."""

    def __post_init__(self) -> None:
        super().__post_init__()
        d = self.data
        self.company = d.indicators("company")
        self.branches = d.indicators("branch")
        self.scores = d.scores("branch")
        self.stat = d.stat_tables("company")


    def indicators(self) -> Page:
        """Per family: the company summary, then blue indicator names → branches ascending + chart
        (the rankings of every indicator are views of one data set: each branch is named once)."""
        fams = [(label, self.company[self.company["family"] == fam])
                for fam, label in self.catalog.families.items()]
        options = ranking_options([rows for _, rows in fams], self.branches, self.catalog,
                                  entity_label="营业部", whose="各营业部", parent_label="全公司",
                                  mean_label="营业部平均")
        pages = {}
        for (label, rows), opts in zip(fams, options, strict=True):
            pages[label] = [table_html(indicator_summary(rows)),
                            text("点击指标名称查看各营业部情况：", css_class="perfkit-note"),
                            drilldown(opts, kind="links")]
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
        return table_html(out)

    def trends(self) -> Page:
        options = [(r.name, trend_chart(r.history, r.unit, r.name, r.target))
                   for r in self.company.itertuples()]
        return drilldown(options, kind="dropdown", description="指标")

    def tables(self) -> Page:
        return tabs({name: table_html(df) for name, df in self.stat.items()})

    def appraisal_data(self) -> dict[str, pd.DataFrame]:
        """考核方法 data: branch-level frames only (see :mod:`perfkit.report.appraisal_sections`)."""
        return appraisal_sections.company_frames(self.data, load_appraisal(self.params))

    def appraisal(self) -> Page:
        """考核方法: per branch, its employees' action levels and its clients by RFM class."""
        spec = load_appraisal(self.params)
        data = appraisal_sections.company_frames(self.data, spec)
        names = dict(zip(self.scores["entity_id"], self.scores["entity_name"], strict=True))
        return appraisal_sections.company_section(spec, data.get("advisor_branch", pd.DataFrame()),
                                               data.get("rfm_branch", pd.DataFrame()), names)

    # ── 职级评定 (issue 8): counts by branch and region class, never employee rows ──

    def level_summary(self) -> Page:
        """Recommended level changes (晋级 / 降级 / 试用期未达标 …) counted by branch and by region class."""
        summary, _ = self.data.levels(conditions=False)
        by_branch, by_class = level_counts(summary)   # only counts leave this method
        return as_widget([
            text(level_cycle_note(self.month, summary), css_class="perfkit-note"),
            text("按营业部", tag="h4"), table_html(by_branch),
            csv_download(by_branch, f"职级评定_按营业部_{self.month}.csv"),
            text("按地区类别", tag="h4"), table_html(by_class),
            csv_download(by_class, f"职级评定_按地区类别_{self.month}.csv"),
        ])
