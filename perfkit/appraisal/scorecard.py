"""The scorecard of a month (``perfkit scores``): every entity's KPI score, family scores, 360 ability,
conduct deductions, composite, grade, stars and rank, and the breakdown of the KPI into points per
indicator with last month's beside them.

:func:`scorecard` scores this month and last month once (:func:`scores` and :func:`breakdown` are
its two halves): indicators (:func:`perfkit.indicators`) → :mod:`~perfkit.appraisal.scoring` →
:func:`combine` with :mod:`~perfkit.appraisal.ability` and :mod:`~perfkit.appraisal.deductions` →
:mod:`~perfkit.appraisal.grades`. The rules are scorecard.yaml's (:mod:`perfkit.appraisal.spec`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.ability import ability_scores
from perfkit.appraisal.deductions import conduct_scores
from perfkit.appraisal.grades import assign_stars, grade_of
from perfkit.appraisal.scoring import family_scores, kpi_from_points, score_indicators
from perfkit.appraisal.spec import Scorecard, catalog_info, load_scorecard
from perfkit.data.store import connect
from perfkit.data.store import months as store_months
from perfkit.errors import RequestError, spec_error
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.entities import (
    COMPANY_ID,
    NOT_SCORED,
    check_level,
    employees_frame,
    require_appraised,
)
from perfkit.metrics.indicators import indicators
from perfkit.metrics.measures import cached_measure_frame
from perfkit.metrics.months import check_month_format

log = logging.getLogger(__name__)


def combine(kpi: pd.Series, ability: pd.Series, conduct: pd.Series, sc: Scorecard) -> pd.Series:
    """Composite 0–100 from KPI, ability and conduct (aligned Series).

    base = (w_kpi·kpi + w_ability·ability) / (w_kpi + w_ability), or kpi when ability is NaN or its
    weight 0; then ``deductions.apply``: multiply → base × conduct/100 (standard × score %),
    subtract → max(0, base − (100 − conduct)), none → base. NaN conduct counts as 100.
    """
    wk, wa = sc.composite.kpi, sc.composite.ability
    base = kpi.copy()
    if wa > 0:
        mixed = (wk * kpi + wa * ability) / (wk + wa)
        base = mixed.where(ability.notna(), kpi)
    cond = conduct.fillna(100.0)
    if sc.deductions.apply == "multiply":
        return base * cond / 100.0
    if sc.deductions.apply == "subtract":
        return (base - (100.0 - cond)).clip(lower=0.0)
    return base


@dataclass(frozen=True)
class _Month:
    bd: pd.DataFrame        # score_indicators output + entity meta
    meta: pd.DataFrame      # entity_id, entity_name, parent_id, peer_group, scored


def _with_clients(con, month: str, sc: Scorecard, params, source) -> set[str] | None:
    """Employees with a client in ``month`` (a measure of ``appraised.clients`` not 0); the others
    are 不参评. None when ``appraised.without_clients`` is ``scored`` (everybody is scored)."""
    spec = sc.appraised
    if spec.without_clients == "scored":
        return None
    frame = cached_measure_frame(source, con, [month], load_catalog(params))
    unknown = [m for m in spec.clients if m not in frame.columns]
    if unknown:
        raise spec_error(sc._source or "scorecard.yaml", "appraised", "clients",
                         f"unknown measure {unknown[0]!r}; measures: "
                         + ", ".join(c for c in frame.columns if c not in ("employee_id", "month")))
    m = frame[frame["month"] == month]
    return set(m.loc[(m[list(spec.clients)].fillna(0) != 0).any(axis=1), "employee_id"])


def _peer_groups(con, level: str, month: str, sc: Scorecard) -> pd.DataFrame:
    col = sc.stars.peer_group.get(level, "all")
    if level == "employee":
        df = con.execute("SELECT employee_id AS entity_id, branch_id, position, level "
                         "FROM employees").df()
    elif level == "branch":
        df = con.execute("SELECT branch_id AS entity_id, region, region_class FROM branches").df()
    else:
        return pd.DataFrame({"entity_id": [COMPANY_ID], "peer_group": ["all"]})
    df["peer_group"] = "all" if col == "all" else df[col].fillna("").astype(str)
    return df[["entity_id", "peer_group"]]


def _score_month(con, month: str, level: str, sc: Scorecard, params, source) -> _Month:
    """Scored indicators of one month. ``source`` (the store path, when the caller got one, else
    ``con``) lets :func:`indicators` use its measure cache; ``con`` serves everything else."""
    ind = indicators(source, month, level, params=params, history=1)
    catalog = catalog_info(params)
    scored = [i.id for _, i in sc.indicator_specs()]
    ind = ind[ind["indicator_id"].isin(scored)]
    meta_cols = [c for c in ("entity_id", "entity_name", "parent_id") if c in ind.columns]
    meta = ind[meta_cols].drop_duplicates("entity_id").reset_index(drop=True)
    for c in ("entity_name", "parent_id"):
        if c not in meta:
            meta[c] = None
    peers = _peer_groups(con, level, month, sc)
    meta = meta.merge(peers, on="entity_id", how="left")
    meta["peer_group"] = meta["peer_group"].fillna("all")
    # an employee with no client this month is 不参评: not scored, so not in his peers' percentiles
    busy = _with_clients(con, month, sc, params, source) if level == "employee" else None
    meta["scored"] = True if busy is None else meta["entity_id"].isin(busy)
    # indicators() fills `target` from targets() of this module (same params)
    frame = ind.loc[ind["entity_id"].isin(set(meta.loc[meta["scored"], "entity_id"])),
                    ["entity_id", "indicator_id", "value", "target"]].merge(
        meta[["entity_id", "peer_group"]], on="entity_id", how="left"
    )
    hib = {k: v["higher_is_better"] for k, v in catalog.items()}
    bd = score_indicators(frame, sc, hib)
    names = {k: v["name"] for k, v in catalog.items()}
    bd.insert(4, "indicator_name", bd["indicator_id"].map(names).fillna(bd["indicator_id"]))
    return _Month(bd=bd, meta=meta)


def _prev_month(con, month: str) -> str | None:
    prev = str(pd.Period(month, freq="M") - 1)
    return prev if prev in store_months(con) else None


def _filter_entity(df: pd.DataFrame, entity: str | None, meta: pd.DataFrame) -> pd.DataFrame:
    if entity is None:
        return df
    keep = meta.loc[(meta["entity_id"] == entity) | (meta["parent_id"] == entity), "entity_id"]
    if keep.empty:
        raise RequestError(f"unknown entity {entity!r} (neither an entity nor a parent at this level)")
    return df[df["entity_id"].isin(set(keep))].reset_index(drop=True)


def breakdown(
    store, month: str, level: str = "employee", *, entity: str | None = None,
    params: str | Path | None = None,
) -> pd.DataFrame:
    """Why a KPI score is what it is: one row per entity × scored indicator.

    Columns: entity_id, entity_name, parent_id, family, indicator_id, indicator_name, value, target,
    method, score (0–100, NaN = not scored), weight (effective fraction = family weight × indicator
    weight after renormalisation for missing scores), points (= weight × score; Σ over an entity =
    kpi_score), prev_points (last month's points, NaN when last month is not in the store or the entity
    was not scored then) and attribution (= points − prev_points; Σ over an entity = the change of
    kpi_score). ``entity`` keeps that entity, or the entities whose parent it is.
    """
    return scorecard(store, month, level, entity=entity, params=params)[1]


def _breakdown_frame(cur: _Month, prev: _Month | None) -> pd.DataFrame:
    """Breakdown rows of every entity: this month's points beside last month's."""
    bd = cur.bd.merge(cur.meta[["entity_id", "entity_name", "parent_id"]], on="entity_id", how="left")
    if prev is not None:
        pp = prev.bd[["entity_id", "indicator_id", "points"]].rename(columns={"points": "prev_points"})
        bd = bd.merge(pp, on=["entity_id", "indicator_id"], how="left")
    else:
        bd["prev_points"] = np.nan
    bd["attribution"] = bd["points"] - bd["prev_points"]
    cols = ["entity_id", "entity_name", "parent_id", "peer_group", "family", "indicator_id",
            "indicator_name", "value", "target", "method", "score", "weight", "points",
            "prev_points", "attribution"]
    return bd[cols]


def _entity_scores(con, month: str, level: str, sc: Scorecard, m: _Month) -> pd.DataFrame:
    df = m.meta.set_index("entity_id")
    df["kpi_score"] = kpi_from_points(m.bd)
    fam = family_scores(m.bd)
    for f in sc.families:
        df[f"score_{f}"] = fam.get(f"score_{f}")
    if level == "employee":
        ab = ability_scores(con, month, sc.ability).set_index("employee_id")
        cd = conduct_scores(con, month, sc.deductions).set_index("employee_id")
        df["ability_score"] = ab["ability_score"]
        df["deduction_points"] = cd["deduction_points"]
        df["deduction_points"] = df["deduction_points"].fillna(0.0)
        df["conduct_score"] = cd["conduct_score"]
        df["conduct_score"] = df["conduct_score"].fillna(100.0)
        df["composite"] = combine(df["kpi_score"], df["ability_score"], df["conduct_score"], sc)
    else:
        df["ability_score"] = np.nan
        df["deduction_points"] = np.nan
        df["conduct_score"] = np.nan
        df["composite"] = df["kpi_score"]
    return df.reset_index()


def scores(
    store, month: str, level: str = "employee", *, entity: str | None = None,
    params: str | Path | None = None,
) -> pd.DataFrame:
    """The scorecard: one row per entity at ``level`` (employee or branch; company gives one row).

    Columns: entity_id, entity_name, parent_id, peer_group, kpi_score (0–100, Σ of the breakdown's
    points), score_<family> (0–100 per family, see :func:`family_labels`), ability_score (360,
    employees only), deduction_points and conduct_score (百分制倒扣, employees only), composite
    (0–100, see :func:`combine`; branch and company: = kpi_score), grade (band label), grade_code
    (its code, e.g. A–E), stars (1–5 within the peer group, :func:`assign_stars`), rank (1 = best
    composite within the peer group; ties share the smaller rank), n_peers (entities with a
    composite in the peer group), prev_composite, change, scored (False: 不参评 — an employee with
    no client in the month, ``appraised`` in scorecard.yaml: listed with his ability and conduct,
    but no KPI, composite, stars or rank, grade "不参评", and left out of his peers' percentiles).
    Stars and ranks are computed over all entities of the level before ``entity`` (an entity id or
    a parent id) filters the rows; an employee not appraised in the month (before his hire, after
    he left) is a RequestError saying so.
    """
    return scorecard(store, month, level, entity=entity, params=params)[0]


def scorecard(
    store, month: str, level: str = "employee", *, entity: str | None = None,
    params: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`scores`, :func:`breakdown`) from one scoring of this month and last month, so a
    report that shows both pays for them once. ``entity`` filters both the same way."""
    check_month_format(month)
    check_level(level)
    sc = load_scorecard(params)
    with connect(store) as con:
        source = store if store is not None else con  # a path: indicators() caches its measures
        cur = _score_month(con, month, level, sc, params, source)
        prev_m = _prev_month(con, month)
        prev = _score_month(con, prev_m, level, sc, params, source) if prev_m else None
        df = _entity_scores(con, month, level, sc, cur)
        prev_df = _entity_scores(con, prev_m, level, sc, prev) if prev is not None else None
        if level == "employee" and entity is not None and entity not in set(df["parent_id"]):
            # the rule of every listing: the same answer here
            require_appraised(employees_frame(con), month, entity, sc.appraised.min_days)
    df["grade"] = grade_of(df["composite"], sc.bands)
    codes = {b.label: b.code for b in sc.bands}
    df["grade_code"] = [codes.get(g) for g in df["grade"]]  # None, not NaN, where ungraded (as Parquet)
    df.loc[~df["scored"], "grade"] = NOT_SCORED
    df["stars"] = assign_stars(df["composite"], df["peer_group"], sc.stars.shares)
    df["rank"] = (df["composite"].round(6).groupby(df["peer_group"])
                  .rank(method="min", ascending=False).astype("Int64"))
    df["n_peers"] = df["composite"].notna().groupby(df["peer_group"]).transform("sum").astype(int)
    if prev_df is not None:
        df["prev_composite"] = df["entity_id"].map(prev_df.set_index("entity_id")["composite"])
    else:
        df["prev_composite"] = np.nan
    df["change"] = df["composite"] - df["prev_composite"]
    return (_filter_entity(df, entity, df[["entity_id", "parent_id"]]),
            _filter_entity(_breakdown_frame(cur, prev), entity, cur.meta))
