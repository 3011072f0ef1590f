from __future__ import annotations

import numpy as np
import pytest

from perfkit import weights as W
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
