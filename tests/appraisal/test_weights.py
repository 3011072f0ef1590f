from __future__ import annotations

import numpy as np
import pytest

from perfkit.appraisal import weights as W
from perfkit.errors import SpecError


def test_ahp_textbook_example():
    # Saaty-style example: A is moderately (3) more important than B, strongly (5) than C; B 3 × C.
    r = W.ahp_weights([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]])
    assert r.weights == pytest.approx([0.6370, 0.2583, 0.1047], abs=5e-4)
    assert r.lambda_max == pytest.approx(3.0385, abs=1e-4)
    assert r.ci == pytest.approx((3.0385 - 3) / 2, abs=1e-4)
    assert r.cr == pytest.approx(r.ci / 0.58) and r.cr == pytest.approx(0.0332, abs=1e-3)
    assert r.consistent


def test_ahp_perfectly_consistent_and_inconsistent_matrices():
    w = np.array([0.5, 0.3, 0.15, 0.05])
    r = W.ahp_weights(w[:, None] / w[None, :])
    assert r.weights == pytest.approx(w) and r.cr == pytest.approx(0, abs=1e-9)
    bad = W.ahp_weights([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])  # A > B > C > A
    assert not bad.consistent and bad.cr > 1
    with pytest.raises(SpecError, match=r"ahp_weights: matrix must be reciprocal .*a\[0\]\[1\] = 3 "
                                        r"but a\[1\]\[0\] = 0.5"):
        W.ahp_weights([[1, 3], [0.5, 1]])
    with pytest.raises(SpecError, match="must be a non-empty square matrix; got shape"):
        W.ahp_weights([[1, 2, 3]])


def test_fuzzy_consistent_weights_formula():
    r = [[0.5, 0.7, 0.9], [0.3, 0.5, 0.7], [0.1, 0.3, 0.5]]
    # n = 3, a = (n − 1)/2 = 1: w_i = 1/3 − 1/2 + Σ_k r_ik / 3 → row sums 2.1, 1.5, 0.9
    assert W.fuzzy_consistent_weights(r) == pytest.approx([2.1 / 3 - 1 / 6, 1.5 / 3 - 1 / 6,
                                                           0.9 / 3 - 1 / 6])
    # larger a flattens towards 1/n and still sums to 1
    w = W.fuzzy_consistent_weights(r, a=10)
    assert w.sum() == pytest.approx(1) and w.max() - w.min() < 0.1
    with pytest.raises(SpecError, match=r"a must be ≥ \(n − 1\)/2 = 1; got 0.5"):
        W.fuzzy_consistent_weights(r, a=0.5)
    with pytest.raises(SpecError, match="must be complementary"):
        W.fuzzy_consistent_weights([[0.5, 0.6], [0.6, 0.5]])


def test_fuzzy_consistent_matrix_transform():
    f = [[0.5, 1, 1], [0, 0.5, 1], [0, 0, 0.5]]  # 0–1 priority comparisons
    r = W.fuzzy_consistent_matrix(f)
    # row sums 2.5, 1.5, 0.5 → r_ij = (r_i − r_j)/6 + 0.5
    assert r[0, 1] == pytest.approx(1 / 6 + 0.5) and r[0, 2] == pytest.approx(2 / 6 + 0.5)
    assert np.allclose(r + r.T, 1)
    # consistency: r_ij = r_ik − r_jk + 0.5
    assert r[0, 2] == pytest.approx(r[0, 1] - r[2, 1] + 0.5)


def test_expert_weights():
    s = [[9, 7, 5], [7, 7, 3], [8, np.nan, 4]]
    mean = np.array([8, 7, 4])
    assert W.expert_weights(s) == pytest.approx(mean / mean.sum())
    with pytest.raises(SpecError, match="scores must be ≥ 0"):
        W.expert_weights([[1, -1]])


def test_fuzzy_comprehensive_evaluation():
    w = [0.4, 0.3, 0.2, 0.1]
    r = [[0.5, 0.3, 0.2, 0.0], [0.3, 0.4, 0.2, 0.1], [0.2, 0.3, 0.4, 0.1], [0.1, 0.2, 0.4, 0.3]]
    b = W.fuzzy_evaluation(w, r)
    assert b == pytest.approx([0.34, 0.32, 0.26, 0.08])
    assert W.fuzzy_score(b, [95, 85, 75, 60]) == pytest.approx(0.34 * 95 + 0.32 * 85 + 0.26 * 75
                                                               + 0.08 * 60)
    with pytest.raises(SpecError, match="r needs one row per weight"):
        W.fuzzy_evaluation([0.5, 0.5], r)


def test_jensen_alpha_matches_a_simple_regression():
    rng = np.random.default_rng(7)
    m = rng.normal(0.01, 0.05, 36)
    rf = 0.0015
    y = rf + 0.002 + 0.9 * (m - rf) + rng.normal(0, 0.01, 36)
    fit = W.jensen_alpha(y, m, rf)
    beta, alpha = np.polyfit(m - rf, y - rf, 1)
    assert fit["alpha"] == pytest.approx(alpha) and fit["beta"] == pytest.approx(beta)
    x = m - rf
    resid = (y - rf) - (alpha + beta * x)
    se_beta = np.sqrt(resid @ resid / (36 - 2) / ((x - x.mean()) ** 2).sum())
    assert fit.stderr[1] == pytest.approx(se_beta)
    assert fit.t("beta") == pytest.approx(beta / se_beta)
    assert 0 < fit.r2 < 1 and fit.n == 36


def test_treynor_mazuy_recovers_exact_coefficients_and_drops_nan():
    m = np.array([0.01, -0.02, 0.03, 0.0, 0.015, -0.01, 0.05, np.nan])
    rf = 0.0015
    x = m - rf
    y = rf + 0.001 + 1.2 * x + 3.0 * x ** 2
    fit = W.treynor_mazuy(y, m, rf)
    assert fit.coef == pytest.approx([0.001, 1.2, 3.0])
    assert fit.n == 7 and fit.r2 == pytest.approx(1)
    with pytest.raises(SpecError, match="treynor_mazuy: needs more than 3 periods with data; got 2"):
        W.treynor_mazuy([0.1, 0.2], [0.1, 0.3])


def test_registry():
    assert W.get("ahp") is W.ahp_weights
    with pytest.raises(SpecError, match="unknown weighting method 'entropy'; known: ahp, expert, "
                                        "fuzzy_consistent"):
        W.get("entropy")


# ── published AHP examples ─────────────────────────────────────────────────────────────────────
def _pairwise(names: list[str], pairs: dict[tuple[str, str], float]) -> np.ndarray:
    a = np.ones((len(names), len(names)))
    for (x, y), v in pairs.items():
        i, j = names.index(x), names.index(y)
        a[i, j], a[j, i] = v, 1 / v
    return a


def test_ahp_saaty_drinks_example():
    # Relative consumption of drinks in the United States: T. L. Saaty, "Decision making with the
    # analytic hierarchy process", Int. J. Services Sciences 1(1), 2008, pp. 83–98.
    # The same matrix and result (weights rounded to 3 places, CR 0.022) are in the AHPy README
    # and its tests/test_compare.py (PhilipGriffith/AHPy, random_index='saaty').
    names = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
    a = _pairwise(names, {
        ("coffee", "wine"): 9, ("coffee", "tea"): 5, ("coffee", "beer"): 2, ("coffee", "soda"): 1,
        ("coffee", "milk"): 1, ("coffee", "water"): 1 / 2, ("wine", "tea"): 1 / 3,
        ("wine", "beer"): 1 / 9, ("wine", "soda"): 1 / 9, ("wine", "milk"): 1 / 9,
        ("wine", "water"): 1 / 9, ("tea", "beer"): 1 / 3, ("tea", "soda"): 1 / 4,
        ("tea", "milk"): 1 / 3, ("tea", "water"): 1 / 9, ("beer", "soda"): 1 / 2,
        ("beer", "milk"): 1, ("beer", "water"): 1 / 3, ("soda", "milk"): 2,
        ("soda", "water"): 1 / 2, ("milk", "water"): 1 / 3})
    r = W.ahp_weights(a)
    assert r.weights.round(3).tolist() == [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert round(r.cr, 3) == 0.022 and r.consistent and r.ri == 1.32
    assert r.ci == pytest.approx((r.lambda_max - 7) / 6)


def test_ahp_saaty_cities_hierarchy():
    # Choosing a city (criteria culture, family, housing, jobs, transportation; alternatives
    # Bethesda, Boston, Pittsburgh, Santa Fe): T. L. Saaty, *Theory and Applications of the
    # Analytic Network Process*, RWS Publications, 2005; global priorities 0.229 / 0.275 / 0.385 /
    # 0.111 as reproduced in AHPy's tests/test_compose.py (PhilipGriffith/AHPy).
    crit = ["Culture", "Family", "Housing", "Jobs", "Transportation"]
    cities = ["Bethesda", "Boston", "Pittsburgh", "Santa Fe"]
    c = _pairwise(crit, {("Culture", "Housing"): 3, ("Culture", "Transportation"): 5,
                         ("Family", "Culture"): 5, ("Family", "Housing"): 7,
                         ("Family", "Transportation"): 7, ("Housing", "Transportation"): 3,
                         ("Jobs", "Culture"): 2, ("Jobs", "Housing"): 4,
                         ("Jobs", "Transportation"): 7, ("Family", "Jobs"): 1})
    local = {
        "Culture": {("Boston", "Bethesda"): 2, ("Boston", "Pittsburgh"): 2.5,
                    ("Pittsburgh", "Bethesda"): 1, ("Santa Fe", "Bethesda"): 2,
                    ("Santa Fe", "Pittsburgh"): 2.5, ("Boston", "Santa Fe"): 1},
        "Family": {("Bethesda", "Boston"): 2, ("Bethesda", "Santa Fe"): 4,
                   ("Boston", "Santa Fe"): 2, ("Pittsburgh", "Bethesda"): 3,
                   ("Pittsburgh", "Boston"): 8, ("Pittsburgh", "Santa Fe"): 9},
        "Housing": {("Bethesda", "Boston"): 5, ("Bethesda", "Santa Fe"): 2.5,
                    ("Pittsburgh", "Bethesda"): 2, ("Pittsburgh", "Boston"): 9,
                    ("Pittsburgh", "Santa Fe"): 7, ("Santa Fe", "Boston"): 4},
        "Jobs": {("Bethesda", "Pittsburgh"): 3, ("Bethesda", "Santa Fe"): 4,
                 ("Boston", "Bethesda"): 2, ("Boston", "Pittsburgh"): 6,
                 ("Boston", "Santa Fe"): 8, ("Pittsburgh", "Santa Fe"): 1},
        "Transportation": {("Bethesda", "Boston"): 1.5, ("Bethesda", "Santa Fe"): 4,
                           ("Boston", "Santa Fe"): 2.5, ("Pittsburgh", "Bethesda"): 2,
                           ("Pittsburgh", "Boston"): 3.5, ("Pittsburgh", "Santa Fe"): 9},
    }
    top = W.ahp_weights(c)
    rows = [W.ahp_weights(_pairwise(cities, local[k])).weights for k in crit]
    assert W.compose(top.weights, rows).round(3).tolist() == [0.229, 0.275, 0.385, 0.111]
    with pytest.raises(SpecError, match=r"compose: 5 criterion weights but local has shape "
                                        r"\(4, 4\); it needs one row per criterion"):
        W.compose(top.weights, rows[:4])


def test_random_index_table_is_pinned():
    assert W.RANDOM_INDEX == (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
    with pytest.raises(SpecError, match="ahp_weights: at most 10 items; got 11"):
        W.ahp_weights(np.ones((11, 11)))


# ── seed 003: fuzzy-consistent matrix, expert survey, B = W ∘ R ──────────────────────────────────
def test_seed_fuzzy_formula_hand_computed_3x3():
    f = [[0.5, 0.7, 0.6], [0.3, 0.5, 0.4], [0.4, 0.6, 0.5]]
    # row sums 1.8, 1.2, 1.5 → r_ij = (r_i − r_j)/6 + 0.5
    r = W.fuzzy_consistent_matrix(f)
    assert r == pytest.approx(np.array([[0.5, 0.6, 0.55], [0.4, 0.5, 0.45], [0.45, 0.55, 0.5]]))
    # Σ_k r_ik = 1.65, 1.35, 1.5; a = 1: w = 1/3 − 1/2 + Σ/3
    assert W.fuzzy_consistent_weights(r) == pytest.approx([0.383333, 0.283333, 0.333333], abs=1e-6)
    # a = 2: w = 1/3 − 1/4 + Σ/6 (flatter)
    assert W.fuzzy_consistent_weights(r, a=2) == pytest.approx([0.358333, 0.308333, 0.333333],
                                                               abs=1e-6)


def test_seed_expert_survey_example():
    # seed 003 (工程项目经理, 表5): 6 experts grade 业绩 A, 能力 B, 态度 C as 非常重要 4 / 重要 3 /
    # 比较重要 2 / 一般 1 → weights 0.40, 0.30, 0.30. The extracted text keeps only the result, so
    # the six answer rows are one table consistent with it (means 4, 3, 3).
    answers = [["非常重要", "重要", "重要"],
               ["非常重要", "重要", "重要"],
               ["非常重要", "重要", "比较重要"],
               ["非常重要", "非常重要", "重要"],
               ["非常重要", "比较重要", "非常重要"],
               ["非常重要", "重要", "重要"]]
    assert W.expert_weights(answers).round(2).tolist() == [0.40, 0.30, 0.30]
    # numbers work the same; a missing answer leaves the mean of the others
    assert W.expert_weights([[4, 3, None], [4, 3, 3]]) == pytest.approx([0.4, 0.3, 0.3])
    # seed 003's second level: 业绩 0.4 × (0.16, 0.18, 0.25, 0.29, 0.12)
    combined = W.combine_weights([0.4, 0.3, 0.3], [[0.16, 0.18, 0.25, 0.29, 0.12], [1], [1]])
    assert combined[0] == pytest.approx([0.064, 0.072, 0.1, 0.116, 0.048])
    assert sum(c.sum() for c in combined) == pytest.approx(1)


W3 = [0.5, 0.3, 0.2]
R3 = [[0.6, 0.3, 0.1, 0.0], [0.2, 0.5, 0.2, 0.1], [0.1, 0.2, 0.4, 0.3]]


def test_fuzzy_evaluation_both_operators_hand_computed():
    # M(·, ⊕): b_j = Σ w_i r_ij
    assert W.fuzzy_evaluation(W3, R3) == pytest.approx([0.38, 0.34, 0.19, 0.09])
    # M(∧, ∨): b_j = max_i min(w_i, r_ij) = 0.5, 0.3, 0.2, 0.2 (sum 1.2) → normalised
    assert W.fuzzy_evaluation(W3, R3, operator="min_max", normalise=False) == pytest.approx(
        [0.5, 0.3, 0.2, 0.2])
    assert W.fuzzy_evaluation(W3, R3, operator="min_max") == pytest.approx(
        [0.5 / 1.2, 0.3 / 1.2, 0.2 / 1.2, 0.2 / 1.2])
    grades = {"优": 95, "良": 85, "中": 75, "差": 60}
    assert W.fuzzy_score(W.fuzzy_evaluation(W3, R3), grades) == pytest.approx(
        0.38 * 95 + 0.34 * 85 + 0.19 * 75 + 0.09 * 60)


def test_two_level_fuzzy_evaluation():
    g1 = ([0.6, 0.4], [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])   # B1 = 0.3, 0.5, 0.2
    g2 = ([1.0], [[0.2, 0.2, 0.6]])                          # B2 = 0.2, 0.2, 0.6
    b, bk = W.fuzzy_evaluation_two_level([0.7, 0.3], [g1, g2])
    assert bk == pytest.approx(np.array([[0.3, 0.5, 0.2], [0.2, 0.2, 0.6]]))
    assert b == pytest.approx([0.27, 0.41, 0.32])
    # weighted average: the same as one level with the combined weights over the stacked rows
    flat = np.concatenate(W.combine_weights([0.7, 0.3], [g1[0], g2[0]]))
    assert W.fuzzy_evaluation(flat, g1[1] + g2[1]) == pytest.approx(b)
    # min–max, not normalised: B1 = (0.5, 0.5, 0.4), B2 = (0.2, 0.2, 0.6), then max_k min(a_k, B_k)
    b_mm, _ = W.fuzzy_evaluation_two_level([0.7, 0.3], [g1, g2], operator="min_max",
                                           normalise=False)
    assert b_mm == pytest.approx([0.5, 0.5, 0.4])


# ── t distribution and regressions ─────────────────────────────────────────────────────────────
def test_t_pvalues_match_tables():
    assert W.t_pvalue(2.0, 10) == pytest.approx(0.073388, abs=1e-6)       # t table, df 10
    assert W.t_pvalue(2.228139, 10) == pytest.approx(0.05, abs=1e-6)      # t(0.975, 10)
    assert W.t_pvalue(1.0, 1) == pytest.approx(0.5)                       # Cauchy
    assert W.t_pvalue(3.0, 5, "greater") == pytest.approx(0.015050, abs=1e-6)
    assert W.t_pvalue(-3.0, 5, "greater") == pytest.approx(1 - 0.015050, abs=1e-6)
    assert W.t_pvalue(float("inf"), 5) == 0.0
    with pytest.raises(SpecError, match="t_pvalue: df must be > 0; got 0"):
        W.t_pvalue(1.0, 0)
    with pytest.raises(SpecError, match="t_pvalue: alternative must be two-sided, greater or less; "
                                        "got 'both'"):
        W.t_pvalue(1.0, 3, "both")


def test_regression_p_values_and_summary():
    rng = np.random.default_rng(3)
    m = rng.normal(0.01, 0.05, 60)
    y = 0.004 + 1.1 * m + rng.normal(0, 0.01, 60)
    fit = W.jensen_alpha(y, m)
    assert fit.df == 58
    assert fit.p("beta") < 1e-10 and 0 <= fit.p("alpha") <= 1
    assert fit.p("alpha", "greater") == pytest.approx(fit.p("alpha") / 2)  # alpha > 0 here
    row = fit.summary()
    assert set(row) == {"alpha", "alpha_t", "alpha_p", "beta", "beta_t", "beta_p", "r2", "n"}
    with pytest.raises(SpecError, match=r"jensen_alpha: returns \(3,\) and market \(2,\) must be "
                                        "1-d and of equal length"):
        W.jensen_alpha([0.1, 0.2, 0.3], [0.1, 0.2])


# ── every bad input ────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("call, message", [
    (lambda: W.ahp_weights([[1, 2], [0.5, 1], [1, 1]]), r"ahp_weights: matrix must be a non-empty "
                                                         r"square matrix; got shape \(3, 2\)"),
    (lambda: W.ahp_weights([]), r"ahp_weights: matrix must be a non-empty square matrix"),
    (lambda: W.ahp_weights([[1, -2], [-0.5, 1]]), r"ahp_weights: matrix entries must be > 0; "
                                                   r"a\[0\]\[1\] = -2"),
    (lambda: W.ahp_weights([[1, 0], [0, 1]]), r"matrix entries must be > 0; a\[0\]\[1\] = 0"),
    (lambda: W.ahp_weights([[1, float("nan")], [1, 1]]), "matrix must hold finite numbers"),
    (lambda: W.ahp_weights([[2, 1], [1, 1]]), r"must be reciprocal .*a\[0\]\[0\] = 2"),
    (lambda: W.fuzzy_consistent_matrix([[0.5, 0.7], [0.7, 0.5]]),
     r"fuzzy_consistent_matrix: f must be complementary \(f\[i\]\[j\] \+ f\[j\]\[i\] = 1\); "
     r"f\[0\]\[1\] = 0.7 and f\[1\]\[0\] = 0.7"),
    (lambda: W.fuzzy_consistent_matrix([[0.5, 1.5], [-0.5, 0.5]]),
     "fuzzy_consistent_matrix: entries of f must lie between 0 and 1"),
    (lambda: W.fuzzy_consistent_matrix([[0.5, 0.5]]),
     r"fuzzy_consistent_matrix: f must be a non-empty square matrix; got shape \(1, 2\)"),
    (lambda: W.fuzzy_consistent_weights([[0.5, 1.2], [-0.2, 0.5]]),
     "fuzzy_consistent_weights: entries of r must lie between 0 and 1"),
    (lambda: W.fuzzy_consistent_weights([[0.5, 0.6], [0.6, 0.5]]),
     r"fuzzy_consistent_weights: r must be complementary .*r\[0\]\[1\] = 0.6"),
    (lambda: W.fuzzy_consistent_weights([[0.5, 0.6], [0.4, 0.5]], a=0.2),
     r"fuzzy_consistent_weights: a must be ≥ \(n − 1\)/2 = 0.5; got 0.2"),
    (lambda: W.expert_weights([[4, 3], [4]]),
     r"expert_weights: scores must be experts × indicators, every expert rating every indicator "
     r"\(row lengths \[1, 2\]\)"),
    (lambda: W.expert_weights([]), "expert_weights: scores must be experts × indicators"),
    (lambda: W.expert_weights([["非常重要", "很重要"]]),
     r"expert_weights: scores\[0\]\[1\] = '很重要' is not a grade; known: 非常重要=4, 重要=3, "
     r"比较重要=2, 一般=1"),
    (lambda: W.expert_weights([[4, None], [3, None]]),
     "expert_weights: every indicator needs at least one answer"),
    (lambda: W.expert_weights([[0, 0]]), "some score must be positive"),
    (lambda: W.fuzzy_evaluation(W3, R3, operator="max_product"),
     "fuzzy_evaluation: unknown operator 'max_product'; known: weighted_average, min_max"),
    (lambda: W.fuzzy_evaluation([0.5, 0.3, 0.3], R3),
     "fuzzy_evaluation: weights must sum to 1; they sum to 1.1"),
    (lambda: W.fuzzy_evaluation([1.2, -0.2, 0], R3), r"fuzzy_evaluation: weights must be ≥ 0"),
    (lambda: W.fuzzy_evaluation([[0.5, 0.5]], R3), "weights must be a non-empty list of numbers"),
    (lambda: W.fuzzy_evaluation([0.5, 0.5], R3),
     r"fuzzy_evaluation: weights \(2,\) and r \(3, 4\) do not fit: r needs one row per weight"),
    (lambda: W.fuzzy_evaluation([1.0], [[1.5, -0.5]]),
     "fuzzy_evaluation: memberships in r must lie between 0 and 1"),
    (lambda: W.combine_weights([0.5, 0.5], [[1.0]]),
     "combine_weights: 2 first-level weights but 1 groups of second-level weights"),
    (lambda: W.combine_weights([0.5, 0.5], [[1.0], [0.5, 0.4]]),
     r"combine_weights: second\[1\] must sum to 1; they sum to 0.9"),
    (lambda: W.fuzzy_evaluation_two_level([1.0], []),
     "fuzzy_evaluation_two_level: 1 first-level weights but 0 groups"),
    (lambda: W.fuzzy_evaluation_two_level([0.5, 0.5], [([1.0], [[0.5, 0.5]]),
                                                        ([1.0], [[0.2, 0.3, 0.5]])]),
     r"every group must rate the same grades; got \[2, 3\] grades"),
    (lambda: W.fuzzy_score([0.5, 0.5], [90, 80, 70]), "fuzzy_score: 3 grade scores for 2 grades"),
    (lambda: W.treynor_mazuy([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]),
     "treynor_mazuy: needs more than 3 periods with data; got 3"),
])
def test_bad_input_messages(call, message):
    with pytest.raises(SpecError, match=message):
        call()
