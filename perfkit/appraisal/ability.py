"""能力评价 (360度): the ability score of an employee from his reviews by superiors, peers,
subordinates and himself (``reviews``), weighted by scorecard.yaml's ``ability.relations``.

For a month the latest half-year review period ended by it counts (:func:`latest_review_period`);
per relation the mean score over reviewers (and dimensions), then the relations weighted and
renormalised over those present (:func:`relation_weighted`). :func:`ability_scores` feeds the
composite score; :func:`ability_frame` and :func:`ability_dimension_frame` are the report frames.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfkit.appraisal.spec import AbilitySpec, load_scorecard
from perfkit.data.store import connect
from perfkit.metrics.catalog import find_params
from perfkit.metrics.entities import staff


def latest_review_period(month: str) -> str:
    """The latest half-year period that has ended by the end of ``month`` ('2026-10' → '2026H1')."""
    y, m = int(month[:4]), int(month[5:7])
    if m == 12:
        return f"{y}H2"
    if m >= 6:
        return f"{y}H1"
    return f"{y - 1}H2"


def _relation_means(con, month: str, *, by_dimension: bool) -> pd.DataFrame:
    """The mean review score per employee × relation (× dimension) of each employee's latest
    review period ended by ``month``: employee_id, review_period, (dimension,) relation, score."""
    dim = " r.dimension," if by_dimension else ""
    return con.execute(
        f"""WITH r AS (SELECT * FROM reviews WHERE period <= ?),
                 latest AS (SELECT reviewee_id, max(period) AS period FROM r GROUP BY 1)
            SELECT r.reviewee_id AS employee_id, r.period AS review_period,{dim} r.relation,
                   avg(r.score) AS score
            FROM r JOIN latest USING (reviewee_id, period)
            GROUP BY ALL ORDER BY ALL""",
        [latest_review_period(month)],
    ).df()


def _weighted(con, month: str, spec: AbilitySpec) -> pd.DataFrame:
    """employee_id, review_period, ability_score, relations (those that counted)."""
    res = relation_weighted(_relation_means(con, month, by_dimension=False), spec,
                            ["employee_id", "review_period"])
    return res.rename(columns={"score": "ability_score"})


def ability_scores(con, month: str, spec: AbilitySpec) -> pd.DataFrame:
    """360 ability score 0–100 per employee: for each employee's latest review period ended by
    ``month``, the mean score per relation (over reviewers and dimensions), weighted by
    ``spec.relations`` over the relations present. Columns employee_id, review_period,
    ability_score. Employees without reviews are absent (their composite uses the KPI only).
    """
    return _weighted(con, month, spec).drop(columns="relations")


def ability_dimensions(con, month: str, spec: AbilitySpec) -> pd.DataFrame:
    """The 360 ability score per employee × dimension (专业能力, 服务态度 …) of the latest review
    period ended by ``month``: per dimension, the mean score of each relation weighted by
    ``spec.relations`` renormalised over the relations that reviewed that dimension (a relation
    with weight 0 or without reviews does not count). Columns employee_id, review_period, dimension,
    score, relations (the relations that counted, e.g. "superior+peer")."""
    return relation_weighted(_relation_means(con, month, by_dimension=True), spec,
                             ["employee_id", "review_period", "dimension"])


def relation_weighted(df: pd.DataFrame, spec: AbilitySpec, keys: list[str]) -> pd.DataFrame:
    """Pure: rows of (keys…, relation, score) → one weighted score per key, the relation weights
    renormalised over the relations present (weights in ``spec.relations``; unknown or 0 → left out).
    A key whose relations all weigh 0 is absent."""
    w = {k: float(v) for k, v in spec.relations.items()}
    df = df.assign(w=df["relation"].map(w).fillna(0.0))
    df = df[df["w"] > 0]
    g = df.assign(ws=df["w"] * df["score"]).groupby(keys, sort=True)
    out = (g["ws"].sum() / g["w"].sum()).rename("score").reset_index()
    rel = g["relation"].agg(lambda s: "+".join(r for r in w if r in set(s)))
    out["relations"] = rel.to_numpy()
    return out


def ability_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """360 ability per employee employed in ``month``: employee_id, employee_name, branch_id,
    position, review_period, ability_score (NaN without reviews), relations (those that counted).
    Relation weights from scorecard.yaml ``ability.relations``, renormalised over those present."""
    spec = load_scorecard(find_params(params)).ability
    with connect(store) as con:
        return staff(con, month, params).merge(_weighted(con, month, spec), on="employee_id", how="left")


def ability_dimension_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """360 ability per employee × dimension: employee_id, review_period, dimension, score,
    relations (see :func:`ability_dimensions`), for the employees employed in ``month``."""
    spec = load_scorecard(find_params(params)).ability
    with connect(store) as con:
        emps = staff(con, month, params)
        dims = ability_dimensions(con, month, spec)
    return dims[dims["employee_id"].isin(set(emps["employee_id"]))].reset_index(drop=True)
