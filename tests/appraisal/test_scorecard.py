from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import params_with
from pydantic import ValidationError

from perfkit.appraisal.ability import ability_scores, latest_review_period
from perfkit.appraisal.deductions import conduct_scores
from perfkit.appraisal.grades import assign_stars, grade_of
from perfkit.appraisal.scorecard import breakdown, combine, scores
from perfkit.appraisal.scoring import family_scores, kpi_from_points, score_indicators
from perfkit.appraisal.spec import (
    AbilitySpec,
    DeductionSpec,
    GradeBand,
    load_scorecard,
    validate_scorecard,
)
from perfkit.errors import RequestError, SpecError

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
NAN = float("nan")

FIVE = [{"min": 90, "label": "优秀"}, {"min": 80, "label": "良好"}, {"min": 70, "label": "合格"},
        {"min": 60, "label": "基本合格"}, {"min": 0, "label": "不合格"}]


def _spec(**over) -> dict:
    """A small scorecard as plain data: family A (60) = a1 attainment + a2 linear, B (40) = b1."""
    raw = {
        "families": {
            "A": {"weight": 60, "indicators": [
                {"id": "a1", "weight": 50, "method": "attainment", "params": {"cap": 1}},
                {"id": "a2", "weight": 50, "method": "linear", "params": {"floor": 0}},
            ]},
            "B": {"weight": 40, "indicators": [{"id": "b1", "weight": 100, "method": "percentile"}]},
        },
        "grades": {"scale": "five", "scales": {"five": FIVE}},
    }
    raw.update(over)
    return raw


def _sc(**over):
    sc, problems = validate_scorecard(_spec(**over))
    assert not problems, problems
    return sc


def _frame(rows):
    return pd.DataFrame(rows, columns=["entity_id", "indicator_id", "value", "target", "peer_group"])


FRAME = _frame([
    ("X", "a1", 8, 10, "g"), ("X", "a2", 5, 10, "g"), ("X", "b1", 3, None, "g"),
    ("Y", "a1", 12, 10, "g"), ("Y", "a2", None, 10, "g"), ("Y", "b1", 1, None, "g"),
])


# ── loading ──────────────────────────────────────────────────────────────────────────────────
def test_repository_scorecard_loads_and_weights_sum_to_one():
    sc = load_scorecard(PARAMS)
    w = sc.weights()
    assert math.isclose(w["weight"].sum(), 1.0)
    assert set(w["family"]) == {"potential", "existing", "lost", "daily"}
    assert w.groupby("family")["family_weight"].first().to_dict() == pytest.approx(
        {"potential": 0.2, "existing": 0.4, "lost": 0.2, "daily": 0.2})
    assert sc.bands[0].label == "优秀" and sc.stars.shares == [10, 22.5, 35, 22.5, 10]
    with pytest.raises(ValidationError, match="frozen"):
        sc.missing = "zero"  # type: ignore[misc]


def _broken(tmp_path: Path, edit) -> Path:
    dst = tmp_path / "parameters"
    shutil.copytree(PARAMS, dst)
    raw = yaml.safe_load((dst / "scorecard.yaml").read_text(encoding="utf-8"))
    edit(raw)
    (dst / "scorecard.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return dst


def _set(path: str, value):
    def edit(raw):
        node = raw
        keys = path.split("/")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return edit


_DELETE = object()


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("families/potential/weight", 30),
         r"scorecard.yaml: families, field weight: family weights sum to 110; they must sum to 1 or 100"),
        (_set("families/lost/indicators/0/weight", 50),
         r"families.lost, field indicators: indicator weights sum to 110; they must sum to 1 or 100"),
        (_set("families/daily/indicators/0/id", "calls_made"),
         r"families.daily.indicators\[calls_made\], field id: unknown indicator 'calls_made'; "
         r"not in indicators.yaml"),
        (_set("families/daily/indicators/0/id", "leads_new"),
         r"families.daily.indicators\[leads_new\], field id: indicator 'leads_new' is already "
         r"scored in family 'potential'"),
        (_set("families/daily/indicators/0/method", "zscore"),
         r"families.daily.indicators\[service_count\], field method: unknown scoring method "
         r"'zscore'; known methods: attainment, band, linear, percentile"),
        (_set("families/daily/indicators/0/params", {"cap": 0.8}),
         r"indicators\[service_count\], field params.cap: Attainment.cap must be a number ≥ 1"),
        (_set("families/lost/indicators/0/params", {"floor_ratio": 0.5}),
         r"indicators\[churn_rate\], field params.floor_ratio: Linear.floor_ratio must be > 1 for "
         r"a lower-is-better indicator; got 0.5"),
        (_set("families/daily/indicators/0/weight", -1),
         r"families.daily.indicators\[service_count\], field weight: Input should be greater than 0"),
        (_set("families/daily/colour", "red"), r"families.daily, field colour: unknown field"),
        (_set("targets/position/实习生", {"leads_new": 3}),
         r"targets.position.实习生: unknown position '实习生'; known: 客户经理, 理财顾问"),
        (_set("targets/position/客户经理/leads_old", 3),
         r"targets.position.客户经理, field leads_old: unknown indicator 'leads_old'"),
        (_set("grades/scale", "seven"),
         r"grades, field scale: unknown scale 'seven'; defined scales: five, ten"),
        (_set("grades/scales/five/4/min", 50),
         r"grades.scales.five, field min: the lowest band must start at min 0"),
        (_set("stars/shares", [10, 20, 35, 20, 10]),
         r"stars, field shares: shares must be ≥ 0 and sum to 1 or 100; got \[10.0, 20.0"),
        (_set("stars/peer_group/employee", "city"),
         r"stars.peer_group, field employee: unknown peer group 'city'; allowed: position, level"),
        (_set("composite/ability", 40),
         r"composite, field kpi: kpi \+ ability = 110; must sum to 1 or 100"),
        (_set("deductions/apply", "divide"),
         r"deductions, field apply: Input should be 'multiply', 'subtract' or 'none'"),
        (_set("ability/relations/boss", 10), r"ability.relations, field boss: unknown relation"),
    ],
)
def test_bad_scorecard_names_file_entry_and_field(tmp_path, edit, message):
    params = _broken(tmp_path, edit)
    with pytest.raises(SpecError, match=message) as exc:
        load_scorecard(params)
    assert str(params / "scorecard.yaml") in str(exc.value)


def test_several_problems_are_counted_in_the_first_error(tmp_path):
    def edit(raw):
        raw["families"]["potential"]["weight"] = 30
        raw["grades"]["scale"] = "seven"
    with pytest.raises(SpecError, match=r"\(and 1 more problem\(s\); run `perfkit check`\)"):
        load_scorecard(_broken(tmp_path, edit))


def test_weights_may_sum_to_one():
    raw = _spec()
    raw["families"]["A"]["weight"] = 0.6
    raw["families"]["B"]["weight"] = 0.4
    sc, problems = validate_scorecard(raw)
    assert not problems
    assert sc.weights()["weight"].tolist() == pytest.approx([0.3, 0.3, 0.4])


# ── scoring (pure) ───────────────────────────────────────────────────────────────────────────
def test_score_indicators_hand_computed_with_renormalisation():
    bd = score_indicators(FRAME, _sc())
    s = bd.set_index(["entity_id", "indicator_id"])
    # X: a1 8/10 → 80; a2 (5−0)/(10−0) → 50; b1 best of 2 → 100
    assert s.loc[("X", "a1"), "score"] == pytest.approx(80)
    assert s.loc[("X", "a2"), "score"] == pytest.approx(50)
    assert s.loc[("X", "b1"), "score"] == pytest.approx(100)
    # Y: a1 capped at 100; a2 missing → left out, a1 carries family A alone; b1 worst → 0
    assert np.isnan(s.loc[("Y", "a2"), "score"])
    assert s.loc[("Y", "a2"), "weight"] == 0
    assert s.loc[("Y", "a1"), "weight"] == pytest.approx(0.6)
    kpi = kpi_from_points(bd)
    assert kpi["X"] == pytest.approx(0.6 * (0.5 * 80 + 0.5 * 50) + 0.4 * 100)  # 79
    assert kpi["Y"] == pytest.approx(0.6 * 100 + 0.4 * 0)                      # 60
    assert bd.groupby("entity_id")["weight"].sum().tolist() == pytest.approx([1, 1])
    assert (bd["points"] - bd["weight"] * bd["score"].fillna(0)).abs().max() < 1e-12


def test_missing_zero_keeps_nominal_weights():
    bd = score_indicators(FRAME, _sc(missing="zero"))
    kpi = kpi_from_points(bd)
    assert kpi["Y"] == pytest.approx(0.6 * 0.5 * 100)  # a2 counts 0 points → 30
    assert kpi["X"] == pytest.approx(79)


def test_a_family_without_any_score_gives_its_weight_to_the_others():
    f = _frame([("Z", "a1", None, 10, "g"), ("Z", "a2", None, 10, "g"), ("Z", "b1", 5, None, "g"),
                ("W", "a1", None, None, "g")])  # W: nothing scorable at all
    bd = score_indicators(f, _sc())
    kpi = kpi_from_points(bd)
    assert kpi["Z"] == pytest.approx(100)  # only b1, alone in its peer group of ranked values
    assert np.isnan(kpi["W"])
    assert bd.loc[bd["entity_id"] == "Z", "weight"].tolist() == pytest.approx([0, 0, 1])


def test_family_scores_are_weighted_means_within_the_family():
    fam = family_scores(score_indicators(FRAME, _sc()))
    assert fam.loc["X", "score_A"] == pytest.approx(65)
    assert fam.loc["Y", "score_A"] == pytest.approx(100)
    assert fam.loc["Y", "score_B"] == pytest.approx(0)


def test_lower_is_better_is_passed_to_the_method():
    bd = score_indicators(FRAME, _sc(), {"b1": False})
    s = bd.set_index(["entity_id", "indicator_id"])["score"]
    assert s[("Y", "b1")] == 100 and s[("X", "b1")] == 0


# ── grades, stars, composite ─────────────────────────────────────────────────────────────────
def test_grade_bands_boundaries():
    bands = [GradeBand(**b) for b in FIVE]
    assert grade_of([100, 90, 89.999, 80, 70, 60, 59.9, 0, NAN], bands) == [
        "优秀", "优秀", "良好", "良好", "合格", "基本合格", "不合格", "不合格", None]


def test_ten_level_scale_from_the_repository():
    sc = load_scorecard(PARAMS)
    ten = sc.grades.scales["ten"]
    assert len(ten) == 10
    assert grade_of([96, 52, 10], ten) == ["十级", "二级", "一级"]


def _sizes(stars: pd.Series) -> list[int]:
    return [int((stars == k).sum()) for k in (5, 4, 3, 2, 1)]


@pytest.mark.parametrize(
    "n, sizes",
    [(1, [0, 0, 1, 0, 0]), (2, [0, 1, 0, 1, 0]), (5, [1, 1, 1, 1, 1]), (7, [1, 1, 3, 1, 1]),
     (10, [1, 2, 4, 2, 1]), (40, [4, 9, 14, 9, 4])],
)
def test_star_distribution_sizes(n, sizes):
    comp = pd.Series(np.linspace(95, 40, n), index=[f"E{i}" for i in range(n)])
    stars = assign_stars(comp)
    assert _sizes(stars) == sizes
    # better composite never gets fewer stars
    assert stars.is_monotonic_decreasing


def test_all_equal_scores_get_the_middle_star():
    for n in (1, 2, 7, 40):
        stars = assign_stars(pd.Series([75.0] * n))
        assert stars.tolist() == [3] * n


def test_ties_share_stars_and_order_does_not_matter():
    comp = pd.Series([90, 90, 85, 80, 80, 80, 70, 60, 50, 50],
                     index=list("abcdefghij"), dtype=float)
    stars = assign_stars(comp)
    # a, b tie at positions 1–2 (mid 1.5, p = 0.1 ≤ 10 %) → both 5★;
    # d, e, f at 4–6 (mid 5, p = 0.45) → 3★; i, j at 9–10 (mid 9.5, 1 − p = 0.1) → 1★
    assert stars.to_dict() == {"a": 5, "b": 5, "c": 4, "d": 3, "e": 3, "f": 3, "g": 3, "h": 2,
                               "i": 1, "j": 1}
    shuffled = comp.sample(frac=1, random_state=3)
    assert assign_stars(shuffled).sort_index().equals(stars.sort_index())
    # float noise below 1e-6 is a tie too
    assert assign_stars(pd.Series([80.0, 80.0 + 1e-9])).tolist() == [3, 3]


def test_stars_within_peer_groups_and_nan():
    comp = pd.Series([90, 80, 70, NAN, 60], index=list("abcde"))
    grp = pd.Series(["客户经理", "客户经理", "投资顾问", "客户经理", "投资顾问"], index=comp.index)
    stars = assign_stars(comp, grp)
    assert stars.tolist()[:3] == [4, 2, 4] and pd.isna(stars["d"]) and stars["e"] == 2


def test_composite_combination_modes():
    kpi = pd.Series([80.0, 80.0])
    ability = pd.Series([90.0, NAN])
    conduct = pd.Series([95.0, NAN])
    sc = _sc(composite={"kpi": 70, "ability": 30}, deductions={"apply": "multiply"})
    # 0.7·80 + 0.3·90 = 83, × 95 % = 78.85; no reviews → KPI only, no incidents → × 100 %
    assert combine(kpi, ability, conduct, sc).tolist() == pytest.approx([78.85, 80.0])
    sc = _sc(composite={"kpi": 70, "ability": 30}, deductions={"apply": "subtract"})
    assert combine(kpi, ability, conduct, sc).tolist() == pytest.approx([78.0, 80.0])
    sc = _sc(composite={"kpi": 100, "ability": 0}, deductions={"apply": "none"})
    assert combine(kpi, ability, conduct, sc).tolist() == pytest.approx([80.0, 80.0])


# ── 360 and deductions on the tiny store ────────────────────────────────────────────
def test_latest_review_period():
    assert latest_review_period("2026-10") == "2026H1"
    assert latest_review_period("2026-06") == "2026H1"
    assert latest_review_period("2026-05") == "2025H2"
    assert latest_review_period("2026-12") == "2026H2"


def test_ability_scores_weighted_by_relation(tiny_con):
    ab = ability_scores(tiny_con, "2026-10", AbilitySpec()).set_index("employee_id")["ability_score"]
    # E1: self 85 (weight 10), peer 80 (weight 20) → (850 + 1600) / 30
    assert ab["E1"] == pytest.approx((10 * 85 + 20 * 80) / 30)
    assert ab["E2"] == pytest.approx(75) and ab["E3"] == pytest.approx(90)
    assert "E4" not in ab
    # the 2026H1 reviews are not yet available in May 2026
    assert ability_scores(tiny_con, "2026-05", AbilitySpec()).empty


def test_conduct_scores_window_floor_and_rule_points(tiny_con):
    cd = conduct_scores(tiny_con, "2026-10", DeductionSpec(
        rules={"C01": {"name": "一般投诉", "points": 5}})).set_index("employee_id")
    assert cd.loc["E2", "deduction_points"] == 5 and cd.loc["E2", "conduct_score"] == 95
    assert conduct_scores(tiny_con, "2026-09", DeductionSpec()).empty
    assert len(conduct_scores(tiny_con, "2026-11", DeductionSpec(window_months=2))) == 1
    # YAML points win over the recorded points; the floor caps the loss
    cd = conduct_scores(tiny_con, "2026-10", DeductionSpec(
        floor=70, rules={"C01": {"name": "x", "points": 100}}))
    assert cd["conduct_score"].tolist() == [70]


# ── scores and breakdown on the tiny store ───────────────────────────────────────────────────
SMALL = {
    "families": {
        "potential": {"weight": 50, "indicators": [
            {"id": "leads_new", "weight": 100, "method": "attainment", "params": {"cap": 1}}]},
        "existing": {"weight": 30, "indicators": [
            {"id": "satisfaction", "weight": 100, "method": "linear", "params": {"floor": 3}}]},
        "lost": {"weight": 20, "indicators": [
            {"id": "churn_rate", "weight": 100, "method": "band",
             "params": {"thresholds": [1, 5], "scores": [100, 50, 0]}}]},
    },
    "targets": {"position": {"客户经理": {"leads_new": 15, "satisfaction": 4.5}},
                "entity": {"E1": {"leads_new": 2}}},
    "grades": {"scale": "five", "scales": {"five": FIVE}},
    "composite": {"kpi": 70, "ability": 30},
    "deductions": {"floor": 70, "apply": "multiply", "rules": {"C01": {"name": "一般投诉", "points": 5}}},
    "appraised": {"without_clients": "scored"},  # E4 (no client) scored too, as by hand below
}


@pytest.fixture
def small_params(tmp_path):
    return params_with(tmp_path, SMALL)


def test_scores_hand_computed_on_the_tiny_store(tiny_store, small_params):
    s = scores(tiny_store, "2026-10", "employee", params=small_params).set_index("entity_id")
    # October values (tiny store): leads_new E1 1, E2 1, E3 1, E4 0; satisfaction E1 (4+3)/2 = 3.5,
    # E3 5, E2/E4 no survey; churn_rate E1 1/3 = 33.3 %, E2 0/2 = 0 %, E3 1/4 = 25 %, E4 no clients.
    kpi = {
        "E1": 0.5 * (1 / 2 * 100) + 0.3 * ((3.5 - 3) / 1.5 * 100) + 0.2 * 0,        # 35
        "E2": (50 * (1 / 15 * 100) + 20 * 100) / 70,      # no survey: existing left out, renormalised
        "E3": 0.5 * (1 / 15 * 100) + 0.3 * 100 + 0.2 * 0,
        "E4": 0.0,                                         # only leads_new (0 of 15) is scorable
    }
    assert s["kpi_score"].to_dict() == pytest.approx(kpi)
    ability = {"E1": (10 * 85 + 20 * 80) / 30, "E2": 75.0, "E3": 90.0}
    comp = {
        "E1": 0.7 * kpi["E1"] + 0.3 * ability["E1"],
        "E2": (0.7 * kpi["E2"] + 0.3 * ability["E2"]) * 0.95,  # C01 complaint: −5 → × 95 %
        "E3": 0.7 * kpi["E3"] + 0.3 * ability["E3"],
        "E4": kpi["E4"],                                      # no 360 reviews: KPI only
    }
    assert s["composite"].to_dict() == pytest.approx(comp)
    assert s.loc["E2", "deduction_points"] == 5 and s.loc["E2", "conduct_score"] == 95
    assert s["grade"].tolist() == ["不合格"] * 4
    # n = 4 客户经理: E3 > E1 > E2 > E4 → p = 1/8, 3/8, 5/8, 7/8 → 4★ 3★ 3★ 2★
    assert s["stars"].to_dict() == {"E1": 3, "E2": 3, "E3": 4, "E4": 2}
    assert s["rank"].to_dict() == {"E1": 2, "E2": 3, "E3": 1, "E4": 4}
    assert (s["n_peers"] == 4).all()
    assert s.loc["E1", "score_existing"] == pytest.approx(100 / 3)
    assert set(s.columns) >= {"entity_name", "parent_id", "peer_group", "score_potential",
                              "score_lost", "ability_score", "prev_composite", "change"}
    # September for E1: leads_new 1 (C02) of 2 → 50; no survey; churn 0 of 2 → 100
    prev_kpi_e1 = (50 * 50 + 20 * 100) / 70
    assert s.loc["E1", "prev_composite"] == pytest.approx(0.7 * prev_kpi_e1 + 0.3 * ability["E1"])
    assert s.loc["E1", "change"] == pytest.approx(comp["E1"] - s.loc["E1", "prev_composite"])


def test_breakdown_points_sum_to_kpi_and_attribution_to_its_change(tiny_store):
    s = scores(tiny_store, "2026-10", "employee").set_index("entity_id")
    bd = breakdown(tiny_store, "2026-10", "employee")
    pts = bd.groupby("entity_id")["points"].sum()
    assert pts.to_dict() == pytest.approx(s["kpi_score"].dropna().to_dict())
    assert bd.groupby("entity_id")["weight"].sum().tolist() == pytest.approx([1.0] * 3)
    assert (bd["points"] - bd["weight"] * bd["score"].fillna(0)).abs().max() < 1e-9
    # attribution: Σ Δpoints = this month's KPI − last month's KPI (recomputed independently)
    sep = breakdown(tiny_store, "2026-09", "employee").groupby("entity_id")["points"].sum()
    for e in ("E1", "E2", "E3"):
        got = bd.loc[bd["entity_id"] == e, "attribution"].sum()
        assert got == pytest.approx(pts[e] - sep[e])
    # E4 (hired in October, no client) is 不参评: no points to attribute
    assert "E4" not in set(bd["entity_id"]) and not s.loc["E4", "scored"]
    assert list(bd.columns[:6]) == ["entity_id", "entity_name", "parent_id", "peer_group", "family",
                                    "indicator_id"]


def test_branch_scores_and_entity_filter(tiny_store, small_params):
    b = scores(tiny_store, "2026-10", "branch", params=small_params).set_index("entity_id")
    assert (b["composite"] == b["kpi_score"]).all() and b["ability_score"].isna().all()
    bd = breakdown(tiny_store, "2026-10", "branch", params=small_params)
    assert bd.groupby("entity_id")["points"].sum().to_dict() == pytest.approx(
        b["kpi_score"].to_dict())
    one = scores(tiny_store, "2026-10", "employee", entity="E3", params=small_params)
    assert one["entity_id"].tolist() == ["E3"]
    by_branch = scores(tiny_store, "2026-10", "employee", entity="B01", params=small_params)
    assert by_branch["entity_id"].tolist() == ["E1", "E2"]
    with pytest.raises(RequestError, match="unknown entity 'E9'"):
        scores(tiny_store, "2026-10", "employee", entity="E9", params=small_params)


def test_month_outside_the_data_is_a_clear_error(tiny_store):
    with pytest.raises(RequestError, match="month 2027-01 is not in the data"):
        scores(tiny_store, "2027-01")
    with pytest.raises(RequestError, match="month must be YYYY-MM, got '2026-1'"):
        breakdown(tiny_store, "2026-1")


def test_first_month_has_no_previous_composite(tiny_store):
    s = scores(tiny_store, "2026-08", "employee")
    assert s["prev_composite"].isna().all() and s["change"].isna().all()


def test_family_labels_come_from_the_catalog():
    from perfkit.appraisal.spec import family_labels

    assert family_labels(PARAMS) == {"potential": "潜在客户", "existing": "现有客户",
                                     "lost": "流失客户", "daily": "员工日常工作"}
