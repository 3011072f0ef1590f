"""Weighting methods and alternative evaluations an analyst can call from a notebook.

Weights (each returns weights summing to 1, in the order of the matrix rows / columns):

* :func:`ahp_weights` — AHP (层次分析法): principal eigenvector of a reciprocal pairwise-comparison
  matrix (Saaty 1–9 scale), with λmax, consistency index CI and consistency ratio CR (< 0.1 is
  acceptable).
* :func:`fuzzy_consistent_weights` — fuzzy-consistent-matrix weights (模糊一致矩阵):
  ``w_i = 1/n − 1/(2a) + (1/(n·a))·Σ_k r_ik`` with ``a ≥ (n−1)/2`` (default ``(n−1)/2``, the most
  discriminating); :func:`fuzzy_consistent_matrix` turns a fuzzy complementary matrix into one.
* :func:`expert_weights` — expert-survey weights (专家调查法): mean importance per indicator, normalised.

Evaluations:

* :func:`fuzzy_evaluation` — fuzzy comprehensive evaluation ``B = W·R`` (模糊综合评价), and
  :func:`fuzzy_score` to turn B into one number with a score per rating grade.
* :func:`jensen_alpha` and :func:`treynor_mazuy` — regressions of excess returns on the market's
  excess return (numpy least squares), for risk-adjusted and market-timing evaluation.

:func:`get` is the registry of weighting methods by name (``ahp``, ``fuzzy_consistent``, ``expert``).
Bad input raises :class:`~perfkit.errors.SpecError` naming the function, the argument and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.errors import SpecError

# Saaty's random consistency index RI by matrix order n (n = 1 … 15).
RANDOM_INDEX = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.54, 1.56, 1.57, 1.59)


def _square(name: str, arg: str, m: Sequence[Sequence[float]]) -> np.ndarray:
    a = np.asarray(m, dtype="float64")
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise SpecError(f"{name}: {arg} must be a non-empty square matrix; got shape {a.shape}")
    if not np.isfinite(a).all():
        raise SpecError(f"{name}: {arg} must hold finite numbers")
    return a


@dataclass(frozen=True)
class AHPResult:
    """AHP weights (sum 1), λmax, CI = (λmax − n)/(n − 1), CR = CI / RI(n) (0 for n ≤ 2)."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float

    @property
    def consistent(self) -> bool:
        """Saaty's rule: the judgements are acceptable when CR < 0.1."""
        return self.cr < 0.1


def ahp_weights(matrix: Sequence[Sequence[float]], *, tol: float = 1e-6) -> AHPResult:
    """AHP weights of a positive reciprocal matrix (a_ij = importance of i over j, a_ji = 1/a_ij).

    Raises SpecError for a matrix that is not square, not positive or not reciprocal within ``tol``
    (relative), or larger than 15 (no random index).
    """
    a = _square("ahp_weights", "matrix", matrix)
    n = a.shape[0]
    if (a <= 0).any():
        raise SpecError("ahp_weights: matrix entries must be > 0")
    if not np.allclose(a * a.T, 1.0, rtol=tol, atol=tol):
        i, j = np.argwhere(~np.isclose(a * a.T, 1.0, rtol=tol, atol=tol))[0]
        raise SpecError(f"ahp_weights: matrix must be reciprocal (a[j][i] = 1 / a[i][j]); "
                        f"a[{i}][{j}] = {a[i, j]:g} but a[{j}][{i}] = {a[j, i]:g}")
    if n > len(RANDOM_INDEX):
        raise SpecError(f"ahp_weights: at most {len(RANDOM_INDEX)} items; got {n}")
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    lam = float(values[k].real)
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    ri = RANDOM_INDEX[n - 1]
    cr = ci / ri if ri > 0 else 0.0
    return AHPResult(weights=w, lambda_max=lam, ci=max(ci, 0.0), cr=max(cr, 0.0))


def fuzzy_consistent_matrix(f: Sequence[Sequence[float]]) -> np.ndarray:
    """Turn a fuzzy complementary matrix (f_ij + f_ji = 1, 0 ≤ f_ij ≤ 1) into a fuzzy consistent one:
    ``r_ij = (r_i − r_j) / (2n) + 0.5`` with ``r_i = Σ_k f_ik``."""
    a = _square("fuzzy_consistent_matrix", "f", f)
    n = a.shape[0]
    if ((a < 0) | (a > 1)).any():
        raise SpecError("fuzzy_consistent_matrix: entries of f must lie between 0 and 1")
    r = a.sum(axis=1)
    return (r[:, None] - r[None, :]) / (2 * n) + 0.5


def fuzzy_consistent_weights(r: Sequence[Sequence[float]], a: float | None = None) -> np.ndarray:
    """Weights from a fuzzy consistent matrix R: ``w_i = 1/n − 1/(2a) + (1/(n·a))·Σ_k r_ik``.

    ``a`` ≥ (n − 1)/2 (default exactly (n − 1)/2, which spreads the weights most; larger ``a``
    flattens them towards 1/n). n = 1 gives [1]. Raises SpecError for a < (n − 1)/2 or a matrix
    that is not complementary (r_ij + r_ji = 1 within 1e-6).
    """
    m = _square("fuzzy_consistent_weights", "r", r)
    n = m.shape[0]
    if n == 1:
        return np.array([1.0])
    if not np.allclose(m + m.T, 1.0, atol=1e-6):
        raise SpecError("fuzzy_consistent_weights: r must be complementary (r[i][j] + r[j][i] = 1)")
    lo = (n - 1) / 2
    a = lo if a is None else float(a)
    if a < lo:
        raise SpecError(f"fuzzy_consistent_weights: a must be ≥ (n − 1)/2 = {lo:g}; got {a:g}")
    return 1.0 / n - 1.0 / (2 * a) + m.sum(axis=1) / (n * a)


def expert_weights(scores: Sequence[Sequence[float]]) -> np.ndarray:
    """Expert-survey weights: ``scores`` is experts × indicators (importance, ≥ 0; NaN = no answer);
    the weight is each indicator's mean score over the experts who answered, normalised to sum 1."""
    s = np.asarray(scores, dtype="float64")
    if s.ndim != 2 or s.size == 0:
        raise SpecError(f"expert_weights: scores must be experts × indicators; got shape {s.shape}")
    if (s[~np.isnan(s)] < 0).any():
        raise SpecError("expert_weights: scores must be ≥ 0")
    mean = np.nanmean(s, axis=0)
    if np.isnan(mean).any() or mean.sum() <= 0:
        raise SpecError("expert_weights: every indicator needs at least one positive score")
    return mean / mean.sum()


def fuzzy_evaluation(
    weights: Sequence[float], r: Sequence[Sequence[float]], *, normalise: bool = True
) -> np.ndarray:
    """Fuzzy comprehensive evaluation ``B = W·R`` (weighted-average operator M(·, +)).

    ``weights``: n indicator weights (sum 1); ``r``: n × m membership matrix (row i = the share of
    raters giving indicator i each of the m grades). With ``normalise`` B is scaled to sum 1.
    """
    w = np.asarray(weights, dtype="float64")
    m = np.asarray(r, dtype="float64")
    if m.ndim != 2 or w.ndim != 1 or m.shape[0] != w.shape[0]:
        raise SpecError(f"fuzzy_evaluation: weights ({w.shape}) and r ({m.shape}) do not fit: "
                        "r needs one row per weight")
    b = w @ m
    if normalise and b.sum() > 0:
        b = b / b.sum()
    return b


def fuzzy_score(b: Sequence[float], grade_scores: Sequence[float]) -> float:
    """One number from an evaluation vector: ``Σ b_j · score_j`` (e.g. scores 95/85/75/65/50)."""
    bv = np.asarray(b, dtype="float64")
    g = np.asarray(grade_scores, dtype="float64")
    if bv.shape != g.shape:
        raise SpecError(f"fuzzy_score: {len(g)} grade scores for {len(bv)} grades")
    return float(bv @ g)


@dataclass(frozen=True)
class Regression:
    """Least-squares fit of excess returns: coefficients, their standard errors and t values, R²."""

    names: tuple[str, ...]
    coef: np.ndarray
    stderr: np.ndarray
    r2: float
    n: int

    def __getitem__(self, name: str) -> float:
        return float(self.coef[self.names.index(name)])

    def t(self, name: str) -> float:
        i = self.names.index(name)
        return float(self.coef[i] / self.stderr[i]) if self.stderr[i] > 0 else float("inf")


def _excess(returns, market, rf) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(returns, dtype="float64")
    x = np.asarray(market, dtype="float64")
    f = np.broadcast_to(np.asarray(rf, dtype="float64"), y.shape)
    if y.shape != x.shape or y.ndim != 1:
        raise SpecError(f"returns ({y.shape}) and market ({x.shape}) must be 1-d and of equal length")
    ok = ~(np.isnan(y) | np.isnan(x) | np.isnan(f))
    return (y - f)[ok], (x - f)[ok]


def _fit(y: np.ndarray, cols: list[np.ndarray], names: tuple[str, ...], who: str) -> Regression:
    n, k = len(y), len(cols)
    if n <= k:
        raise SpecError(f"{who}: needs more than {k} periods with data; got {n}")
    x = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    ssr = float(resid @ resid)
    sst = float(((y - y.mean()) ** 2).sum())
    sigma2 = ssr / (n - k)
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    return Regression(names=names, coef=coef, stderr=np.sqrt(np.clip(np.diag(cov), 0, None)),
                      r2=1.0 - ssr / sst if sst > 0 else 1.0, n=n)


def jensen_alpha(returns, market, rf=0.0) -> Regression:
    """Jensen's alpha: ``R_p − R_f = α + β (R_m − R_f) + ε`` (returns per period as fractions;
    ``rf`` a number or one per period). Periods with a NaN are dropped. Result names: alpha, beta."""
    y, x = _excess(returns, market, rf)
    return _fit(y, [np.ones_like(x), x], ("alpha", "beta"), "jensen_alpha")


def treynor_mazuy(returns, market, rf=0.0) -> Regression:
    """Treynor–Mazuy timing: ``R_p − R_f = α + β (R_m − R_f) + γ (R_m − R_f)² + ε``; γ > 0 (and
    significant) indicates market-timing skill. Result names: alpha, beta, gamma."""
    y, x = _excess(returns, market, rf)
    return _fit(y, [np.ones_like(x), x, x * x], ("alpha", "beta", "gamma"), "treynor_mazuy")


_WEIGHTING: dict[str, Callable[..., object]] = {}


def register(name: str, fn: Callable[..., object]) -> None:
    """Register a weighting method under ``name``."""
    _WEIGHTING[name] = fn


def get(name: str) -> Callable[..., object]:
    """The weighting method ``name``; the error names the unknown key and the known ones."""
    try:
        return _WEIGHTING[name]
    except KeyError:
        raise SpecError(f"unknown weighting method {name!r}; known: {', '.join(sorted(_WEIGHTING))}"
                        ) from None


register("ahp", ahp_weights)
register("fuzzy_consistent", fuzzy_consistent_weights)
register("expert", expert_weights)
