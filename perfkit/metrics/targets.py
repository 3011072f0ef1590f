"""Targets (目标): the value each entity should reach on each indicator in a month.

They are the ``targets:`` section of ``parameters/scorecard.yaml`` (:class:`TargetSpec`): by
position, per branch or company level, and per entity. Reports show them beside the values
(:func:`perfkit.indicators` fills its ``target`` column from here) and the scorecard scores the
values against them. This module owns the section: its model, its rules (:func:`target_problems`,
also run by :func:`perfkit.appraisal.spec.validate_scorecard`) and the targets of a month
(:func:`targets`). Targets are in the unit of the indicator's reported value (``unit``/``scale`` in
indicators.yaml).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfkit.data.schema import POSITIONS
from perfkit.data.store import StoreLike, connect
from perfkit.errors import SpecError, loc_entry, spec_error
from perfkit.files import read_yaml
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.entities import COMPANY_ID, active_employees, check_level, employed_days
from perfkit.metrics.months import check_month_format
from perfkit.projectfile import find_params

FILE_NAME = "scorecard.yaml"


class TargetSpec(BaseModel):
    """``targets:`` of scorecard.yaml, in the unit of each indicator's reported value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_position: str = "客户经理"
    position: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    branch: dict[str, float | None] = Field(default_factory=dict)
    company: dict[str, float | None] = Field(default_factory=dict)
    entity: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    #: monthly flow indicators whose targets are pro-rated by the days an employee was employed in
    #: a part month (joined or left in it); stocks (assets, clients on the books) and ratios are not
    prorate: tuple[str, ...] = ("leads_new", "leads_opened", "net_inflow", "commission",
                                "service_count")


def target_problems(t: TargetSpec, indicator_ids: Collection[str] | None,
                    file: str) -> list[SpecError]:
    """Every problem of the section: an unknown position, an indicator id not in indicators.yaml
    (not checked when ``indicator_ids`` is None)."""
    problems: list[SpecError] = []
    if t.default_position not in POSITIONS:
        problems.append(spec_error(file, "targets", "default_position",
                                   f"unknown position {t.default_position!r}; known: "
                                   + ", ".join(POSITIONS)))

    def unknown(entry: str, tmap: Mapping[str, Any]) -> list[SpecError]:
        if indicator_ids is None:
            return []
        return [spec_error(file, entry, k, f"unknown indicator {k!r}; not in indicators.yaml")
                for k in tmap if k not in indicator_ids]

    for pos, tmap in t.position.items():
        if pos not in POSITIONS:
            problems.append(spec_error(file, f"targets.position.{pos}", None,
                                       f"unknown position {pos!r}; known: " + ", ".join(POSITIONS)))
        problems += unknown(f"targets.position.{pos}", tmap)
    problems += unknown("targets.branch", t.branch)
    problems += unknown("targets.company", t.company)
    for ent, tmap in t.entity.items():
        problems += unknown(f"targets.entity.{ent}", tmap)
    problems += unknown("targets.prorate", {k: None for k in t.prorate})
    return problems


def load_targets(params: str | Path | None = None) -> TargetSpec:
    """The ``targets:`` section of ``<params>/scorecard.yaml`` (defaults when it has none),
    checked; the first problem is raised, naming file, entry and field."""
    path = find_params(params) / FILE_NAME
    f = str(path)
    raw = read_yaml(path, expect="a mapping of sections")
    try:
        t = TargetSpec.model_validate(raw.get("targets") or {})
    except ValidationError as exc:
        e = exc.errors()[0]
        entry, field = loc_entry(("targets", *e["loc"]), {"targets": raw.get("targets")})
        raise spec_error(f, entry, field, "unknown field" if e["type"] == "extra_forbidden"
                         else e["msg"]) from None
    ids = [i.id for i in load_catalog(params).indicators]
    problems = target_problems(t, ids, f)
    if problems:
        raise problems[0]
    return t


def employed_share(employees: pd.DataFrame, month: str) -> pd.Series:
    """employee_id → the share of ``month``'s days he was employed (:func:`employed_days` ÷ the
    month's days): 1.0 for the whole month, 17/31 for a hire on the 15th of a 31-day month."""
    return employed_days(employees, month) / pd.Period(month, freq="M").days_in_month


def targets(store: StoreLike, month: str, level: str,
            params: str | Path | None = None) -> pd.DataFrame:
    """Targets for every entity × indicator at ``level`` in ``month``: columns entity_id,
    indicator_id, target (float, in the unit of the indicator's value). Rows without a target are
    left out.

    Employees (active in the month): the position's targets (missing ones from
    ``targets.default_position``, 客户经理), then ``targets.entity.<employee_id>`` overrides; the
    targets of the flow indicators in ``targets.prorate`` × the share of the month's days he was
    employed (:func:`employed_share`: a hire on 10-15 gets 17/31 of October's 15 new leads).
    Branches and the company: ``targets.entity.<id>`` first, then ``targets.branch`` /
    ``targets.company``; otherwise an additive indicator (no denominator) gets the sum of its
    active employees' targets and a ratio indicator the default position's target.
    ``store`` is an open DuckDB connection or a store path.
    """
    check_month_format(month)
    check_level(level)
    t = load_targets(params)
    is_ratio = {i.id: i.denominator is not None for i in load_catalog(params).indicators}
    with connect(store) as c:
        emps = active_employees(c, month, params)
        dates = c.execute("SELECT employee_id, hire_date, leave_date FROM employees").df()
        branches = [r[0] for r in c.execute("SELECT branch_id FROM branches ORDER BY 1").fetchall()]
    share = employed_share(dates, month)
    default = t.default_position
    ids = list(is_ratio)

    emp_rows = []
    for e in emps.itertuples(index=False):
        tm = {**t.position.get(default, {}), **t.position.get(e.position, {}),
              **t.entity.get(e.employee_id, {})}
        for ind in ids:
            emp_rows.append((e.employee_id, e.branch_id, ind, tm.get(ind)))
    emp_t = pd.DataFrame(emp_rows, columns=["entity_id", "branch_id", "indicator_id", "target"])
    emp_t["target"] = pd.to_numeric(emp_t["target"], errors="coerce")
    part = emp_t["indicator_id"].isin(t.prorate)
    emp_t.loc[part, "target"] *= emp_t.loc[part, "entity_id"].map(share).fillna(1.0)

    if level == "employee":
        out = emp_t.drop(columns="branch_id")
    else:
        if level == "branch":
            groups = {b: emp_t[emp_t["branch_id"] == b] for b in branches}
            level_default = t.branch
        else:
            groups = {COMPANY_ID: emp_t}
            level_default = t.company
        rows = []
        dpos = t.position.get(default, {})
        for ent, sub in groups.items():
            over = t.entity.get(ent, {})
            sums = sub.groupby("indicator_id")["target"].sum(min_count=1)
            for ind in ids:
                if ind in over:
                    val = over[ind]
                elif ind in level_default:
                    val = level_default[ind]
                elif is_ratio[ind]:
                    val = dpos.get(ind)
                else:
                    val = sums.get(ind, np.nan)
                rows.append((ent, ind, val))
        out = pd.DataFrame(rows, columns=["entity_id", "indicator_id", "target"])
        out["target"] = pd.to_numeric(out["target"], errors="coerce")
    return out.dropna(subset=["target"]).reset_index(drop=True)
