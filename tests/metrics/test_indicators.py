"""Indicators on the tiny store (tests/conftest.py): every value below was computed by hand from the
rows written there; the rollup is checked by property on random measure frames."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit.errors import RequestError
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.indicators import (
    aggregate_measures,
    indicator_values,
    indicators,
    values_from_measures,
)

nan = math.nan
ENTITIES = ["E1", "E2", "E3", "E4", "B01", "B02", "company"]

# 2026-10, hand-computed.  Order: E1, E2, E3, E4, B01, B02, company.
EXPECTED_OCT = {
    # 潜在客户: leads C03(E1) C06(E2) C10(E3) registered in Oct; C02 (E1) opened in Oct;
    # pool = C02, C03 (E1), C06 (E2), C10 (E3).
    "leads_new": [1, 1, 1, 0, 2, 1, 3],
    "leads_opened": [1, 0, 0, 0, 1, 0, 1],
    "lead_conversion_rate": [50, 0, 0, nan, 100 / 3, 0, 25],
    # lead follow-ups due in Oct: C02 on time, C03 not done (E1); C06 late (E2); C10 due in Nov.
    "lead_followup_rate": [50, 0, nan, nan, 100 / 3, nan, 100 / 3],
    # 现有客户: Oct snapshots E1: C01 C02 C04; E2: C05 C11; E3: C07 C08 C09 C12.
    "accounts_active": [3, 2, 4, 0, 5, 4, 9],
    # 有效户 (≥ 1万 and a trading day in Aug–Oct): C01 C02 | C11 | C07 C08 C09.
    "effective_clients": [2, 1, 3, 0, 3, 3, 6],
    "client_assets": [28.0, 3.6, 119.9, 0, 31.6, 119.9, 151.5],
    "net_inflow": [-1.0, 0, 1.8, 0, -1.0, 1.8, 0.8],
    "commission": [150, 10, 405, 0, 160, 405, 565],
    "active_rate": [200 / 3, 50, 50, nan, 60, 50, 500 / 9],
    "profile_complete_rate": [200 / 3, 50, 100, nan, 60, 100, 700 / 9],
    "satisfaction": [3.5, nan, 5, nan, 3.5, 5, 4],
    # Σpnl / Σ(begin + ½ inflow): E1 5000/280000, E2 1000/35000, E3 49000/1141000.
    "client_return": [
        500 / 280, 100 / 35, 4900000 / 1141000, nan, 600000 / 315000, 4900000 / 1141000,
        5500000 / 1456000,
    ],
    "callback_rate": [100, nan, nan, nan, 100, nan, 100],
    # risk renewals due in Oct: only C07 (E3), renewed late.
    "risk_renewal_rate": [nan, nan, 0, nan, nan, 0, 0],
    # 流失客户: C04 (E1, 销户, 8万 at month start), C12 (E3, 资产流出, 3万).
    "lost_clients": [1, 0, 1, 0, 1, 1, 2],
    "churn_rate": [100 / 3, 0, 25, nan, 20, 25, 200 / 9],
    "lost_assets": [8.0, 0, 3.0, 0, 8.0, 3.0, 11.0],
    # lost within 12 months: C04 (E1), C09 recalled + C12 (E3).
    "recall_rate": [0, nan, 50, nan, 0, 50, 100 / 3],
    "recall_contact_rate": [0, nan, 0, nan, 0, 0, 0],
    # 员工日常工作
    "service_count": [3, 1, 2, 0, 4, 2, 6],
    # due in Oct: E1 4 (3 done), E2 2 (2 done), E3 2 (1 done).
    "routine_completion_rate": [75, 100, 50, nan, 500 / 6, 50, 75],
    # past due, not done: C03 lead (E1); C11 call-back, C05 profile, C05 risk (E2); C12 recall (E3).
    "overdue_tasks": [1, 3, 1, 0, 4, 1, 5],
    # quarter-to-date contacted / active: E1 C01 C02 of 3; E2 0 of 2; E3 C07 C08 of 4.
    "coverage_rate": [200 / 3, 0, 50, nan, 40, 50, 400 / 9],
}


def _all_levels(store, month="2026-10", **kw) -> pd.DataFrame:
    return pd.concat(
        [indicators(store, month, lvl, **kw) for lvl in ("employee", "branch", "company")],
        ignore_index=True,
    )


def test_every_indicator_at_every_grain_matches_hand_computed(tiny_store):
    df = _all_levels(tiny_store)
    got = df.pivot(index="indicator_id", columns="entity_id", values="value")[ENTITIES]
    catalog = load_catalog()
    assert set(EXPECTED_OCT) == {i.id for i in catalog.indicators}, "every indicator is tested"
    expected = pd.DataFrame(EXPECTED_OCT, index=ENTITIES).T.astype(float)
    pd.testing.assert_frame_equal(
        got.loc[expected.index], expected, check_names=False, check_exact=False, rtol=1e-9
    )


def test_result_columns_names_and_parents(tiny_store):
    emp = indicators(tiny_store, "2026-10", "employee")
    assert list(emp.columns) == [
        "level", "entity_id", "entity_name", "parent_id", "indicator_id", "name", "name_en",
        "family", "family_name", "unit", "higher_is_better", "value", "numerator", "denominator",
        "prev_value", "change", "target", "rank", "n_in_parent", "history",
    ]
    row = emp[(emp.entity_id == "E1") & (emp.indicator_id == "profile_complete_rate")].iloc[0]
    assert (row.entity_name, row.parent_id, row["name"], row.family_name, row.unit) == (
        "张伟", "B01", "客户资料完整率", "现有客户", "%"
    )
    assert (row.numerator, row.denominator) == (2, 3)
    br = indicators(tiny_store, "2026-10", "branch")
    assert set(br.parent_id) == {"company"}
    co = indicators(tiny_store, "2026-10", "company")
    assert co.parent_id.isna().all() and set(co.entity_name) == {"全公司"}
    assert len(co) == len(load_catalog().indicators)


def test_employee_with_no_clients_has_zero_counts_and_missing_ratios(tiny_store):
    e4 = indicators(tiny_store, "2026-10", "employee", entity="E4").set_index("indicator_id")
    assert e4.loc["accounts_active", "value"] == 0
    assert e4.loc["client_assets", "value"] == 0
    assert np.isnan(e4.loc["active_rate", "value"])
    assert e4.loc["active_rate", "denominator"] == 0
    # E4 was hired in October: not listed in September (no data, not employed yet)
    sep = indicators(tiny_store, "2026-09", "employee")
    assert "E4" not in set(sep.entity_id)


def test_zero_denominator_gives_nan_not_error(tiny_store):
    df = indicators(tiny_store, "2026-10", "branch", entity="B02").set_index("indicator_id")
    assert df.loc["callback_rate", "denominator"] == 0
    assert np.isnan(df.loc["callback_rate", "value"])


def test_prev_value_change_and_history(tiny_store):
    co = indicators(tiny_store, "2026-10", "company").set_index("indicator_id")
    # Sep month-end assets: E1 205000+80000, E2 5000+30000, E3 1000000+102000+0+30000 = 1452000 元
    assert co.loc["client_assets", "prev_value"] == pytest.approx(145.2)
    assert co.loc["client_assets", "change"] == pytest.approx(151.5 - 145.2)
    hist = co.loc["client_assets", "history"]
    assert [m for m, _ in hist] == ["2026-08", "2026-09", "2026-10"]
    # Aug month-end: 210000+80000+5000+1020000+100000+60000+30000 = 1505000
    assert [round(v, 4) for _, v in hist] == [150.5, 145.2, 151.5]
    short = indicators(tiny_store, "2026-10", "company", history=2).set_index("indicator_id")
    assert [m for m, _ in short.loc["client_assets", "history"]] == ["2026-09", "2026-10"]
    first = indicators(tiny_store, "2026-08", "company").set_index("indicator_id")
    assert np.isnan(first.loc["client_assets", "prev_value"])


def test_rank_ascending_within_parent_nan_last(tiny_store):
    emp = indicators(tiny_store, "2026-10", "employee")
    ca = emp[emp.indicator_id == "client_assets"].set_index("entity_id")
    # B01: E2 3.6 < E1 28.0; B02: E4 0 < E3 119.9
    assert ca.loc[["E1", "E2", "E3", "E4"], "rank"].tolist() == [2, 1, 2, 1]
    assert ca["n_in_parent"].tolist() == [2, 2, 2, 2]
    ar = emp[emp.indicator_id == "active_rate"].set_index("entity_id")
    assert ar.loc["E4", "rank"] == 2 and ar.loc["E3", "rank"] == 1  # NaN ranks last
    br = indicators(tiny_store, "2026-10", "branch")
    assert br[br.indicator_id == "client_assets"].set_index("entity_id")["rank"].to_dict() == {
        "B01": 1, "B02": 2,
    }


def test_filters_entity_and_branch(tiny_store):
    one = indicators(tiny_store, "2026-10", "employee", entity="E3")
    assert set(one.entity_id) == {"E3"} and one["rank"].notna().all()
    b01 = indicators(tiny_store, "2026-10", "employee", branch="B01")
    assert set(b01.entity_id) == {"E1", "E2"}


def test_month_outside_data_is_a_clear_error(tiny_store):
    with pytest.raises(
        RequestError,
        match=r"month 2026-11 is not in the data; available months: 2026-08 … 2026-10",
    ):
        indicators(tiny_store, "2026-11", "company")


def test_unknown_entity_and_level(tiny_store):
    with pytest.raises(RequestError, match=r"unknown employee 'E9'"):
        indicators(tiny_store, "2026-10", "employee", entity="E9")
    with pytest.raises(RequestError, match=r"unknown branch 'B09'"):
        indicators(tiny_store, "2026-10", "employee", branch="B09")
    with pytest.raises(RequestError, match=r"unknown level 'region'"):
        indicators(tiny_store, "2026-10", "region")


def test_indicator_values_matrix_for_the_scorecard(tiny_con):
    cat = load_catalog()
    v = indicator_values(tiny_con, ["2026-09", "2026-10"], "employee", cat)
    assert len(v) == 4 * 2 * len(cat.indicators)
    row = v[(v.entity_id == "E3") & (v.month == "2026-09") & (v.indicator_id == "recall_contact_rate")]
    assert row.value.tolist() == [100.0]  # C09 lost 09-10, contacted 09-12


# ── rollup property ─────────────────────────────────────────────────────────────────────────────

EMPLOYEES = pd.DataFrame(
    {"employee_id": ["a", "b", "c", "d", "e"], "branch_id": ["X", "X", "Y", "Y", "Z"]}
)
count = st.integers(min_value=0, max_value=50)
CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "parameters")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(count, count, st.floats(-1e6, 1e6)), min_size=5, max_size=5))
def test_rollup_is_sum_of_numerators_over_sum_of_denominators(rows):
    cat = CATALOG
    frame = pd.DataFrame({"employee_id": EMPLOYEES.employee_id, "month": "2026-10"})
    for m in cat.measure_names:
        frame[m] = 0.0
    frame["traded_clients"] = [r[0] for r in rows]
    frame["accounts_active"] = [r[0] + r[1] for r in rows]
    frame["net_inflow"] = [r[2] for r in rows]
    emp = values_from_measures(aggregate_measures(frame, EMPLOYEES, "employee"), cat, "employee")
    br = values_from_measures(aggregate_measures(frame, EMPLOYEES, "branch"), cat, "branch")
    co = values_from_measures(aggregate_measures(frame, EMPLOYEES, "company"), cat, "company")
    for ind in ("active_rate", "net_inflow"):
        e = emp[emp.indicator_id == ind].merge(EMPLOYEES, left_on="entity_id", right_on="employee_id")
        b = br[br.indicator_id == ind].set_index("entity_id")
        for branch, g in e.groupby("branch_id"):
            num, den = g.numerator.sum(), g.denominator.sum()
            scale = cat.indicator(ind).scale
            want = (num / den * scale if den else nan) if ind == "active_rate" else num * scale
            got = b.loc[branch, "value"]
            assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want)
        c = co[co.indicator_id == ind].iloc[0]
        num, den = b.numerator.sum(), b.denominator.sum()
        assert c.numerator == pytest.approx(num)
        if ind == "active_rate":
            assert (den == 0 and np.isnan(c.value)) or c.value == pytest.approx(num / den * 100)


# ── the analyst loop ────────────────────────────────────────────────────────────────────────────


def test_yaml_only_ratio_and_new_sql_measure_show_on_next_call(tiny_store, params_dir, tmp_path):
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    before = indicators(tiny_store, "2026-10", "company", params=params)
    assert "effective_share" not in set(before.indicator_id)
    with open(params / "indicators.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            """
  - id: effective_share
    name: 有效客户占比
    name_en: Effective share
    family: existing
    unit: "%"
    higher_is_better: true
    numerator: effective_clients
    denominator: accounts_active
    scale: 100
    description: 有效客户数 ÷ 在册客户数 × 100%。
"""
        )
    after = indicators(tiny_store, "2026-10", "branch", params=params).set_index(
        ["entity_id", "indicator_id"]
    )
    assert after.loc[("B01", "effective_share"), "value"] == pytest.approx(60.0)
    assert after.loc[("B02", "effective_share"), "value"] == pytest.approx(75.0)

    (params / "measures" / "wechat.sql").write_text(
        "-- measure: wechat_contacts: 微信服务次数\n"
        "SELECT k.employee_id, m.month, count(*) AS wechat_contacts\n"
        "FROM contacts AS k JOIN report_months AS m\n"
        "  ON CAST(k.contact_time AS DATE) BETWEEN m.month_start AND m.month_end\n"
        "WHERE k.channel = '微信'\nGROUP BY ALL\n",
        encoding="utf-8",
    )
    with open(params / "indicators.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            """
  - id: wechat_share
    name: 微信服务占比
    name_en: WeChat share
    family: daily
    unit: "%"
    higher_is_better: true
    numerator: wechat_contacts
    denominator: service_contacts
    scale: 100
    description: 微信服务次数 ÷ 客户服务次数 × 100%。
"""
        )
    emp = indicators(tiny_store, "2026-10", "employee", params=params).set_index(
        ["entity_id", "indicator_id"]
    )
    assert emp.loc[("E1", "wechat_share"), "value"] == pytest.approx(100 / 3)  # contact 4 of 3
    assert emp.loc[("E3", "wechat_share"), "value"] == 0


def test_cache_never_hides_a_changed_store(tmp_path):
    from conftest import build_tiny_store

    from perfkit.data.store import open_store

    db = build_tiny_store(tmp_path / "t.duckdb")
    before = indicators(db, "2026-10", "company").set_index("indicator_id")
    again = indicators(db, "2026-10", "company").set_index("indicator_id")
    assert again.loc["service_count", "value"] == before.loc["service_count", "value"] == 6
    assert list((tmp_path / ".perfkit-cache").glob("measures-*.parquet"))
    con = open_store(db, read_only=False)
    con.execute("INSERT INTO contacts VALUES (99, 'E2', 'C05', '2026-10-30 10:00:00', '电话', '日常服务')")
    con.close()
    after = indicators(db, "2026-10", "company").set_index("indicator_id")
    assert after.loc["service_count", "value"] == 7


def test_months_before_hire_are_missing_not_zero(tiny_store):
    # E4 was hired on 2026-10-08: September is "—" for him, October counts (0 new leads)
    rows = indicators(tiny_store, "2026-10", "employee", entity="E4")
    leads = rows.set_index("indicator_id").loc["leads_new"]
    assert leads["value"] == 0 and pd.isna(leads["prev_value"]) and pd.isna(leads["change"])
    months = dict(leads["history"])
    assert pd.isna(months["2026-08"]) and pd.isna(months["2026-09"]) and months["2026-10"] == 0
    assert rows["prev_value"].isna().all()


def test_measures_are_cached_per_file_and_month_and_equal_a_frame_of_all(tmp_path, params_dir):
    """A request computes only the months and measure files it lacks; parts computed apart equal
    the frame computed at once (a month's rows do not depend on the other months asked for, nor
    one file's on another's)."""
    from perfkit.data.demo import generate
    from perfkit.data.store import open_store
    from perfkit.metrics import measures
    from perfkit.metrics.catalog import load_catalog

    db = tmp_path / "demo.duckdb"
    generate(db, branches=2, employees=8, clients=400, months=6, end_month="2026-10")
    catalog = load_catalog(params_dir)
    months = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    computed: list[list[str]] = []
    real = measures.measure_frame

    def spy(con, wanted, cat):
        computed.append(sorted(set(wanted)))
        files.append(sorted(Path(f.path).name for f in cat.measure_files))
        return real(con, wanted, cat)

    files: list[list[str]] = []

    con = open_store(db)
    try:
        together = real(con, months, catalog)
        measures._MEMORY.clear()
        measures.measure_frame = spy
        try:
            measures.cached_measure_frame(db, con, ["2026-09", "2026-10"], catalog)
            measures.cached_measure_frame(db, con, ["2026-08", "2026-09"], catalog)
            apart = measures.cached_measure_frame(db, con, months, catalog)
            measures._MEMORY.clear()  # from the disk cache, in a new process
            from_disk = measures.cached_measure_frame(db, con, months, catalog)
        finally:
            measures.measure_frame = real
    finally:
        con.close()
    assert computed == [["2026-09", "2026-10"], ["2026-08"], ["2026-05", "2026-06", "2026-07"]]
    pd.testing.assert_frame_equal(apart, together)
    pd.testing.assert_frame_equal(from_disk, together)
    # an 有效户 setting: only the files whose SQL uses it are computed again
    changed = catalog.model_copy(update={"settings": {**catalog.settings,
                                                      "effective_min_assets": 50_000}})
    users = sorted(Path(f.path).name for f in catalog.measure_files if "effective_min_assets" in f.sql)
    assert users and len(users) < len(catalog.measure_files)
    computed.clear()
    files.clear()
    con = open_store(db)
    measures.measure_frame = spy
    try:
        after = measures.cached_measure_frame(db, con, months, changed)
        fresh = real(con, months, changed)
    finally:
        measures.measure_frame = real
        con.close()
    assert files == [users] and computed == [months]
    pd.testing.assert_frame_equal(after, fresh)
