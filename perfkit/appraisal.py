"""Appraisal methods beside the KPI scorecard (parameters/appraisal.yaml) and their data frames.

``appraisal.yaml`` holds ``sections`` (which report sections are shown: ability, conduct, advisor,
rfm — each off-switchable), ``advisor`` (:class:`perfkit.advisor.AdvisorSpec`) and ``rfm``
(:class:`perfkit.rfm.RFMSpec`). The 360 relation weights, deduction rules and floor stay in
scorecard.yaml (``ability``, ``deductions``), which the composite score also uses; the bonus standard
is pay.yaml's ``bonus`` (one place for the 绩效奖金 here and the 奖金 of :mod:`perfkit.pay`).

Data access for the report sections is one function per frame, ``f(store, month, params) ->
DataFrame``, covering every entity of its level at once (the views filter to what a role may see):

=====================  =========  ==========================================================
frame                  level      function
=====================  =========  ==========================================================
``ability``            employee   :func:`ability_frame` — 360 score, period, relations
``ability_dimensions`` employee   :func:`ability_dimension_frame` — per dimension
``conduct``            employee   :func:`conduct_frame` — deductions, conduct score, bonus
``incidents``          employee   :func:`incident_frame` — the incidents behind the deductions
``advisor``            employee   :func:`perfkit.advisor.advisor_frame`
``advisor_branch``     branch     :func:`perfkit.advisor.advisor_branch_frame`
``rfm_clients``        client     :func:`perfkit.rfm.rfm_clients`
``rfm_employee``       employee   :func:`perfkit.rfm.rfm_employee_frame`
``rfm_branch``         branch     :func:`perfkit.rfm.rfm_branch_frame`
=====================  =========  ==========================================================

:data:`FRAMES` is that registry (``frame(name)`` looks one up; the error names the known ones).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfkit.advisor import PEER_COLUMNS, AdvisorSpec, advisor_branch_frame, advisor_frame
from perfkit.errors import SpecError
from perfkit.rfm import CLASSES, RFMSpec, rfm_branch_frame, rfm_clients, rfm_employee_frame

log = logging.getLogger(__name__)

FILE_NAME = "appraisal.yaml"
SECTIONS = ("ability", "conduct", "advisor", "rfm")


class SectionSwitches(BaseModel):
    """Which appraisal sections the reports show (all on by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ability: bool = True
    conduct: bool = True
    advisor: bool = True
    rfm: bool = True


class AppraisalSpec(BaseModel):
    """The whole of appraisal.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    sections: SectionSwitches = Field(default_factory=SectionSwitches)
    advisor: AdvisorSpec = Field(default_factory=AdvisorSpec)
    rfm: RFMSpec = Field(default_factory=RFMSpec)

    def enabled(self, section: str) -> bool:
        return bool(getattr(self.sections, section))


def appraisal_problems(params: str | Path = "parameters") -> tuple[AppraisalSpec | None,
                                                                     list[SpecError]]:
    """Validate ``<params>/appraisal.yaml``; return (model or None, every problem found). A missing
    file means the defaults (every section on)."""
    from perfkit.scorecard import _loc_to_entry, _read_yaml, spec_error

    path = Path(params) / FILE_NAME
    f = str(path)
    if not path.exists():
        return AppraisalSpec(), []
    try:
        raw = _read_yaml(path)
    except SpecError as exc:
        return None, [exc]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, [spec_error(f, "(top)", None, "expected a mapping of sections")]
    try:
        spec = AppraisalSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            entry, field = _loc_to_entry(tuple(e["loc"]))
            msg = e["msg"] if e["type"] != "extra_forbidden" else "unknown field"
            problems.append(spec_error(f, entry, field, msg))
        return None, problems
    problems = []
    a = spec.advisor
    if a.peer_group not in PEER_COLUMNS:
        problems.append(spec_error(f, "advisor", "peer_group",
                                   f"unknown peer group {a.peer_group!r}; allowed: "
                                   + ", ".join(PEER_COLUMNS)))
    if a.min_months > a.window_months:
        problems.append(spec_error(f, "advisor", "min_months",
                                   f"min_months ({a.min_months}) cannot exceed window_months "
                                   f"({a.window_months})"))
    if a.top_share + a.bottom_share > 100:
        problems.append(spec_error(f, "advisor", "bottom_share",
                                   f"top_share + bottom_share = {a.top_share + a.bottom_share:g} %; "
                                   "must be ≤ 100"))
    r = spec.rfm
    if r.core_assets >= r.vip_assets:
        problems.append(spec_error(f, "rfm", "core_assets",
                                   f"core_assets ({r.core_assets:g} 元) must be below vip_assets "
                                   f"({r.vip_assets:g} 元)"))
    known = {*CLASSES, "咨询依托类·R↑F↓", "咨询依托类·R↓F↑"}
    for key in r.services:
        if key not in known:
            problems.append(spec_error(f, "rfm.services", key,
                                       "unknown class; known: " + ", ".join(sorted(known))))
    return (None, problems) if problems else (spec, [])


def load_appraisal(params: str | Path = "parameters") -> AppraisalSpec:
    """Load and validate appraisal.yaml; the error names file, entry and field of the first
    problem (``perfkit check`` lists them all)."""
    spec, problems = appraisal_problems(params)
    if problems:
        raise problems[0]
    assert spec is not None
    return spec


# --------------------------------------------------------------------------------------------
# Frames (all entities of a level at once)
# --------------------------------------------------------------------------------------------
def _employees(con, month: str) -> pd.DataFrame:
    from perfkit.scorecard import _active_employees

    return _active_employees(con, month)[["employee_id", "employee_name", "branch_id", "position"]]


def ability_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """360 ability per employee employed in ``month``: employee_id, employee_name, branch_id,
    position, review_period, ability_score (NaN without reviews), relations (those that counted).
    Relation weights from scorecard.yaml ``ability.relations``, renormalised over those present."""
    from perfkit.data.store import connect
    from perfkit.metrics.catalog import find_params
    from perfkit.scorecard import (
        latest_review_period,
        load_scorecard,
        relation_weighted,
    )

    spec = load_scorecard(find_params(params)).ability
    with connect(store) as con:
        emps = _employees(con, month)
        rows = con.execute(
            """WITH r AS (SELECT * FROM reviews WHERE period <= ?),
                    latest AS (SELECT reviewee_id, max(period) AS period FROM r GROUP BY 1)
               SELECT r.reviewee_id AS employee_id, r.period AS review_period, r.relation,
                      avg(r.score) AS score
               FROM r JOIN latest USING (reviewee_id, period) GROUP BY ALL""",
            [latest_review_period(month)]).df()
    ab = relation_weighted(rows, spec, ["employee_id", "review_period"])
    out = emps.merge(ab.rename(columns={"score": "ability_score"}), on="employee_id", how="left")
    return out


def ability_dimension_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """360 ability per employee × dimension: employee_id, review_period, dimension, score,
    relations (see :func:`perfkit.scorecard.ability_dimensions`)."""
    from perfkit.data.store import connect
    from perfkit.metrics.catalog import find_params
    from perfkit.scorecard import ability_dimensions, load_scorecard

    spec = load_scorecard(find_params(params)).ability
    with connect(store) as con:
        emps = _employees(con, month)
        dims = ability_dimensions(con, month, spec)
    return dims[dims["employee_id"].isin(set(emps["employee_id"]))].reset_index(drop=True)


def conduct_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """百分制倒扣 per employee employed in ``month``: employee_id, employee_name, branch_id,
    position, incidents (count), deduction_points, conduct_score (max(floor, 100 − points); 100
    without incidents), bonus_standard (元: pay.yaml ``bonus`` — by level for the positions paid by
    pay.yaml, else ``bonus.by_position``; NaN when there is none) and bonus (= bonus_standard ×
    conduct_score %; for 客户经理 the 奖金 of :func:`perfkit.pay.pay`)."""
    from perfkit.data.store import connect
    from perfkit.metrics.catalog import find_params
    from perfkit.pay import FILE_NAME as PAY_FILE
    from perfkit.pay import bonus_standards, load_pay
    from perfkit.scorecard import conduct_scores, deduction_bonus, incident_rows, load_scorecard

    params = find_params(params)
    spec = load_scorecard(params).deductions
    rules = load_pay(params) if (Path(params) / PAY_FILE).exists() else None
    with connect(store) as con:
        emps = _employees(con, month)
        cd = conduct_scores(con, month, spec).set_index("employee_id")
        n = incident_rows(con, month, spec).groupby("employee_id").size()
        standard = bonus_standards(con, month, emps, rules)
    out = emps.copy()
    out["incidents"] = out["employee_id"].map(n).fillna(0).astype(int)
    out["deduction_points"] = out["employee_id"].map(cd["deduction_points"]).fillna(0.0)
    out["conduct_score"] = out["employee_id"].map(cd["conduct_score"]).fillna(100.0)
    out["bonus_standard"] = standard.astype(float)
    out["bonus"] = deduction_bonus(out["conduct_score"], out["bonus_standard"])
    return out


def incident_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """The incidents behind :func:`conduct_frame`: employee_id, branch_id, incident_id,
    incident_date, rule_code, rule_name, points (as counted), note."""
    from perfkit.data.store import connect
    from perfkit.metrics.catalog import find_params
    from perfkit.scorecard import incident_rows, load_scorecard

    spec = load_scorecard(find_params(params)).deductions
    with connect(store) as con:
        inc = incident_rows(con, month, spec)
        br = dict(con.execute("SELECT employee_id, branch_id FROM employees").fetchall())
    inc.insert(1, "branch_id", inc["employee_id"].map(br))
    return inc


Frame = Callable[[Any, str, Any], pd.DataFrame]

#: Every appraisal frame by name: ``f(store, month, params) -> DataFrame`` over all entities.
FRAMES: dict[str, Frame] = {
    "ability": ability_frame,
    "ability_dimensions": ability_dimension_frame,
    "conduct": conduct_frame,
    "incidents": incident_frame,
    "advisor": advisor_frame,
    "advisor_branch": advisor_branch_frame,
    "rfm_clients": rfm_clients,
    "rfm_employee": rfm_employee_frame,
    "rfm_branch": rfm_branch_frame,
}


def frame(name: str) -> Frame:
    """The frame function ``name``; the error names the unknown key and the known ones."""
    try:
        return FRAMES[name]
    except KeyError:
        raise SpecError(f"unknown appraisal frame {name!r}; known: {', '.join(FRAMES)}") from None
