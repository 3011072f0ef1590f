"""The configurable 有效户 rule (settings of indicators.yaml, computed in measures/accounts.sql):
table-driven over asset bases, activity rules, windows and thresholds on a hand-built store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfkit.data.store import create_store, open_store
from perfkit.errors import SpecError
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.effective import describe, effective_settings
from perfkit.metrics.indicators import indicators
from perfkit.metrics.measures import measure_frame

MONTHS = ["2026-08", "2026-09", "2026-10"]

# client: per month (assets_begin, assets_avg, assets_end, trade_days, commission); None = no row.
#   A: money came in late in Oct (end 2万, daily average 8千); traded in Aug only (60 元).
#   B: withdrew late in Oct (end 5千, daily average 1.5万 all window); 1 trading day, 5 元.
#   C: new in Oct, no daily average in the source (→ (4千 + 1.2万) ÷ 2 = 8千); never traded.
#   D: 3万 daily average in Aug and Sep, 3千 in Oct; 3 trading days, 100 元 in Oct.
CLIENTS = {
    "A": {"2026-08": (1000, 1000, 1000, 2, 60), "2026-09": (1000, 1000, 1000, 0, 0),
          "2026-10": (1000, 8000, 20000, 0, 0)},
    "B": {"2026-08": (15000, 15000, 15000, 0, 0), "2026-09": (15000, 15000, 15000, 0, 0),
          "2026-10": (15000, 15000, 5000, 1, 5)},
    "C": {"2026-10": (4000, None, 12000, 0, 0)},
    "D": {"2026-08": (30000, 30000, 30000, 0, 0), "2026-09": (30000, 30000, 30000, 0, 0),
          "2026-10": (30000, 3000, 3000, 3, 100)},
}


def build(path: Path) -> Path:
    con = create_store(path, overwrite=True)
    con.execute("INSERT INTO branches VALUES ('B01', '上海淮海中路证券营业部', '华东', '上海', '一类')")
    con.execute("INSERT INTO employees VALUES ('E1', '张伟', 'B01', '客户经理', '中级', '2020-01-01', NULL, NULL)")
    for cid in CLIENTS:
        con.execute("INSERT INTO clients (client_id, client_name, branch_id, employee_id, lead_date, "
                    "open_date) VALUES (?, '客户', 'B01', 'E1', '2020-01-01', '2020-02-01')", [cid])
        for month, (begin, avg, end, days, comm) in CLIENTS[cid].items():
            con.execute(
                "INSERT INTO client_months (client_id, month, employee_id, assets_begin, assets_avg, "
                "assets_end, net_inflow, trade_amount, trade_days, commission, pnl) "
                "VALUES (?, ?, 'E1', ?, ?, ?, 0, 0, ?, ?, 0)",
                [cid, month, begin, avg, end, days, comm])
    con.close()
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("effective") / "e.duckdb")


@pytest.fixture(scope="module")
def catalog(params_dir):
    return load_catalog(params_dir)


CASES = [
    # (settings overriding the defaults, the 有效户 among A–D in 2026-10)
    ({}, {"A"}),                                                             # month-end 1万, trade ≥ 1 day in 3 months
    ({"effective_activity": "none"}, {"A", "C"}),
    ({"effective_activity": "commission", "effective_min_commission": 50}, {"A"}),
    ({"effective_window_months": 1}, set()),                                  # A's Aug trade falls out
    ({"effective_min_assets": 20000, "effective_activity": "none"}, {"A"}),
    ({"effective_assets_basis": "month_avg"}, {"B"}),
    ({"effective_assets_basis": "month_avg", "effective_activity": "none"}, {"B"}),   # C: midpoint 8千
    ({"effective_assets_basis": "month_avg", "effective_activity": "commission",
      "effective_min_commission": 50}, set()),
    ({"effective_assets_basis": "month_avg", "effective_activity": "none",
      "effective_min_assets": 8000}, {"A", "B", "C"}),                        # midpoint counts
    ({"effective_assets_basis": "window_avg"}, {"B", "D"}),                   # D: (3万+3万+3千)/3
    ({"effective_assets_basis": "window_avg", "effective_activity": "commission",
      "effective_min_commission": 50}, {"D"}),
    ({"effective_assets_basis": "window_avg", "effective_window_months": 1}, {"B"}),
    ({"effective_assets_basis": "window_avg", "effective_activity": "none",
      "effective_window_months": 2}, {"B", "D"}),                             # D: (3万+3千)/2
    ({"effective_assets_basis": "window_avg", "effective_activity": "trade_days",
      "effective_min_trade_days": 2}, {"D"}),
]


@pytest.mark.parametrize(("override", "expected"), CASES, ids=[str(c[0]) or "defaults" for c in CASES])
def test_effective_clients_follow_the_rule(store, catalog, override, expected):
    cat = catalog.model_copy(update={"settings": effective_settings({**catalog.settings, **override})})
    con = open_store(store)
    try:
        frame = measure_frame(con, MONTHS, cat)
    finally:
        con.close()
    oct_ = frame[(frame.employee_id == "E1") & (frame.month == "2026-10")].iloc[0]
    assert oct_["effective_clients"] == len(expected)
    assert oct_["accounts_active"] == 4


def _params_with(tmp_path: Path, params_dir: Path, replace: dict[str, str]) -> Path:
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    path = params / "indicators.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return params


def test_the_yaml_settings_drive_indicator_and_description(store, params_dir, tmp_path):
    params = _params_with(tmp_path, params_dir, {
        "effective_assets_basis: month_end": "effective_assets_basis: window_avg",
        "effective_activity: trade_days": "effective_activity: none"})
    df = indicators(store, "2026-10", "employee", params=params).set_index("indicator_id")
    assert df.loc["effective_clients", "value"] == 2                  # B and D
    desc = load_catalog(params).indicator("effective_clients").description
    assert "近 3 个月日均资产不低于 1 万元" in desc and "交易日" not in desc


def test_defaults_keep_the_rule_of_older_parameters_files():
    filled = effective_settings({"effective_min_assets": 10000, "effective_window_months": 3,
                                 "effective_min_trade_days": 1})
    assert filled["effective_assets_basis"] == "month_end"
    assert filled["effective_activity"] == "trade_days"
    assert describe(filled) == "当月月末资产不低于 1 万元、且近 3 个月(含当月)至少有 1 个交易日"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("effective_assets_basis", "daily", "unknown basis 'daily'; known: month_end, month_avg, window_avg"),
    ("effective_activity", "logins", "unknown activity rule 'logins'"),
    ("effective_window_months", 0, "must be a whole number ≥ 1; got 0"),
    ("effective_min_assets", -5, "must be a number ≥ 0; got -5"),
    ("effective_min_commission", "many", "must be a number ≥ 0; got 'many'"),
])
def test_bad_settings_name_file_entry_and_field(field, value, message):
    with pytest.raises(SpecError) as err:
        effective_settings({field: value}, "parameters/indicators.yaml")
    text = str(err.value)
    assert text.startswith("parameters/indicators.yaml, entry settings, field " + field)
    assert message in text


def test_perfkit_check_reports_a_bad_basis(params_dir, tmp_path):
    from perfkit.project.check import check

    params = _params_with(tmp_path, params_dir,
                          {"effective_assets_basis: month_end": "effective_assets_basis: daily"})
    problems = check(params)
    assert any(p.field == "effective_assets_basis" and p.entry == "settings" for p in problems)
