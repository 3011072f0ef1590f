"""Weighting methods and alternative evaluations an analyst can call from a notebook.

Weights (each returns weights summing to 1, in the order of the matrix rows / columns):

* :func:`ahp_weights` — AHP (层次分析法): principal eigenvector of a reciprocal pairwise-comparison
  matrix (Saaty 1–9 scale), with λmax, consistency index CI = (λmax − n)/(n − 1) and consistency
  ratio CR = CI / RI (pinned, cited :data:`RANDOM_INDEX`; CR > 0.1 is flagged); :func:`compose`
  synthesises a two-level hierarchy.
* :func:`fuzzy_consistent_weights` — fuzzy-consistent-matrix weights (模糊一致矩阵, seed 003):
  ``w_i = 1/n − 1/(2a) + (1/(n·a))·Σ_k r_ik`` with ``a ≥ (n−1)/2`` (default ``(n−1)/2``, the most
  discriminating); :func:`fuzzy_consistent_matrix` turns a fuzzy complementary matrix into one.
* :func:`expert_weights` — expert-survey weights (专家调查法): importance grades (非常重要 4 …
  一般 1) per expert → mean per indicator → normalised.

Evaluations:

* :func:`fuzzy_evaluation` — fuzzy comprehensive evaluation ``B = W ∘ R`` (模糊综合评价) with the
  weighted-average M(·, ⊕) or min–max M(∧, ∨) operator; :func:`fuzzy_evaluation_two_level` and
  :func:`combine_weights` for the two-level form; :func:`fuzzy_score` turns B into one number with a
  score per rating grade.
* :func:`jensen_alpha` and :func:`treynor_mazuy` — regressions of excess returns on the market's
  excess return (numpy least squares) with t and p values (:func:`t_pvalue`, Student's t through
  the regularised incomplete beta function, no scipy), for risk-adjusted and market-timing
  evaluation (see :mod:`perfkit.appraisal.advisor`).

:func:`get` is the registry of weighting methods by name (``ahp``, ``fuzzy_consistent``, ``expert``).
Bad input raises :class:`~perfkit.errors.SpecError` naming the function, the argument and the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.errors import SpecError

#: Saaty's random consistency index RI by matrix order n = 1 … 10 (the mean CI of random reciprocal
#: matrices) as tabulated in T. L. Saaty, *The Analytic Hierarchy Process*, McGraw-Hill, New York,
#: 1980. Pinned: every CR perfkit computes is CI / these values (later re-estimations differ in the
#: second decimal; tests/test_weights.py checks Saaty's published drinks example, CR 0.022).
RANDOM_INDEX = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
#: Saaty's acceptance threshold: judgements with CR above it should be revised.
CR_THRESHOLD = 0.1


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
    def ri(self) -> float:
        """The random index used (:data:`RANDOM_INDEX` of the matrix order)."""
        return RANDOM_INDEX[len(self.weights) - 1]

    @property
    def consistent(self) -> bool:
        """Saaty's rule: the judgements are acceptable when CR ≤ 0.1 (flagged when CR > 0.1)."""
        return self.cr <= CR_THRESHOLD


def ahp_weights(matrix: Sequence[Sequence[float]], *, tol: float = 1e-6) -> AHPResult:
    """AHP weights of a positive reciprocal matrix (a_ij = importance of i over j, a_ji = 1/a_ij).

    Raises SpecError for a matrix that is not square, not positive or not reciprocal within ``tol``
    (relative), or larger than 10 (no pinned random index).
    """
    a = _square("ahp_weights", "matrix", matrix)
    n = a.shape[0]
    if (a <= 0).any():
        i, j = np.argwhere(a <= 0)[0]
        raise SpecError(f"ahp_weights: matrix entries must be > 0; a[{i}][{j}] = {a[i, j]:g}")
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
    _complementary("fuzzy_consistent_matrix", "f", a)
    r = a.sum(axis=1)
    return (r[:, None] - r[None, :]) / (2 * n) + 0.5


def _complementary(name: str, arg: str, m: np.ndarray) -> None:
    bad = ~np.isclose(m + m.T, 1.0, atol=1e-6)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SpecError(f"{name}: {arg} must be complementary ({arg}[i][j] + {arg}[j][i] = 1); "
                        f"{arg}[{i}][{j}] = {m[i, j]:g} and {arg}[{j}][{i}] = {m[j, i]:g}")


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
    if ((m < 0) | (m > 1)).any():
        raise SpecError("fuzzy_consistent_weights: entries of r must lie between 0 and 1")
    _complementary("fuzzy_consistent_weights", "r", m)
    lo = (n - 1) / 2
    a = lo if a is None else float(a)
    if a < lo:
        raise SpecError(f"fuzzy_consistent_weights: a must be ≥ (n − 1)/2 = {lo:g}; got {a:g}")
    return 1.0 / n - 1.0 / (2 * a) + m.sum(axis=1) / (n * a)


#: Importance grades of seed 003's expert survey (非常重要 4, 重要 3, 比较重要 2, 一般 1).
IMPORTANCE_GRADES: dict[str, float] = {"非常重要": 4.0, "重要": 3.0, "比较重要": 2.0, "一般": 1.0}


def expert_weights(
    scores: Sequence[Sequence[float | str | None]], grades: Mapping[str, float] | None = None
) -> np.ndarray:
    """Expert-survey weights (专家调查权重法): ``scores`` is experts × indicators, each cell an
    importance number (≥ 0) or a grade label of ``grades`` (default :data:`IMPORTANCE_GRADES`);
    None / NaN = no answer. The weight is each indicator's mean score over the experts who
    answered, normalised to sum 1 (seed 003: 6 experts → 0.40 / 0.30 / 0.30)."""
    g = dict(IMPORTANCE_GRADES if grades is None else grades)
    rows = [list(r) for r in scores] if not isinstance(scores, np.ndarray) else scores.tolist()
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        lens = sorted({len(r) for r in rows})
        raise SpecError(f"expert_weights: scores must be experts × indicators, every expert rating "
                        f"every indicator (row lengths {lens})")

    def num(x, i, j) -> float:
        if x is None:
            return np.nan
        if isinstance(x, str):
            if x.strip() in g:
                return float(g[x.strip()])
            raise SpecError(f"expert_weights: scores[{i}][{j}] = {x!r} is not a grade; known: "
                            + ", ".join(f"{k}={v:g}" for k, v in g.items()))
        return float(x)

    s = np.array([[num(x, i, j) for j, x in enumerate(r)] for i, r in enumerate(rows)])
    if (s[~np.isnan(s)] < 0).any():
        raise SpecError("expert_weights: scores must be ≥ 0")
    answered = (~np.isnan(s)).sum(axis=0)
    mean = np.nansum(s, axis=0) / np.where(answered > 0, answered, 1)
    if (answered == 0).any() or mean.sum() <= 0:
        raise SpecError("expert_weights: every indicator needs at least one answer and some "
                        "score must be positive")
    return mean / mean.sum()


def _weight_vector(name: str, arg: str, weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype="float64")
    if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all():
        raise SpecError(f"{name}: {arg} must be a non-empty list of numbers; got shape {w.shape}")
    if (w < 0).any():
        raise SpecError(f"{name}: {arg} must be ≥ 0; got {w.tolist()}")
    if not np.isclose(w.sum(), 1.0, atol=1e-6):
        raise SpecError(f"{name}: {arg} must sum to 1; they sum to {w.sum():g}")
    return w


def _membership(name: str, arg: str, r: Sequence[Sequence[float]], n: int) -> np.ndarray:
    m = np.asarray(r, dtype="float64")
    if m.ndim != 2 or m.shape[0] != n:
        raise SpecError(f"{name}: weights ({n},) and {arg} {m.shape} do not fit: {arg} needs one "
                        "row per weight")
    if not np.isfinite(m).all() or ((m < 0) | (m > 1)).any():
        raise SpecError(f"{name}: memberships in {arg} must lie between 0 and 1")
    return m


def _weighted_average(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """M(·, ⊕): b_j = min(1, Σ_i w_i · r_ij) — every indicator counts in proportion to its weight."""
    return np.minimum(1.0, w @ r)


def _min_max(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """M(∧, ∨): b_j = max_i min(w_i, r_ij) — Zadeh's operator; the main factor decides."""
    return np.max(np.minimum(w[:, None], r), axis=0)


#: Composition operators of B = W ∘ R, by name.
FUZZY_OPERATORS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "weighted_average": _weighted_average,
    "min_max": _min_max,
}


def fuzzy_evaluation(
    weights: Sequence[float], r: Sequence[Sequence[float]], *,
    operator: str = "weighted_average", normalise: bool = True,
) -> np.ndarray:
    """Fuzzy comprehensive evaluation ``B = W ∘ R`` (模糊综合评价).

    ``weights``: n indicator weights (≥ 0, sum 1); ``r``: n × m membership matrix (row i = the
    share of raters giving indicator i each of the m grades, 0–1). ``operator``:
    ``weighted_average`` M(·, ⊕), b_j = min(1, Σ_i w_i r_ij), or ``min_max`` M(∧, ∨),
    b_j = max_i min(w_i, r_ij). With ``normalise`` B is scaled to sum 1 (unless it is all 0).
    """
    if operator not in FUZZY_OPERATORS:
        raise SpecError(f"fuzzy_evaluation: unknown operator {operator!r}; known: "
                        + ", ".join(FUZZY_OPERATORS))
    w = _weight_vector("fuzzy_evaluation", "weights", weights)
    m = _membership("fuzzy_evaluation", "r", r, len(w))
    b = FUZZY_OPERATORS[operator](w, m)
    if normalise and b.sum() > 0:
        b = b / b.sum()
    return b


def combine_weights(
    first: Sequence[float], second: Sequence[Sequence[float]]
) -> list[np.ndarray]:
    """Two-level weights: each second-level weight × its first-level indicator's weight (seed 003:
    业绩 0.4 × (0.16, 0.18, 0.25, 0.29, 0.12)). ``second[k]`` are the weights (sum 1) of the
    indicators under first-level indicator k. The result sums to 1 over all groups."""
    a = _weight_vector("combine_weights", "first", first)
    if len(second) != len(a):
        raise SpecError(f"combine_weights: {len(a)} first-level weights but {len(second)} groups "
                        "of second-level weights")
    return [a[k] * _weight_vector("combine_weights", f"second[{k}]", w)
            for k, w in enumerate(second)]


def fuzzy_evaluation_two_level(
    first: Sequence[float],
    groups: Sequence[tuple[Sequence[float], Sequence[Sequence[float]]]],
    *, operator: str = "weighted_average", normalise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-level fuzzy evaluation: each group k (second-level weights W_k, memberships R_k) gives
    B_k = W_k ∘ R_k; the first-level weights A then give B = A ∘ [B_1; …; B_K].

    Returns (B, the K × m matrix of the B_k). With the weighted-average operator B equals the
    one-level evaluation with the combined weights :func:`combine_weights` over the stacked R_k.
    """
    a = _weight_vector("fuzzy_evaluation_two_level", "first", first)
    if len(groups) != len(a):
        raise SpecError(f"fuzzy_evaluation_two_level: {len(a)} first-level weights but "
                        f"{len(groups)} groups")
    sub = [fuzzy_evaluation(w, r, operator=operator, normalise=normalise) for w, r in groups]
    if len({len(b) for b in sub}) != 1:
        raise SpecError("fuzzy_evaluation_two_level: every group must rate the same grades; got "
                        f"{[len(b) for b in sub]} grades")
    bk = np.vstack(sub)
    return fuzzy_evaluation(a, bk, operator=operator, normalise=normalise), bk


def fuzzy_score(b: Sequence[float], grade_scores: Sequence[float] | Mapping[str, float]) -> float:
    """One number from an evaluation vector: ``Σ b_j · score_j`` (e.g. 优/良/中/差 → 95/85/75/60;
    a mapping gives the scores in the order of its grades)."""
    bv = np.asarray(b, dtype="float64")
    vals = list(grade_scores.values()) if isinstance(grade_scores, Mapping) else grade_scores
    g = np.asarray(vals, dtype="float64")
    if bv.shape != g.shape:
        raise SpecError(f"fuzzy_score: {len(g)} grade scores for {len(bv)} grades")
    return float(bv @ g)


def compose(first: Sequence[float], local: Sequence[Sequence[float]]) -> np.ndarray:
    """AHP synthesis: global priorities of the alternatives = Σ_k criterion weight_k × the
    alternatives' local weights under criterion k (``local`` is criteria × alternatives)."""
    a = _weight_vector("compose", "first", first)
    m = np.asarray(local, dtype="float64")
    if m.ndim != 2 or m.shape[0] != len(a):
        raise SpecError(f"compose: {len(a)} criterion weights but local has shape {m.shape}; "
                        "it needs one row per criterion")
    return a @ m


# --------------------------------------------------------------------------------------------
# Student's t distribution (for p values; no scipy needed)
# --------------------------------------------------------------------------------------------
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes 6.4)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_pvalue(t: float, df: float, alternative: str = "two-sided") -> float:
    """p value of a t statistic with ``df`` degrees of freedom: ``two-sided`` P(|T| ≥ |t|),
    ``greater`` P(T ≥ t), ``less`` P(T ≤ t). An infinite t gives 0 (or 1); NaN gives NaN."""
    if df <= 0:
        raise SpecError(f"t_pvalue: df must be > 0; got {df}")
    if alternative not in ("two-sided", "greater", "less"):
        raise SpecError(f"t_pvalue: alternative must be two-sided, greater or less; got "
                        f"{alternative!r}")
    if math.isnan(t):
        return math.nan
    tail = 0.0 if math.isinf(t) else 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))  # P(T ≥ |t|)
    if alternative == "two-sided":
        return 2.0 * tail
    upper = tail if t >= 0 else 1.0 - tail  # P(T ≥ t)
    return upper if alternative == "greater" else 1.0 - upper


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

    @property
    def df(self) -> int:
        """Residual degrees of freedom n − k."""
        return self.n - len(self.names)

    def t(self, name: str) -> float:
        """t value coef / stderr (±inf for an exact fit with a non-zero coefficient, NaN for 0/0)."""
        i = self.names.index(name)
        c, se = float(self.coef[i]), float(self.stderr[i])
        if se > 0:
            return c / se
        return math.nan if abs(c) < 1e-15 else math.copysign(math.inf, c)

    def p(self, name: str, alternative: str = "two-sided") -> float:
        """p value of the t test that the coefficient is 0 (:func:`t_pvalue`)."""
        return t_pvalue(self.t(name), self.df, alternative)

    def summary(self) -> dict[str, float]:
        """{name, name_t, name_p for every coefficient, r2, n} — one row of a results frame."""
        out: dict[str, float] = {}
        for k in self.names:
            out[k], out[f"{k}_t"], out[f"{k}_p"] = self[k], self.t(k), self.p(k)
        out["r2"], out["n"] = self.r2, self.n
        return out


def _excess(returns, market, rf, who: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(returns, dtype="float64")
    x = np.asarray(market, dtype="float64")
    f = np.broadcast_to(np.asarray(rf, dtype="float64"), y.shape)
    if y.shape != x.shape or y.ndim != 1:
        raise SpecError(f"{who}: returns {y.shape} and market {x.shape} must be 1-d and of equal "
                        "length")
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
    y, x = _excess(returns, market, rf, "jensen_alpha")
    return _fit(y, [np.ones_like(x), x], ("alpha", "beta"), "jensen_alpha")


def treynor_mazuy(returns, market, rf=0.0) -> Regression:
    """Treynor–Mazuy timing: ``R_p − R_f = α + β (R_m − R_f) + γ (R_m − R_f)² + ε``; γ > 0 (and
    significant) indicates market-timing skill. Result names: alpha, beta, gamma."""
    y, x = _excess(returns, market, rf, "treynor_mazuy")
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
