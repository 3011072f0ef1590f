"""Scoring, pure: indicator values + targets + peer groups → a score 0–100 per entity × indicator,
its effective weight and its points (Σ points over an entity = the KPI score); family scores.

Missing scores are handled by the scorecard's ``missing`` rule (renormalise or zero), see
:func:`score_indicators`. The methods themselves are :mod:`perfkit.appraisal.methods`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from perfkit.appraisal.spec import Scorecard


def score_indicators(
    frame: pd.DataFrame,
    sc: Scorecard,
    higher_is_better: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Score each entity × indicator and weigh it.

    ``frame`` has columns entity_id, indicator_id, value, target, peer_group (one row per entity ×
    indicator; indicators not in the scorecard are ignored; a scored indicator missing for an entity
    counts as a NaN value). Returns one row per entity × scored indicator with family, method,
    score (0–100 or NaN), weight (effective fraction of the KPI score) and points = weight × score,
    so Σ points over an entity = its KPI score.

    Missing scores (NaN value or target): ``missing: renormalise`` gives them weight 0 and scales the
    other indicators of the same family up; a family with no score at all gives its weight to the
    other families in proportion; an entity with no score at all has NaN KPI (points NaN).
    ``missing: zero`` keeps the nominal weights and gives 0 points.
    """
    hib = dict(higher_is_better or {})
    w = sc.weights()
    ents = frame[["entity_id", "peer_group"]].drop_duplicates("entity_id")
    grid = ents.merge(w, how="cross")
    grid = grid.merge(frame[["entity_id", "indicator_id", "value", "target"]],
                      on=["entity_id", "indicator_id"], how="left")
    parts = []
    for ind_id, sub in grid.groupby("indicator_id", sort=False):
        m = sc.method(str(ind_id))
        sub = sub.copy()
        sub["method"] = next(i.method for _, i in sc.indicator_specs() if i.id == ind_id)
        sub["score"] = m(sub["value"].to_numpy(float), sub["target"].to_numpy(float),
                         sub["peer_group"].to_numpy(object), hib.get(str(ind_id), True))
        parts.append(sub)
    out = pd.concat(parts) if parts else grid.assign(method=None, score=np.nan)
    order = {i: n for n, i in enumerate(w["indicator_id"])}
    out = out.sort_values(["entity_id", "indicator_id"], key=lambda s: s.map(order) if
                          s.name == "indicator_id" else s, kind="stable").reset_index(drop=True)
    has = out["score"].notna()
    if sc.missing == "zero":
        out["weight"] = out["family_weight"] * out["indicator_weight"]
        out["points"] = out["weight"] * out["score"].fillna(0.0)
    else:
        iw = out["indicator_weight"].where(has, 0.0)
        fam_tot = iw.groupby([out["entity_id"], out["family"]]).transform("sum")
        within = (iw / fam_tot.where(fam_tot > 0)).fillna(0.0)
        fam_present = (fam_tot > 0).astype(float)
        fw = out["family_weight"] * fam_present
        # each family's weight counted once per entity
        fam_w = out.assign(fw=fw).drop_duplicates(["entity_id", "family"])
        ent_tot = fam_w.groupby("entity_id")["fw"].sum()
        fw_norm = fw / out["entity_id"].map(ent_tot).where(lambda x: x > 0)
        out["weight"] = (fw_norm * within).fillna(0.0)
        out["points"] = out["weight"] * out["score"].fillna(0.0)
        none = out["entity_id"].map(ent_tot) == 0
        out.loc[none, "points"] = np.nan
    cols = ["entity_id", "peer_group", "family", "indicator_id", "value", "target", "method",
            "score", "family_weight", "indicator_weight", "weight", "points"]
    return out[cols]


def kpi_from_points(bd: pd.DataFrame) -> pd.Series:
    """KPI score per entity = Σ points (NaN when the entity has no score at all)."""
    return bd.groupby("entity_id", sort=False)["points"].sum(min_count=1)


def family_scores(bd: pd.DataFrame) -> pd.DataFrame:
    """Score 0–100 per entity × family: the weighted mean of the family's scored indicators."""
    x = bd.assign(wp=bd["indicator_weight"] * bd["score"],
                  ww=bd["indicator_weight"].where(bd["score"].notna(), 0.0))
    g = x.groupby(["entity_id", "family"], sort=False)[["wp", "ww"]].sum(min_count=1)
    s = (g["wp"] / g["ww"].where(g["ww"] > 0)).unstack("family")
    return s.add_prefix("score_")
