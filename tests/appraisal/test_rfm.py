"""RFM client classes (seed 000 大投顾): table-driven mapping, thresholds, store frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perfkit.appraisal import rfm
from perfkit.appraisal.options import RFMSpec

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
SPEC = RFMSpec(return_high=0.01, trade_days_high=2, vip_assets=5_000_000, core_assets=500_000)


@pytest.mark.parametrize("ret, days, assets, r, f, m, cls, service", [
    # R↑F↑ 自主决策类 whatever the value
    (0.05, 5, 6_000_000, "高回报", "高周转", "VIP", "自主决策类", "综合性服务"),
    (0.01, 2, 100, "高回报", "高周转", "其它", "自主决策类", "综合性服务"),        # bounds inclusive
    # R↑F↓ and R↓F↑ 咨询依托类, each with its own service
    (0.05, 1.9, 500_000, "高回报", "低周转", "核心", "咨询依托类", "提高交易频率"),
    (0.0099, 8, 4_999_999, "低回报", "高周转", "核心", "咨询依托类", "帮助提高投资回报率"),
    # R↓F↓ 资产管理类
    (-0.2, 0, 5_000_000, "低回报", "低周转", "VIP", "资产管理类", "资产管理类服务"),
    (None, None, None, "低回报", "低周转", "其它", "资产管理类", "资产管理类服务"),  # no data
])
def test_rfm_mapping_table(ret, days, assets, r, f, m, cls, service):
    frame = pd.DataFrame({"return_window": [ret], "trade_days_avg": [days],
                          "assets_end": [assets]}, dtype="float64")
    row = rfm.classify(frame, SPEC).iloc[0]
    assert (row["r_level"], row["f_level"], row["m_level"], row["rfm_class"]) == (r, f, m, cls)
    assert service in row["service"]


def test_class_table_is_the_seeds():
    assert rfm.CLASS_OF == {(True, True): "自主决策类", (True, False): "咨询依托类",
                            (False, True): "咨询依托类", (False, False): "资产管理类"}
    assert rfm.service_key(True, False) == "咨询依托类·R↑F↓"
    assert rfm.service_key(False, False) == "资产管理类"


def test_rfm_clients_from_the_store(tiny_store):
    df = rfm.rfm_clients(tiny_store, "2026-10", PARAMS).set_index("client_id")
    # accounts with a 2026-10 row, not lost by month end (C04, C12 lost in Oct; C09 recalled)
    assert sorted(df.index) == ["C01", "C02", "C05", "C07", "C08", "C09", "C11"]
    c01 = df.loc["C01"]   # pnl 10000 over 200000 + 210000 + 215000; trade days 3, 0, 5
    assert c01["return_window"] == pytest.approx(10000 / 625000)
    assert c01["trade_days_avg"] == pytest.approx(8 / 3) and c01["months"] == 3
    assert c01["rfm_class"] == "自主决策类" and c01["m_level"] == "其它"
    assert df.loc["C07", "m_level"] == "核心" and df.loc["C07", "employee_id"] == "E3"
    assert df.loc["C05", "rfm_class"] == "咨询依托类"   # return 0 ≥ 0.0, no trades


def test_rfm_summaries(tiny_store):
    clients = rfm.rfm_clients(tiny_store, "2026-10", PARAMS)
    emp = rfm.summarise(clients, "employee_id")
    assert len(emp) == 3 * 3                              # every class for every employee
    e3 = emp[emp["employee_id"] == "E3"].set_index("rfm_class")
    expected = clients[clients["employee_id"] == "E3"].groupby("rfm_class").size()
    assert e3["clients"].to_dict() == {c: int(expected.get(c, 0)) for c in rfm.CLASSES}
    assert e3["assets"].sum() == pytest.approx(1050000 + 101000 + 40000)
    br = rfm.rfm_branch_frame(tiny_store, "2026-10", PARAMS)
    assert br["clients"].sum() == len(clients) and set(br["branch_id"]) == {"B01", "B02"}
