"""Statistical tables on the tiny store: hand-computed cells, and totals equal to indicator values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from perfkit.errors import RequestError
from perfkit.metrics.indicators import indicators
from perfkit.metrics.tables import stat_tables

TITLES = ["潜在客户情况统计表", "现有客户情况统计表", "客户资料完成情况统计表", "流失客户情况统计表",
          "常态化工作情况统计表"]


def test_company_tables_one_row_per_branch_plus_total(tiny_store):
    t = stat_tables(tiny_store, "2026-10", "company")
    assert list(t) == TITLES
    for df in t.values():
        assert df["营业部编号"].tolist() == ["B01", "B02", "合计"]
    profile = t["客户资料完成情况统计表"].set_index("营业部编号")
    # B01: C02 lacks email, C05 lacks occupation and address
    assert profile.loc["B01", ["在册客户数", "资料完整客户数", "资料不全客户数", "缺职业", "缺联系地址",
                               "缺电子邮箱", "缺年收入区间"]].tolist() == [5, 3, 2, 1, 1, 1, 0]
    assert profile.loc["合计", "客户资料完整率(%)"] == pytest.approx(700 / 9)
    lost = t["流失客户情况统计表"].set_index("营业部编号")
    assert lost.loc["合计", ["流失客户数", "销户", "转托管", "资产流出", "近12个月流失客户数",
                            "已挽回客户数"]].tolist() == [2, 1, 0, 1, 3, 1]
    assert lost.loc["合计", "流失资产(万元)"] == pytest.approx(11.0)
    routine = t["常态化工作情况统计表"].set_index("营业部编号")
    assert routine.loc["B01", ["潜在客户跟进(应完成)", "到期任务合计", "按时完成", "逾期完成", "未完成"]
                       ].tolist() == [3, 6, 3, 2, 1]
    assert routine.loc["合计", "常态化工作完成率(%)"] == pytest.approx(75.0)
    assert routine.loc["合计", "逾期任务数(含结转)"] == 5


def test_branch_tables_list_its_employees(tiny_store):
    t = stat_tables(tiny_store, "2026-10", "branch", entity="B02")
    for df in t.values():
        assert df["员工编号"].tolist() == ["E3", "E4", "合计"]
        assert df["员工姓名"].tolist()[:2] == ["王芳", "刘洋"]
    ex = t["现有客户情况统计表"].set_index("员工编号")
    assert ex.loc["E4", "在册客户数"] == 0 and math.isnan(ex.loc["E4", "客户活跃率(%)"])


# header → indicator whose value the 合计 row must equal
TOTALS = {
    ("潜在客户情况统计表", "新增潜在客户数"): "leads_new",
    ("潜在客户情况统计表", "潜在客户开户数"): "leads_opened",
    ("潜在客户情况统计表", "潜在客户转化率(%)"): "lead_conversion_rate",
    ("潜在客户情况统计表", "潜在客户及时跟进率(%)"): "lead_followup_rate",
    ("现有客户情况统计表", "在册客户数"): "accounts_active",
    ("现有客户情况统计表", "有效客户数"): "effective_clients",
    ("现有客户情况统计表", "客户资产总额(万元)"): "client_assets",
    ("现有客户情况统计表", "资产净流入(万元)"): "net_inflow",
    ("现有客户情况统计表", "佣金收入(元)"): "commission",
    ("现有客户情况统计表", "客户活跃率(%)"): "active_rate",
    ("现有客户情况统计表", "客户资产收益率(%)"): "client_return",
    ("现有客户情况统计表", "新开户回访及时率(%)"): "callback_rate",
    ("客户资料完成情况统计表", "客户资料完整率(%)"): "profile_complete_rate",
    ("流失客户情况统计表", "流失客户数"): "lost_clients",
    ("流失客户情况统计表", "流失资产(万元)"): "lost_assets",
    ("流失客户情况统计表", "客户流失率(%)"): "churn_rate",
    ("流失客户情况统计表", "流失客户挽回率(%)"): "recall_rate",
    ("流失客户情况统计表", "流失客户及时联系率(%)"): "recall_contact_rate",
    ("常态化工作情况统计表", "常态化工作完成率(%)"): "routine_completion_rate",
    ("常态化工作情况统计表", "逾期任务数(含结转)"): "overdue_tasks",
}


@pytest.mark.parametrize("month", ["2026-09", "2026-10"])
@pytest.mark.parametrize("level,entity", [("company", None), ("branch", "B01"), ("branch", "B02")])
def test_totals_and_rows_equal_indicator_values(tiny_store, month, level, entity):
    t = stat_tables(tiny_store, month, level, entity=entity)
    if level == "company":
        total = indicators(tiny_store, month, "company").set_index("indicator_id")["value"]
        rows = indicators(tiny_store, month, "branch")
        key = "营业部编号"
    else:
        total = indicators(tiny_store, month, "branch", entity=entity).set_index("indicator_id")["value"]
        rows = indicators(tiny_store, month, "employee", branch=entity)
        key = "员工编号"
    by_row = rows.pivot(index="entity_id", columns="indicator_id", values="value")
    for (title, header), ind in TOTALS.items():
        df = t[title].set_index(key)
        got, want = df.loc["合计", header], total[ind]
        assert (pd.isna(got) and pd.isna(want)) or got == pytest.approx(want), (title, header)
        for rid in df.index.drop("合计"):
            g, w = df.loc[rid, header], by_row.loc[rid, ind]
            assert (pd.isna(g) and pd.isna(w)) or g == pytest.approx(w), (title, header, rid)


def test_errors(tiny_store):
    with pytest.raises(RequestError, match="level branch needs entity=<branch_id>"):
        stat_tables(tiny_store, "2026-10", "branch")
    with pytest.raises(RequestError, match=r"unknown branch 'B77'"):
        stat_tables(tiny_store, "2026-10", "branch", entity="B77")
    with pytest.raises(RequestError, match="not 'employee'"):
        stat_tables(tiny_store, "2026-10", "employee")
    with pytest.raises(RequestError, match=r"month 2025-01 is not in the data"):
        stat_tables(tiny_store, "2025-01", "company")
