"""Risk-adjusted advisor evaluation (seed 003: fund-manager appraisal; bank client-manager article).

An employee is judged like a fund manager whose fund is the assets his clients hold:

* **Monthly return** of an employee (his "portfolio") in month t, modified Dietz over the clients
  he owned that month (``client_months.employee_id``)::

      r_t = Σ pnl / Σ (assets_begin + ½ · net_inflow)

  i.e. the clients' investment P&L over the capital at work, transfers counted as made mid-month,
  so money moving in or out is not mistaken for return. A month whose denominator is ≤ 0 (no
  assets) has no return.
* **Excess returns** ``ER_t = r_t − rf_t`` and ``MR_t = m_t − rf_t`` against the ``market`` table
  (benchmark index return and risk-free rate per month), over the last ``window_months`` months.
* **Jensen** ``ER = α + β·MR + ε`` and **Treynor–Mazuy** ``ER = a + b·MR + c·MR² + e`` (numpy least
  squares, :mod:`perfkit.appraisal.weights`), with t and two-sided p values.
* **MRAR(γ)** (Morningstar risk-adjusted return, annualised) = ``[(1/T) Σ (1 + ER_t)^(−γ)]^(−12/γ) − 1``;
  γ = 0 is the geometric mean ``exp(12 · mean ln(1 + ER_t)) − 1``. Default γ = 2.
* **Rank band and stars** within the peer group (default position) by MRAR: the top ``top_share`` %
  (default 40 %, seed: A 级), the bottom ``bottom_share`` % (10 %, C 级), the rest B; stars by
  forced distribution (:func:`perfkit.appraisal.grades.assign_stars`, 10/22.5/35/22.5/10 %).
* **Action level** (:func:`action_level`, seed 003's 绩效考核流程):

  ========  ======================================  ==========================================
  band      Jensen α > 0 significant (97.5 %), or    otherwise
            Treynor–Mazuy a > 0 or c > 0 significant
            (95 %)
  ========  ======================================  ==========================================
  A (前40%)  奖励                                   督导 (α not significant or significantly < 0)
  B         督导                                    警告 (6-month watch period, ``watch_months``)
  C (后10%)  督导                                   更换
  ========  ======================================  ==========================================

  The seed spells out A and C; for the middle band it describes 警告 as "performance poor and
  selection or timing ability relatively weak" with a watch period, which is what B without
  demonstrated skill gets here; B with demonstrated skill gets 督导. Significance is a two-sided
  t test at 1 − confidence (α_p < 0.025, a/c p < 0.05) plus the sign.
* **No verdict** for fewer than ``min_months`` months with a return (default 12, the seed's
  考察期 of one year): such employees get no band, stars or action (action "历史不足").

:func:`advisor_frame` computes all of it for every employee with clients in one call.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.grades import assign_stars
from perfkit.appraisal.options import AdvisorSpec, load_appraisal
from perfkit.appraisal.spec import load_scorecard
from perfkit.appraisal.weights import jensen_alpha, treynor_mazuy
from perfkit.data.store import connect
from perfkit.errors import SpecError
from perfkit.metrics.catalog import find_params
from perfkit.metrics.entities import active_employees

log = logging.getLogger(__name__)

ACTIONS = ("奖励", "督导", "警告", "更换")
NO_VERDICT = "历史不足"
BANDS = ("A", "B", "C")


# --------------------------------------------------------------------------------------------
# Pure pieces
# --------------------------------------------------------------------------------------------
def mrar(excess: np.ndarray | Iterable[float], gamma: float = 2.0, *, axis: int = -1) -> np.ndarray:
    """Morningstar risk-adjusted return (annualised) of monthly excess returns, NaN ignored:
    ``[(1/T) Σ (1 + ER_t)^(−γ)]^(−12/γ) − 1``; γ = 0 → ``exp(12 · mean ln(1 + ER_t)) − 1``.

    ``excess`` may be 2-D (one row per employee; ``axis`` = the months). A constant excess return e
    gives ``(1 + e)^12 − 1`` for every γ; a larger γ penalises volatility more
    (MRAR(2) ≤ MRAR(0)). Rows without data give NaN. Excess returns ≤ −100 % are an error.
    """
    er = np.asarray(excess, dtype="float64")
    if gamma < 0:
        raise SpecError(f"mrar: gamma must be ≥ 0; got {gamma}")
    if (er[~np.isnan(er)] <= -1).any():
        raise SpecError("mrar: excess returns must be > −1 (−100 %)")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without data: NaN on purpose
        if gamma == 0:
            return np.expm1(12.0 * np.nanmean(np.log1p(er), axis=axis))
        return np.nanmean((1.0 + er) ** (-gamma), axis=axis) ** (-12.0 / gamma) - 1.0


def rank_band(values: pd.Series, groups: pd.Series, top: float, bottom: float) -> pd.Series:
    """A / B / C by rank within each group, best first: the top ``top`` % (by the share of the
    group ranked above or level with the entity, ties sharing the better rank) are A, the bottom
    ``bottom`` % are C. NaN values get no band. A group of one is A (it is its own top)."""
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    ok = values.notna()
    if not ok.any():
        return out
    v, g = values[ok], groups[ok].astype(str)
    rank = v.groupby(g).rank(method="min", ascending=False)
    n = v.groupby(g).transform("count")
    worst = v.groupby(g).rank(method="max", ascending=True)  # 1 = the worst
    band = np.where(rank <= np.maximum(1, np.floor(n * top / 100 + 1e-9)), "A",
                    np.where(worst <= np.floor(n * bottom / 100 + 1e-9), "C", "B"))
    out[ok] = band
    return out


def action_level(band: str | None, jensen_skill: bool, tm_skill: bool) -> str:
    """The seed's decision flow: rank band × demonstrated skill → 奖励 / 督导 / 警告 / 更换.

    ``jensen_skill``: α > 0 and significant; ``tm_skill``: Treynor–Mazuy a > 0 or c > 0 and
    significant. ``band`` None (too little history) → :data:`NO_VERDICT`."""
    if band is None:
        return NO_VERDICT
    skill = jensen_skill or tm_skill
    if band == "A":
        return "奖励" if skill else "督导"
    if band == "C":
        return "督导" if skill else "更换"
    if band == "B":
        return "督导" if skill else "警告"
    raise SpecError(f"action_level: band must be one of {', '.join(BANDS)} or None; got {band!r}")


def _significant(coef: float, p: float, confidence: float) -> bool:
    return bool(coef > 0 and not math.isnan(p) and p < 1.0 - confidence)


def evaluate(
    returns: pd.DataFrame, market: pd.DataFrame, meta: pd.DataFrame, spec: AdvisorSpec,
    stars_shares: Iterable[float] = (10, 22.5, 35, 22.5, 10),
) -> pd.DataFrame:
    """Pure: monthly returns → one row per employee with regressions, MRAR, band, stars, action.

    ``returns``: employee_id, month, ret (the window's months only); ``market``: month,
    index_return, risk_free_rate; ``meta``: employee_id and the peer-group column. Months missing
    from ``market`` are dropped. Columns: employee_id, months, return_window (chained),
    mrar, alpha, alpha_t, alpha_p, beta, beta_t, beta_p, tm_a, tm_a_t, tm_a_p, tm_b, tm_b_p, tm_c,
    tm_c_t, tm_c_p, r2, peer_group, band, rank, n_peers, stars, jensen_skill, tm_skill, action.
    """
    wide = returns.pivot_table(index="employee_id", columns="month", values="ret", aggfunc="first")
    mk = market.set_index("month").reindex(wide.columns)
    keep = mk["index_return"].notna().to_numpy()
    wide, mk = wide.loc[:, keep], mk[keep]
    rf = mk["risk_free_rate"].to_numpy(float)
    m = mk["index_return"].to_numpy(float)
    y = wide.to_numpy(float)
    er = y - rf[None, :]
    n_obs = np.isfinite(er).sum(axis=1)
    res = pd.DataFrame({"employee_id": wide.index.to_numpy(), "months": n_obs})
    res["return_window"] = np.expm1(np.nansum(np.log1p(y), axis=1))
    res.loc[n_obs == 0, "return_window"] = np.nan
    res["mrar"] = mrar(er, spec.gamma, axis=1)
    cols = ["alpha", "alpha_t", "alpha_p", "beta", "beta_t", "beta_p", "tm_a", "tm_a_t", "tm_a_p",
            "tm_b", "tm_b_p", "tm_c", "tm_c_t", "tm_c_p", "r2"]
    stats = np.full((len(res), len(cols)), np.nan)
    for i in np.flatnonzero(n_obs >= spec.min_months):  # a few lstsq per employee: fast enough
        j = jensen_alpha(y[i], m, rf)
        t = treynor_mazuy(y[i], m, rf)
        stats[i] = [j["alpha"], j.t("alpha"), j.p("alpha"), j["beta"], j.t("beta"), j.p("beta"),
                    t["alpha"], t.t("alpha"), t.p("alpha"), t["beta"], t.p("beta"),
                    t["gamma"], t.t("gamma"), t.p("gamma"), j.r2]
    res[cols] = stats
    eligible = n_obs >= spec.min_months
    col = spec.peer_group
    peers = meta.set_index("employee_id")[col] if col != "all" else None
    res["peer_group"] = ("all" if peers is None
                         else res["employee_id"].map(peers).fillna("").astype(str))
    score = res["mrar"].where(eligible)
    res["band"] = rank_band(score, res["peer_group"], spec.top_share, spec.bottom_share)
    res["rank"] = score.groupby(res["peer_group"]).rank(method="min", ascending=False).astype("Int64")
    res["n_peers"] = score.notna().groupby(res["peer_group"]).transform("sum").astype(int)
    res["stars"] = assign_stars(score, res["peer_group"], stars_shares)
    res["jensen_skill"] = [_significant(a, p, spec.jensen_confidence)
                           for a, p in zip(res["alpha"], res["alpha_p"], strict=True)]
    res["tm_skill"] = [_significant(a, pa, spec.tm_confidence) or _significant(c, pc, spec.tm_confidence)
                       for a, pa, c, pc in zip(res["tm_a"], res["tm_a_p"], res["tm_c"], res["tm_c_p"],
                                               strict=True)]
    res["action"] = [action_level(b, js, ts) for b, js, ts in
                     zip(res["band"], res["jensen_skill"], res["tm_skill"], strict=True)]
    return res


# --------------------------------------------------------------------------------------------
# Store-backed
# --------------------------------------------------------------------------------------------
def window_months(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first."""
    p = pd.Period(month, freq="M")
    return [str(p - k) for k in range(n - 1, -1, -1)]


def monthly_returns(con, months: list[str]) -> pd.DataFrame:
    """employee_id, month, ret (modified Dietz, see the module docstring), assets_end, pnl, clients
    for every employee with clients in each of ``months``."""
    return con.execute(
        """SELECT employee_id, month,
                  CASE WHEN sum(assets_begin + 0.5 * net_inflow) > 0
                       THEN sum(pnl) / sum(assets_begin + 0.5 * net_inflow) END AS ret,
                  sum(assets_end) AS assets_end, sum(pnl) AS pnl, count(*) AS clients
           FROM client_months WHERE list_contains(?, month)
           GROUP BY ALL ORDER BY employee_id, month""",
        [months],
    ).df()


def advisor_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Risk-adjusted evaluation of every employee employed in ``month`` who had clients in the
    window ending ``month`` (regressions and ranks over these employees).

    Columns: employee_id, employee_name, branch_id, position, client_assets (元, month end),
    client_pnl (元, the month's client P&L: 客户资产增值/减值), client_pnl_window (元, over the
    window), return_month, then :func:`evaluate`'s columns and watch_until (the last month of the
    watch period for 警告, else None). Parameters: ``advisor`` of appraisal.yaml; stars shares from
    scorecard.yaml.
    """
    params = find_params(params)
    spec = load_appraisal(params).advisor
    shares = load_scorecard(params).stars.shares
    months = window_months(month, spec.window_months)
    with connect(store) as con:
        rets = monthly_returns(con, months)
        market = con.execute("SELECT month, index_return, risk_free_rate FROM market "
                             "WHERE list_contains(?, month)", [months]).df()
        meta = active_employees(con, month, params)[["employee_id", "employee_name", "branch_id",
                                              "position", "level"]]
    meta["all"] = "all"
    rets = rets[rets["employee_id"].isin(set(meta["employee_id"]))]
    ev = evaluate(rets, market, meta, spec, shares)
    cur = rets[rets["month"] == month].set_index("employee_id")
    tot = rets.groupby("employee_id")["pnl"].sum()
    out = meta[["employee_id", "employee_name", "branch_id", "position"]].merge(
        ev, on="employee_id", how="inner")
    out.insert(4, "client_assets", out["employee_id"].map(cur["assets_end"]))
    out.insert(5, "client_pnl", out["employee_id"].map(cur["pnl"]))
    out.insert(6, "client_pnl_window", out["employee_id"].map(tot))
    out.insert(7, "return_month", out["employee_id"].map(cur["ret"]))
    until = str(pd.Period(month, freq="M") + spec.watch_months)
    out["watch_until"] = np.where((out["action"] == "警告") & (spec.watch_months > 0), until, None)
    log.info("advisor %s: %d employees, %d with a verdict", month, len(out),
             int((out["action"] != NO_VERDICT).sum()))
    return out.reset_index(drop=True)


def advisor_branch_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Per branch (for the company report; no employee appears): branch_id, branch_name,
    employees (with clients), verdicts, one count column per action level (奖励 … 更换) and
    历史不足, client_assets, client_pnl, client_pnl_window, mean_mrar (mean over the branch's
    employees with a verdict)."""
    emp = advisor_frame(store, month, params)
    with connect(store) as con:
        branches = con.execute("SELECT branch_id, branch_name FROM branches ORDER BY 1").df()
    counts = pd.crosstab(emp["branch_id"], emp["action"]).reindex(
        columns=[*ACTIONS, NO_VERDICT], fill_value=0)
    g = emp.groupby("branch_id")
    agg = pd.DataFrame({
        "employees": g.size(),
        "verdicts": g["action"].agg(lambda s: int((s != NO_VERDICT).sum())),
        "client_assets": g["client_assets"].sum(min_count=1),
        "client_pnl": g["client_pnl"].sum(min_count=1),
        "client_pnl_window": g["client_pnl_window"].sum(min_count=1),
        "mean_mrar": emp.where(emp["action"] != NO_VERDICT).groupby(emp["branch_id"])["mrar"].mean(),
    })
    out = branches.merge(agg.join(counts).reset_index(), on="branch_id", how="left")
    for c in ["employees", "verdicts", *ACTIONS, NO_VERDICT]:
        out[c] = out[c].fillna(0).astype(int)
    return out
