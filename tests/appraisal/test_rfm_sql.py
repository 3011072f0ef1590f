"""The RFM classes computed inside DuckDB (rfm_query: the store-backed frames and the month
snapshot) are classify()'s, for thresholds on either side of the tiny store's clients; the
summaries aggregated in SQL are summarise()'s."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perfkit.appraisal import rfm
from perfkit.appraisal.options import RFMSpec
from perfkit.data.store import open_store

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
LEVELS = ["r_level", "f_level", "m_level", "rfm_class", "service"]


@pytest.mark.parametrize("spec", [
    RFMSpec(),                                                       # appraisal.yaml's defaults
    RFMSpec(return_high=0.016, trade_days_high=8 / 3, vip_assets=215_000, core_assets=40_000),
    RFMSpec(return_high=-1, trade_days_high=0, vip_assets=1, core_assets=1,
            services={"自主决策类": "甲"}),                             # everyone high; one service
], ids=["defaults", "bounds", "everyone-high"])
def test_sql_classes_are_classifys(tiny_store: Path, spec: RFMSpec) -> None:
    sql, args = rfm.rfm_query(spec, "2026-10")
    con = open_store(tiny_store)
    got = con.execute(f"{sql} ORDER BY client_id", args).df()
    con.close()
    want = rfm.classify(got.drop(columns=LEVELS), spec)
    assert len(got) == 7
    pd.testing.assert_frame_equal(got[LEVELS], want[LEVELS])
    if spec.return_high == -1:
        assert set(got["rfm_class"]) == {"自主决策类"} and set(got["service"]) == {"甲"}


@pytest.mark.parametrize("by, frame", [("employee_id", rfm.rfm_employee_frame),
                                       ("branch_id", rfm.rfm_branch_frame)])
def test_sql_summaries_are_summarise(tiny_store: Path, by: str, frame) -> None:
    want = rfm.summarise(rfm.rfm_clients(tiny_store, "2026-10", PARAMS), by)
    pd.testing.assert_frame_equal(frame(tiny_store, "2026-10", PARAMS), want)


def test_write_rfm_clients_writes_rfm_clients(tiny_store: Path, tmp_path: Path) -> None:
    file = tmp_path / "rfm.parquet"
    n = rfm.write_rfm_clients(tiny_store, "2026-10", file, PARAMS, ("branch_id", "employee_id"))
    want = rfm.rfm_clients(tiny_store, "2026-10", PARAMS)
    want = want.sort_values(["branch_id", "employee_id"], kind="stable", ignore_index=True)
    assert n == len(want) == 7
    pd.testing.assert_frame_equal(pd.read_parquet(file), want)
