"""The demo's level history (levels table) and daily-average assets are plausible and consistent."""

from __future__ import annotations

import pandas as pd
import pytest

from perfkit.data import demo
from perfkit.data.store import open_store


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo_levels") / "d.duckdb"
    demo.generate(db, branches=3, employees=60, clients=2000, months=13, end_month="2026-10", seed=11)
    c = open_store(db)
    yield c
    c.close()


def test_level_history_matches_employees_and_hire_dates(con):
    lv = con.execute("SELECT * FROM levels ORDER BY employee_id, start_date").df()
    emp = con.execute("SELECT * FROM employees").df().set_index("employee_id")
    managers = set(emp.index[emp["position"] == "客户经理"])
    assert set(lv["employee_id"]) == managers                      # every 客户经理, nobody else
    for eid, g in lv.groupby("employee_id"):
        g = g.reset_index(drop=True)
        e = emp.loc[eid]
        assert g.loc[0, "start_date"] == e["hire_date"]             # the history starts at hire
        assert g.loc[0, "reason"] in ("入职", "入职定级")
        assert g.iloc[-1]["level"] == e["level"]                    # ends at the current level
        if pd.isna(e["leave_date"]):
            assert pd.isna(g.iloc[-1]["end_date"])
        else:
            assert g.iloc[-1]["end_date"] == e["leave_date"]
        for k in range(1, len(g)):                                  # contiguous, 6+ months apart
            assert g.loc[k, "start_date"] == g.loc[k - 1, "end_date"] + pd.Timedelta(days=1)
            assert (g.loc[k, "start_date"].month, g.loc[k, "start_date"].day) in ((1, 1), (7, 1))
            assert (g.loc[k, "start_date"] - g.loc[k - 1, "start_date"]).days >= 181
            order = {"初级": 0, "中级": 1, "高级": 2, "资深": 3}
            step = "晋级" if order[g.loc[k, "level"]] > order[g.loc[k - 1, "level"]] else "降级"
            assert g.loc[k, "reason"] == step
    reasons = set(lv["reason"])
    assert {"晋级", "降级"} <= reasons


def test_daily_average_assets_lie_near_begin_and_end(con):
    cm = con.execute("SELECT assets_begin, assets_avg, assets_end FROM client_months").df()
    assert cm["assets_avg"].notna().all() and (cm["assets_avg"] >= 0).all()
    lo = cm[["assets_begin", "assets_end"]].min(axis=1)
    hi = cm[["assets_begin", "assets_end"]].max(axis=1)
    inside = (cm["assets_avg"] >= lo * 0.85) & (cm["assets_avg"] <= hi * 1.15 + 1)
    assert inside.mean() > 0.99
    assert (cm["assets_avg"] != cm["assets_end"]).mean() > 0.5     # not a copy of month-end assets
