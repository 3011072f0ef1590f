"""Risk-adjusted advisor evaluation: regressions, MRAR, bands, action levels, store frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfkit.appraisal import advisor as A
from perfkit.errors import SpecError

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
MONTHS = [str(pd.Period("2024-11", freq="M") + k) for k in range(24)]


def _market(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"month": MONTHS, "index_return": rng.normal(0.008, 0.05, len(MONTHS)),
                         "risk_free_rate": 0.0015})


def _returns(market: pd.DataFrame, truth: dict[str, tuple[float, float, float, float]],
             seed: int = 2) -> pd.DataFrame:
    """Monthly returns r = rf + α + β·MR + c·MR² + noise per employee (α, β, c, noise sd)."""
    rng = np.random.default_rng(seed)
    x = (market["index_return"] - market["risk_free_rate"]).to_numpy()
    rows = []
    for emp, (a, b, c, sd) in truth.items():
        r = market["risk_free_rate"].to_numpy() + a + b * x + c * x * x + rng.normal(0, sd, len(x))
        rows += [(emp, m, v) for m, v in zip(market["month"], r, strict=True)]
    return pd.DataFrame(rows, columns=["employee_id", "month", "ret"])


def _meta(ids) -> pd.DataFrame:
    return pd.DataFrame({"employee_id": list(ids), "position": "客户经理", "all": "all"})


def test_regressions_recover_known_alpha_beta_and_c():
    mk = _market()
    truth = {"E1": (0.006, 0.8, 0.0, 0.002), "E2": (-0.004, 1.2, 0.0, 0.002),
             "E3": (0.0, 1.0, 4.0, 0.001), "E4": (0.0, 1.0, 0.0, 0.01)}
    ev = A.evaluate(_returns(mk, truth), mk, _meta(truth), A.AdvisorSpec(window_months=24))
    ev = ev.set_index("employee_id")
    assert ev.loc["E1", "alpha"] == pytest.approx(0.006, abs=0.0015)
    assert ev.loc["E1", "beta"] == pytest.approx(0.8, abs=0.03)
    assert ev.loc["E1", "alpha_p"] < 0.025 and ev.loc["E1", "jensen_skill"]
    assert ev.loc["E2", "alpha"] == pytest.approx(-0.004, abs=0.0015)
    assert ev.loc["E2", "beta"] == pytest.approx(1.2, abs=0.03)
    assert ev.loc["E2", "alpha_p"] < 0.025 and not ev.loc["E2", "jensen_skill"]  # significant, < 0
    assert ev.loc["E3", "tm_c"] == pytest.approx(4.0, abs=0.5)
    assert ev.loc["E3", "tm_c_p"] < 0.05 and ev.loc["E3", "tm_skill"]
    assert ev.loc["E3", "tm_b"] == pytest.approx(1.0, abs=0.03)
    assert (ev["months"] == 24).all() and ev["r2"].between(0, 1).all()


def test_no_verdict_on_short_history():
    mk = _market()
    rets = _returns(mk, {"E1": (0.006, 0.8, 0.0, 0.002), "E2": (0.0, 1.0, 0.0, 0.002)})
    rets = rets[~((rets["employee_id"] == "E2") & (rets["month"] < MONTHS[-11]))]  # 11 months
    ev = A.evaluate(rets, mk, _meta(["E1", "E2"]), A.AdvisorSpec(window_months=24, min_months=12))
    e2 = ev.set_index("employee_id").loc["E2"]
    assert e2["months"] == 11 and e2["action"] == A.NO_VERDICT
    assert e2["band"] is None and pd.isna(e2["stars"]) and np.isnan(e2["alpha"])
    assert not np.isnan(e2["mrar"])  # the figure is shown, only the verdict is withheld
    e1 = ev.set_index("employee_id").loc["E1"]
    assert e1["action"] in A.ACTIONS and e1["n_peers"] == 1 and e1["band"] == "A"


@pytest.mark.parametrize("e", [-0.01, 0.0, 0.005, 0.02])
@pytest.mark.parametrize("gamma", [0, 0.5, 2, 5])
def test_mrar_of_a_constant_excess_return(e, gamma):
    assert A.mrar(np.full(12, e), gamma) == pytest.approx((1 + e) ** 12 - 1)


def test_mrar_penalises_volatility():
    rng = np.random.default_rng(5)
    er = rng.normal(0.005, 0.04, (50, 24))
    er[3, :10] = np.nan                              # missing months are ignored
    m0, m2 = A.mrar(er, 0, axis=1), A.mrar(er, 2, axis=1)
    assert (m2 <= m0 + 1e-12).all() and (m2 < m0).all()
    assert (A.mrar(er, 5, axis=1) <= m2).all()       # more risk aversion, lower MRAR
    assert m0[0] == pytest.approx(np.prod(1 + er[0]) ** (12 / 24) - 1)  # γ = 0: geometric mean
    assert np.isnan(A.mrar(np.full((2, 3), np.nan), 2, axis=1)).all()
    with pytest.raises(SpecError, match="mrar: excess returns must be > −1"):
        A.mrar([0.1, -1.0])
    with pytest.raises(SpecError, match="mrar: gamma must be ≥ 0; got -1"):
        A.mrar([0.1], -1)


@pytest.mark.parametrize("band, jensen, tm, action", [
    ("A", True, False, "奖励"), ("A", False, True, "奖励"), ("A", True, True, "奖励"),
    ("A", False, False, "督导"),
    ("B", True, False, "督导"), ("B", False, True, "督导"), ("B", False, False, "警告"),
    ("C", True, False, "督导"), ("C", False, True, "督导"), ("C", False, False, "更换"),
    (None, True, True, A.NO_VERDICT),
])
def test_action_levels_follow_the_seed(band, jensen, tm, action):
    assert A.action_level(band, jensen, tm) == action


def test_action_level_bad_band():
    with pytest.raises(SpecError, match="action_level: band must be one of A, B, C or None; got 'D'"):
        A.action_level("D", True, True)


def test_rank_bands_top_40_bottom_10():
    v = pd.Series(np.arange(10, 0, -1, dtype=float))       # 10 best … 1 worst
    bands = A.rank_band(v, pd.Series(["x"] * 10), 40, 10)
    assert bands.tolist() == ["A"] * 4 + ["B"] * 5 + ["C"]
    two = pd.Series([5.0, 5.0, np.nan, 1.0])               # ties share the better band; NaN none
    assert A.rank_band(two, pd.Series(["g"] * 4), 40, 10).tolist() == ["A", "A", None, "B"]


def test_significance_needs_the_sign_and_the_level():
    ev_row = {"alpha": 0.01, "alpha_p": 0.03}
    assert not A._significant(ev_row["alpha"], ev_row["alpha_p"], 0.975)   # p 0.03 > 0.025
    assert A._significant(0.01, 0.02, 0.975) and not A._significant(-0.01, 0.001, 0.975)


# ── store-backed ───────────────────────────────────────────────────────────────────────────────
def test_monthly_returns_modified_dietz(tiny_con):
    r = A.monthly_returns(tiny_con, ["2026-10"]).set_index("employee_id")
    # E1 in 2026-10: pnl 5000 (C01); capital C01 205000 + 10000, C02 0 + 25000, C04 80000 − 40000
    assert r.loc["E1", "pnl"] == 5000 and r.loc["E1", "ret"] == pytest.approx(5000 / 280000)
    assert r.loc["E1", "clients"] == 3


def test_advisor_frame_on_the_tiny_store_gives_no_verdict(tiny_store):
    df = A.advisor_frame(tiny_store, "2026-10", PARAMS).set_index("employee_id")
    assert set(df.index) == {"E1", "E2", "E3"}        # E4 has no clients
    assert (df["action"] == A.NO_VERDICT).all() and (df["months"] <= 3).all()
    assert df.loc["E1", "client_pnl"] == 5000 and df.loc["E1", "client_pnl_window"] == 10000
    assert df.loc["E1", "client_assets"] == 230000 + 50000 + 0
    assert df["watch_until"].isna().all()


@pytest.fixture(scope="module")
def demo13(tmp_path_factory) -> Path:
    from perfkit.data.demo import generate

    path = tmp_path_factory.mktemp("advisor") / "demo.duckdb"
    generate(path, branches=2, employees=12, clients=600, months=13, end_month="2026-10", seed=11)
    return path


def test_advisor_frames_on_a_year_of_demo_data(demo13, tmp_path):
    df = A.advisor_frame(demo13, "2026-10", PARAMS)
    has = df[df["months"] >= 12]
    assert len(has) >= 8 and set(has["action"]) <= set(A.ACTIONS)
    assert has["band"].notna().all() and has["stars"].notna().all()
    assert ((df["action"] == "警告") == df["watch_until"].eq("2027-04")).all()
    br = A.advisor_branch_frame(demo13, "2026-10", PARAMS)
    assert len(br) == 2 and br["employees"].sum() == len(df)
    assert (br[[*A.ACTIONS, A.NO_VERDICT]].sum(axis=1) == br["employees"]).all()
    assert br["client_pnl"].sum() == pytest.approx(df["client_pnl"].sum())
    # min_months above the history → nobody gets a verdict
    params = tmp_path / "parameters"
    shutil.copytree(PARAMS, params)
    ap = params / "appraisal.yaml"
    ap.write_text(ap.read_text(encoding="utf-8").replace("window_months: 12        #",
                                                         "window_months: 24        #")
                  .replace("min_months: 12 ", "min_months: 14 "), encoding="utf-8")
    assert (A.advisor_frame(demo13, "2026-10", params)["action"] == A.NO_VERDICT).all()
