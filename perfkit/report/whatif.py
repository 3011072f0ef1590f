"""The what-if report (``notebooks/whatif.ipynb``, 方案对比) for headquarters: a month under two
parameter versions (:mod:`perfkit.month.compare`) — the summary, the grade and star distributions
before and after, the movers ranked by |Δ composite|, the pay bill by branch, and which parameter
values differ. Every section is plain report markup (no kernel needed in the exported HTML)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfkit.data.store import StoreLike, default_db
from perfkit.month.compare import PAY, PAY_LABELS, Comparison, compare
from perfkit.report import charts
from perfkit.report.widgets import Html, Page, format_cell, table_html, text

MOVERS_SHOWN = 200


class WhatIfReport:
    """``month`` under ``base`` (a parameters folder or ``published[:vN]``) and ``params``."""

    def __init__(self, month: str, base: str | Path, params: str | Path, *,
                 db: StoreLike | None = None, level: str = "employee") -> None:
        self.db = default_db() if db is None else db
        self.comparison: Comparison = compare(self.db, month, base, params, level=level)
        self.month = self.comparison.month

    def summary(self) -> Page:
        c = self.comparison
        if c.no_difference:
            return text("两个方案的参数与结果完全相同：无差异。")
        rows = [("对比", f"{c.base.label} → {c.new.label}"), ("月份", c.month),
                ("对象", "员工" if c.level == "employee" else "营业部"),
                ("参数差异", f"{len(c.params_diff)} 项"), ("参评对象", f"{len(c.frame)} 个")]
        labels = {"grade": "等级变化", "stars": "星级变化", "level decision": "职级建议变化",
                  "pay": "薪酬变化"}
        rows += [(labels.get(k, k), f"{v} 人") for k, v in c.changed.items()]
        if not c.pay_by_branch.empty:
            t = c.pay_by_branch.iloc[-1]
            rows.append(("薪酬总额", f"{t['total_pay_base']:,.2f} → {t['total_pay_new']:,.2f} 元"
                                   f"（{t['total_pay_delta']:+,.2f} 元）"))
        return table_html(pd.DataFrame(rows, columns=["项目", "内容"]))

    def distributions(self) -> Page:
        """Grade and star counts, base beside new: two bar charts and their tables."""
        import matplotlib.pyplot as plt

        c = self.comparison
        charts.setup()
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        for ax, (title, df) in zip(axes, (("等级分布", c.grades), ("星级分布", c.stars)),
                                   strict=True):
            labels = [str(v) + ("星" if title == "星级分布" else "") for v in df["value"]]
            x = range(len(labels))
            ax.bar([i - 0.2 for i in x], df["base"], width=0.4, label="原方案")
            ax.bar([i + 0.2 for i in x], df["new"], width=0.4, label="新方案")
            ax.set_xticks(list(x), labels)
            ax.set_title(title)
            ax.legend(fontsize=8)
        fig.tight_layout()
        tables = "".join(table_html(df.rename(columns={"value": name, "base": "原方案", "new": "新方案",
                                                       "delta": "变化"}))
                         for name, df in (("等级", c.grades), ("星级", c.stars)))
        return Html(charts.chart_html(fig) + tables)

    def movers(self) -> Page:
        """Entities whose composite, grade, stars or level decision moved, largest |Δ| first,
        with the indicators that moved them most."""
        c = self.comparison
        m = c.movers
        if m.empty:
            return text("没有对象的综合得分、等级、星级或职级建议发生变化。")
        attr = m[c.attribution]
        top = attr.abs().idxmax(axis=1, skipna=True).where(attr.abs().max(axis=1) > 1e-9)
        df = pd.DataFrame({
            "对象": m["entity_name"], "编号": m["entity_id"], "上级": m["parent_id"],
            "原得分": m["composite_base"], "新得分": m["composite_new"], "变化": m["composite_delta"],
            "等级": [f"{a} → {b}" if a != b else str(a)
                     for a, b in zip(m["grade_base"], m["grade_new"], strict=True)],
            "星级": [f"{a:.0f} → {b:.0f}" if a != b else f"{a:.0f}" if pd.notna(a) else "—"
                     for a, b in zip(m["stars_base"], m["stars_new"], strict=True)],
            "主要原因": [self._reason(r, k) for r, k in zip(attr.itertuples(index=False), top,
                                                         strict=True)],
        })
        if c.level == "employee":
            df["职级建议"] = m["level_decision_delta"].replace("", "不变")
            df["薪酬变化"] = m["total_pay_delta"]
        return table_html(df, formats={"原得分": ".1f", "新得分": ".1f", "变化": "+.2f",
                                       "薪酬变化": "+,.2f"}, max_rows=MOVERS_SHOWN)

    def _reason(self, row: tuple, key: object) -> str:
        if not isinstance(key, str):
            return "—"
        value = row[self.comparison.attribution.index(key)]
        name = self.comparison.names.get(key, key.removeprefix("attr_"))
        return f"{name} {format_cell(value, '+.2f')}"

    def pay(self) -> Page:
        c = self.comparison
        if c.pay_by_branch.empty:
            return text("营业部对比不含薪酬（薪酬按员工计算）。")
        p = c.pay_by_branch
        df = pd.DataFrame({"营业部": p["branch_id"]})
        for fig in PAY:
            df[f"{PAY_LABELS[fig]}（原）"] = p[f"{fig}_base"]
            df[f"{PAY_LABELS[fig]}（新）"] = p[f"{fig}_new"]
            df[f"{PAY_LABELS[fig]}变化"] = p[f"{fig}_delta"]
        fmt = {col: ",.2f" for col in df.columns if col != "营业部"}
        return table_html(df, formats=fmt)

    def parameters(self) -> Page:
        d = self.comparison.params_diff
        if d.empty:
            return text("两个方案的参数文件相同。" if self.comparison.base.params else
                        "已发布版本的参数文件夹已不存在：无法列出参数差异。")
        return table_html(d.rename(columns={"file": "文件", "field": "字段", "base": "原方案",
                                            "new": "新方案"}))


__all__ = ["WhatIfReport"]
