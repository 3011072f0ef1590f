"""Report sections of the level review (职级评定) and pay (绩效工资与奖金): tables built from the
frames of :mod:`perfkit.appraisal.levels` and :mod:`perfkit.appraisal.pay`, already scoped by the
report (the company report gets counts only, never an employee row)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from perfkit.data.schema import REGION_CLASSES
from perfkit.formatting import format_number

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
