"""The scorecard (parameters/scorecard.yaml): weights, targets, scoring, composite, grades and stars.

Layers, each a function of its own:

* :func:`load_scorecard` — YAML → frozen models; every problem names file, entry and field
  (:func:`scorecard_problems` returns them all, for ``perfkit check``).
* :func:`targets` — the target of every entity × indicator for a month and level.
* :func:`score_indicators` — pure: values + targets + peer groups → raw scores, effective weights and
  points per entity × indicator (Σ points = KPI score).
* :func:`grade_of`, :func:`assign_stars` — pure: composite → grade label, forced-distribution stars.
* :func:`ability_scores`, :func:`conduct_scores` — 360 ability score and 百分制倒扣 conduct score.
* :func:`breakdown` and :func:`scores` — the public per-indicator and per-entity frames.

Scores are on a 0–100 scale throughout; weights are fractions (the YAML may use 1 or 100 as total).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from perfkit import methods as _methods
from perfkit.data.schema import POSITIONS, RELATIONS
from perfkit.errors import RequestError, SpecError

log = logging.getLogger(__name__)

FILE_NAME = "scorecard.yaml"
WEIGHT_TOLERANCE = 1e-6  # relative to the total (1 or 100)
EMPLOYEE_PEER_COLUMNS = ("position", "level", "branch_id", "all")
BRANCH_PEER_COLUMNS = ("region_class", "region", "all")
LEVELS = ("employee", "branch", "company")


# --------------------------------------------------------------------------------------------
# Spec models
# --------------------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndicatorSpec(_Model):
    """One scored indicator of a family: weight within its family and scoring method."""

    id: str
    weight: float = Field(gt=0)
    method: str = "attainment"
    params: dict[str, Any] = Field(default_factory=dict)


class FamilySpec(_Model):
    """A family (潜在客户 / 现有客户 / 流失客户 / 员工日常工作): weight in the KPI score and indicators."""

    name: str | None = None
    weight: float = Field(gt=0)
    indicators: list[IndicatorSpec] = Field(min_length=1)


class TargetSpec(_Model):
    """Targets in the unit of the indicator's reported value (see indicators.yaml ``unit``/``scale``)."""

    default_position: str = "客户经理"
    position: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    branch: dict[str, float | None] = Field(default_factory=dict)
    company: dict[str, float | None] = Field(default_factory=dict)
    entity: dict[str, dict[str, float | None]] = Field(default_factory=dict)


class GradeBand(_Model):
    min: float = Field(ge=0, le=100)
    label: str
    code: str | None = None


class GradeSpec(_Model):
    scale: str = "five"
    scales: dict[str, list[GradeBand]]


class StarSpec(_Model):
    shares: list[float] = Field(default_factory=lambda: [10, 22.5, 35, 22.5, 10], min_length=2)
    peer_group: dict[str, str] = Field(
        default_factory=lambda: {"employee": "position", "branch": "all"}
    )


class AbilitySpec(_Model):
    relations: dict[str, float] = Field(
        default_factory=lambda: {"superior": 50, "peer": 20, "subordinate": 20, "self": 10}
    )


class CompositeSpec(_Model):
    kpi: float = Field(default=70, ge=0)
    ability: float = Field(default=30, ge=0)


class DeductionRule(_Model):
    name: str
    points: float = Field(ge=0, le=100)


class DeductionSpec(_Model):
    window_months: int = Field(default=1, ge=1, le=24)
    floor: float = Field(default=70, ge=0, le=100)
    apply: Literal["multiply", "subtract", "none"] = "multiply"
    rules: dict[str, DeductionRule] = Field(default_factory=dict)
    # The bonus (绩效奖金 = 奖励标准金 × 剩余积分 %, seed 003) takes its standard from pay.yaml
    # ``bonus`` (perfkit.pay.bonus_standards), the one place for it.


class Scorecard(_Model):
    """The whole scorecard. ``method(indicator_id)`` gives the built scoring method."""

    version: int = 1
    missing: Literal["renormalise", "zero"] = "renormalise"
    families: dict[str, FamilySpec] = Field(min_length=1)
    targets: TargetSpec = Field(default_factory=TargetSpec)
    grades: GradeSpec
    stars: StarSpec = Field(default_factory=StarSpec)
    ability: AbilitySpec = Field(default_factory=AbilitySpec)
    composite: CompositeSpec = Field(default_factory=CompositeSpec)
    deductions: DeductionSpec = Field(default_factory=DeductionSpec)

    _methods: dict[str, _methods.Method] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr(default="")

    def indicator_specs(self) -> list[tuple[str, IndicatorSpec]]:
        """(family id, indicator spec) in YAML order."""
        return [(f, i) for f, fam in self.families.items() for i in fam.indicators]

    def method(self, indicator_id: str) -> _methods.Method:
        return self._methods[indicator_id]

    def weights(self) -> pd.DataFrame:
        """family, indicator_id, family_weight, indicator_weight (fractions), weight = product."""
        ftot = sum(f.weight for f in self.families.values())
        rows = []
        for fid, fam in self.families.items():
            itot = sum(i.weight for i in fam.indicators)
            for i in fam.indicators:
                rows.append((fid, i.id, fam.weight / ftot, i.weight / itot))
        df = pd.DataFrame(rows, columns=["family", "indicator_id", "family_weight", "indicator_weight"])
        df["weight"] = df["family_weight"] * df["indicator_weight"]
        return df

    @property
    def bands(self) -> list[GradeBand]:
        return sorted(self.grades.scales[self.grades.scale], key=lambda b: -b.min)


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------
def spec_error(file: str, entry: str, field: str | None, message: str) -> SpecError:
    """A SpecError whose text names file, entry and field; ``.entry``/``.field`` are set for check."""
    text = f"{entry}" + (f", field {field}" if field else "") + f": {message}"
    err = SpecError(text, file=file)
    err.entry = entry  # type: ignore[attr-defined]
    err.field = field
    err.message = message
    return err


def _loc_to_entry(loc: tuple) -> tuple[str, str | None]:
    parts = [str(p) for p in loc]
    if not parts:
        return "(top)", None
    if len(parts) == 1:
        return "(top)", parts[0]
    entry = parts[0]
    for p in parts[1:-1]:
        entry += f"[{p}]" if p.isdigit() else f".{p}"
    return entry, parts[-1]


def _weights_sum_ok(total: float) -> bool:
    return any(math.isclose(total, t, rel_tol=WEIGHT_TOLERANCE, abs_tol=1e-9) for t in (1.0, 100.0))


def _catalog_info(params: str | Path) -> dict[str, dict[str, Any]] | None:
    """id → {name, family, higher_is_better, ratio, unit} from perfkit.metrics.catalog, or None if absent."""
    try:
        from perfkit.metrics.catalog import load_catalog
    except ImportError:
        return None
    cat = load_catalog(params)
    items = cat.values() if isinstance(cat, Mapping) else getattr(cat, "indicators", cat)
    if isinstance(items, Mapping):
        items = items.values()
    info = {}
    for ind in items:
        info[ind.id] = {
            "name": getattr(ind, "name", ind.id),
            "family": getattr(ind, "family", None),
            "higher_is_better": bool(getattr(ind, "higher_is_better", True)),
            "ratio": getattr(ind, "denominator", None) is not None,
            "unit": getattr(ind, "unit", ""),
        }
    return info


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise spec_error(str(path), "(file)", None, "file not found")
    try:
        # the libyaml safe loader, as perfkit.metrics.catalog: this file is read several times per report
        return yaml.load(path.read_text(encoding="utf-8"),  # noqa: S506 - a safe loader
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise spec_error(str(path), "(file)", None, f"not valid YAML: {exc}") from None


def scorecard_problems(
    params: str | Path = "parameters", catalog: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[Scorecard | None, list[SpecError]]:
    """Validate scorecard.yaml; return (model or None, every problem found).

    ``catalog`` (id → info) defaults to :func:`perfkit.metrics.catalog.load_catalog` of the same folder; if the
    catalog itself is broken, indicator ids are not checked (``perfkit check`` reports the catalog).
    """
    path = Path(params) / FILE_NAME
    f = str(path)
    try:
        raw = _read_yaml(path)
    except SpecError as exc:
        return None, [exc]
    if catalog is None:
        try:
            catalog = _catalog_info(params)
        except SpecError as exc:
            log.warning("indicator ids in %s not checked: catalog is invalid (%s)", f, exc)
            catalog = None
    return validate_scorecard(raw, catalog, file=f)


def validate_scorecard(
    raw: Any, catalog: Mapping[str, Mapping[str, Any]] | None = None, *, file: str = "scorecard.yaml"
) -> tuple[Scorecard | None, list[SpecError]]:
    """Validate a scorecard given as plain data (the parsed YAML); return (model or None, problems).

    ``catalog`` maps indicator id → {"higher_is_better": bool, …}; None skips the id checks.
    """
    f = file
    if not isinstance(raw, dict):
        return None, [spec_error(f, "(top)", None, "expected a mapping of sections")]
    try:
        sc = Scorecard.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            entry, field = _loc_to_entry(tuple(e["loc"]))
            msg = e["msg"] if e["type"] != "extra_forbidden" else "unknown field"
            if tuple(e["loc"]) == ("deductions", "bonus_standard"):
                msg = ("the bonus standard moved to pay.yaml: bonus.standard (by level, for the "
                       "positions paid by pay.yaml) and bonus.by_position (other positions)")
            problems.append(spec_error(f, entry, field, msg))
        return None, problems

    problems: list[SpecError] = []

    total = sum(fam.weight for fam in sc.families.values())
    if not _weights_sum_ok(total):
        problems.append(spec_error(f, "families", "weight",
                                   f"family weights sum to {total:g}; they must sum to 1 or 100"))
    seen: dict[str, str] = {}
    built: dict[str, _methods.Method] = {}
    for fid, fam in sc.families.items():
        itot = sum(i.weight for i in fam.indicators)
        if not _weights_sum_ok(itot):
            problems.append(spec_error(f, f"families.{fid}", "indicators",
                                       f"indicator weights sum to {itot:g}; they must sum to 1 or 100"))
        for ind in fam.indicators:
            entry = f"families.{fid}.indicators[{ind.id}]"
            if ind.id in seen:
                problems.append(spec_error(f, entry, "id",
                                           f"indicator {ind.id!r} is already scored in family "
                                           f"{seen[ind.id]!r}"))
            seen[ind.id] = fid
            if catalog is not None and ind.id not in catalog:
                problems.append(spec_error(f, entry, "id",
                                           f"unknown indicator {ind.id!r}; not in indicators.yaml"))
            try:
                m = _methods.build(ind.method, ind.params)
                if catalog is not None and ind.id in catalog:
                    m.validate_direction(bool(catalog[ind.id]["higher_is_better"]))
                built[ind.id] = m
            except SpecError as exc:
                fld = "method" if exc.field == "method" else f"params.{exc.field}"
                problems.append(spec_error(f, entry, fld, exc.message))

    t = sc.targets
    if t.default_position not in POSITIONS:
        problems.append(spec_error(f, "targets", "default_position",
                                   f"unknown position {t.default_position!r}; known: "
                                   + ", ".join(POSITIONS)))
    for pos, tmap in t.position.items():
        if pos not in POSITIONS:
            problems.append(spec_error(f, f"targets.position.{pos}", None,
                                       f"unknown position {pos!r}; known: " + ", ".join(POSITIONS)))
        problems += _unknown_ids(f, f"targets.position.{pos}", tmap, catalog)
    problems += _unknown_ids(f, "targets.branch", t.branch, catalog)
    problems += _unknown_ids(f, "targets.company", t.company, catalog)
    for ent, tmap in t.entity.items():
        problems += _unknown_ids(f, f"targets.entity.{ent}", tmap, catalog)

    g = sc.grades
    if g.scale not in g.scales:
        problems.append(spec_error(f, "grades", "scale",
                                   f"unknown scale {g.scale!r}; defined scales: " + ", ".join(g.scales)))
    for name, bands in g.scales.items():
        mins = [b.min for b in bands]
        if not bands or min(mins) != 0:
            problems.append(spec_error(f, f"grades.scales.{name}", "min",
                                       "the lowest band must start at min 0 so every score gets a grade"))
        if len(set(mins)) != len(mins):
            problems.append(spec_error(f, f"grades.scales.{name}", "min", f"duplicate band minimum in {mins}"))
        if len(bands) not in (5, 10):
            log.info("%s: grade scale %s has %d levels (usual: 5 or 10)", f, name, len(bands))

    s = sc.stars
    if any(x < 0 for x in s.shares) or not _weights_sum_ok(sum(s.shares)):
        problems.append(spec_error(f, "stars", "shares",
                                   f"shares must be ≥ 0 and sum to 1 or 100; got {s.shares}"))
    for lvl, col in s.peer_group.items():
        allowed = {"employee": EMPLOYEE_PEER_COLUMNS, "branch": BRANCH_PEER_COLUMNS,
                   "company": ("all",)}.get(lvl)
        if allowed is None:
            problems.append(spec_error(f, "stars.peer_group", lvl,
                                       "unknown level; known: " + ", ".join(LEVELS)))
        elif col not in allowed:
            problems.append(spec_error(f, "stars.peer_group", lvl,
                                       f"unknown peer group {col!r}; allowed: " + ", ".join(allowed)))
    for rel, w in sc.ability.relations.items():
        if rel not in RELATIONS:
            problems.append(spec_error(f, "ability.relations", rel,
                                       "unknown relation; known: " + ", ".join(RELATIONS)))
        if w < 0:
            problems.append(spec_error(f, "ability.relations", rel, f"weight must be ≥ 0; got {w}"))
    c = sc.composite
    if not _weights_sum_ok(c.kpi + c.ability):
        problems.append(spec_error(f, "composite", "kpi",
                                   f"kpi + ability = {c.kpi + c.ability:g}; must sum to 1 or 100"))
    if not problems:
        sc._methods.update(built)
        sc._source = f
        return sc, []
    return None, problems


def _unknown_ids(f: str, entry: str, tmap: Mapping[str, Any], catalog) -> list[SpecError]:
    if catalog is None:
        return []
    return [spec_error(f, entry, k, f"unknown indicator {k!r}; not in indicators.yaml")
            for k in tmap if k not in catalog]


def load_scorecard(params: str | Path = "parameters") -> Scorecard:
    """Load and validate ``<params>/scorecard.yaml``.

    Raises :class:`SpecError` naming file, entry and field of the first problem (and how many more
    there are; ``perfkit check`` lists them all).
    """
    sc, problems = scorecard_problems(params)
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first = spec_error(first.file or "", first.entry, first.field,  # type: ignore[attr-defined]
                               f"{first.message} (and {len(problems) - 1} more problem(s); "
                               "run `perfkit check`)")
        raise first
    assert sc is not None
    log.debug("loaded %s (%d scored indicators)", sc._source, len(sc._methods))
    return sc


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
def _month_bounds(month: str) -> tuple[str, str]:
    p = pd.Period(month, freq="M")
    return str(p.start_time.date()), str(p.end_time.date())


def _active_employees(con, month: str) -> pd.DataFrame:
    first, last = _month_bounds(month)
    return con.execute(
        """SELECT e.employee_id, e.employee_name, e.branch_id, e.position, e.level,
                  b.region, b.region_class
           FROM employees e JOIN branches b USING (branch_id)
           WHERE e.hire_date <= CAST(? AS DATE)
             AND (e.leave_date IS NULL OR e.leave_date >= CAST(? AS DATE))
           ORDER BY e.employee_id""",
        [last, first],
    ).df()


def _company_id() -> str:
    try:
        from perfkit.metrics import indicators as _ind

        return str(getattr(_ind, "COMPANY_ID", "company"))
    except ImportError:
        return "company"


def _check_month(month: str) -> None:
    import re

    from perfkit.data.schema import MONTH_PATTERN

    if not isinstance(month, str) or not re.match(MONTH_PATTERN, month):
        raise RequestError(f"month must be YYYY-MM, got {month!r}")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise RequestError(f"unknown level {level!r}; known levels: {', '.join(LEVELS)}")


def targets(con, month: str, level: str, params: str | Path = "parameters") -> pd.DataFrame:
    """Targets for every entity × indicator at ``level`` in ``month``: columns entity_id,
    indicator_id, target (float, in the unit of the indicator's value). Rows without a target are
    left out.

    Employees (active in the month): the position's targets (missing ones from
    ``targets.default_position``, 客户经理), then ``targets.entity.<employee_id>`` overrides.
    Branches and the company: ``targets.entity.<id>`` first, then ``targets.branch`` /
    ``targets.company``; otherwise an additive indicator (no denominator) gets the sum of its
    active employees' targets and a ratio indicator the default position's target.
    ``con`` is an open DuckDB connection or a store path.
    """
    from perfkit.data.store import connect

    _check_month(month)
    _check_level(level)
    sc = load_scorecard(params)
    catalog = _catalog_info(params) or {}
    with connect(con) as c:
        emps = _active_employees(c, month)
        branches = [r[0] for r in c.execute("SELECT branch_id FROM branches ORDER BY 1").fetchall()]
    t = sc.targets
    default = t.default_position
    ids = list(catalog) or sorted(
        {k for m in t.position.values() for k in m} | set(t.branch) | set(t.company)
        | {k for m in t.entity.values() for k in m}
    )

    def merged(base: Mapping[str, float | None], over: Mapping[str, float | None]) -> dict:
        out = dict(base)
        out.update(over)
        return out

    emp_rows = []
    for e in emps.itertuples(index=False):
        tm = merged(t.position.get(default, {}), t.position.get(e.position, {}))
        tm = merged(tm, t.entity.get(e.employee_id, {}))
        for ind in ids:
            emp_rows.append((e.employee_id, e.branch_id, ind, tm.get(ind)))
    emp_t = pd.DataFrame(emp_rows, columns=["entity_id", "branch_id", "indicator_id", "target"])
    emp_t["target"] = pd.to_numeric(emp_t["target"], errors="coerce")

    if level == "employee":
        out = emp_t.drop(columns="branch_id")
    else:
        if level == "branch":
            groups = {b: emp_t[emp_t["branch_id"] == b] for b in branches}
            level_default = t.branch
        else:
            groups = {_company_id(): emp_t}
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
                elif catalog.get(ind, {}).get("ratio", False):
                    val = dpos.get(ind)
                else:
                    val = sums.get(ind, np.nan)
                rows.append((ent, ind, val))
        out = pd.DataFrame(rows, columns=["entity_id", "indicator_id", "target"])
        out["target"] = pd.to_numeric(out["target"], errors="coerce")
    return out.dropna(subset=["target"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Scoring (pure)
# --------------------------------------------------------------------------------------------
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


def family_labels(params: str | Path = "parameters") -> dict[str, str]:
    """Family id → label shown to users: the scorecard's ``name`` if set, else the catalog's
    Chinese family name (潜在客户 …), else the id. Labels the ``score_<family>`` columns."""
    sc = load_scorecard(params)
    try:
        from perfkit.metrics.catalog import load_catalog

        names = dict(load_catalog(params).families)
    except (ImportError, SpecError):
        names = {}
    return {f: fam.name or names.get(f, f) for f, fam in sc.families.items()}


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


def grade_of(composite: Iterable[float], bands: list[GradeBand]) -> list[str | None]:
    """The label of the highest band whose ``min`` ≤ score (bands in any order); NaN → None."""
    ordered = sorted(bands, key=lambda b: -b.min)
    out: list[str | None] = []
    for x in composite:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            out.append(None)
            continue
        out.append(next((b.label for b in ordered if x >= b.min - 1e-9), ordered[-1].label))
    return out


def assign_stars(
    composite: pd.Series, groups: pd.Series | None = None,
    shares: Iterable[float] = (10, 22.5, 35, 22.5, 10), decimals: int = 6,
) -> pd.Series:
    """Forced-distribution stars within each peer group (Morningstar style).

    ``shares`` are the percentages from the most stars down (default 10/22.5/35/22.5/10 % for
    5★…1★). Rule, deterministic and symmetric:

    1. Composites are compared rounded to ``decimals``; NaN composites get no stars (<NA>) and do
       not count in the group size n.
    2. Sorted from best to worst, tied entities share their mid position m (the mean of the
       positions they occupy), so **equal composites always get equal stars**.
    3. Each entity's percentile is p = (m − ½)/n (the centre of its cells). If p ≤ ½ it gets the
       most stars k for which p ≤ the cumulative share from the top through k; otherwise the fewest
       stars k for which 1 − p ≤ the cumulative share from the bottom through k. Comparisons are
       exact (fractions), boundaries inclusive.

    Consequences: n = 1 → the middle star (3★); all-equal scores → everybody 3★; n = 10 → 1/2/4/2/1;
    n = 40 → 4/9/14/9/4.
    """
    comp = pd.Series(composite, dtype="float64").round(decimals)
    grp = (pd.Series(["all"] * len(comp), index=comp.index) if groups is None
           else pd.Series(groups, index=comp.index).fillna("").astype(str))
    sh = [Fraction(str(x)) for x in shares]
    total = sum(sh)
    sh = [x / total for x in sh]
    k = len(sh)
    top_cum = [sum(sh[: i + 1]) for i in range(k)]           # index 0 = most stars
    bottom_cum = [sum(sh[k - 1 - i:]) for i in range(k)]     # index 0 = fewest stars (1★)
    out = pd.Series(pd.array([pd.NA] * len(comp), dtype="Int64"), index=comp.index)
    for _, idx in comp.groupby(grp, sort=False).groups.items():
        vals = comp.loc[idx].dropna()
        n = len(vals)
        if n == 0:
            continue
        # positions 1..n best first; ties share the mean position
        mid = vals.rank(method="average", ascending=False)
        for ent, m in mid.items():
            p = (Fraction(str(m)) - Fraction(1, 2)) / n
            if p <= Fraction(1, 2):
                star = next(k - i for i in range(k) if p <= top_cum[i])
            else:
                q = 1 - p
                star = next(i + 1 for i in range(k) if q <= bottom_cum[i])
            out.loc[ent] = star
    return out


# --------------------------------------------------------------------------------------------
# 360 ability and conduct deductions
# --------------------------------------------------------------------------------------------
def latest_review_period(month: str) -> str:
    """The latest half-year period that has ended by the end of ``month`` ('2026-10' → '2026H1')."""
    y, m = int(month[:4]), int(month[5:7])
    if m == 12:
        return f"{y}H2"
    if m >= 6:
        return f"{y}H1"
    return f"{y - 1}H2"


def ability_scores(con, month: str, spec: AbilitySpec) -> pd.DataFrame:
    """360 ability score 0–100 per employee: for each employee's latest review period ended by
    ``month``, the mean score per relation (over reviewers and dimensions), weighted by
    ``spec.relations`` over the relations present. Columns employee_id, review_period,
    ability_score. Employees without reviews are absent (their composite uses the KPI only).
    """
    last = latest_review_period(month)
    df = con.execute(
        """WITH r AS (SELECT * FROM reviews WHERE period <= ?),
                latest AS (SELECT reviewee_id, max(period) AS period FROM r GROUP BY 1)
           SELECT r.reviewee_id AS employee_id, r.period AS review_period, r.relation,
                  avg(r.score) AS score
           FROM r JOIN latest USING (reviewee_id, period)
           GROUP BY ALL""",
        [last],
    ).df()
    res = relation_weighted(df, spec, ["employee_id", "review_period"])
    return res.rename(columns={"score": "ability_score"}).drop(columns="relations")


def ability_dimensions(con, month: str, spec: AbilitySpec) -> pd.DataFrame:
    """The 360 ability score per employee × dimension (专业能力, 服务态度 …) of the latest review
    period ended by ``month``: per dimension, the mean score of each relation weighted by
    ``spec.relations`` renormalised over the relations that reviewed that dimension (a relation
    with weight 0 or without reviews does not count). Columns employee_id, review_period, dimension,
    score, relations (the relations that counted, e.g. "superior+peer")."""
    last = latest_review_period(month)
    df = con.execute(
        """WITH r AS (SELECT * FROM reviews WHERE period <= ?),
                latest AS (SELECT reviewee_id, max(period) AS period FROM r GROUP BY 1)
           SELECT r.reviewee_id AS employee_id, r.period AS review_period, r.dimension, r.relation,
                  avg(r.score) AS score
           FROM r JOIN latest USING (reviewee_id, period)
           GROUP BY ALL ORDER BY ALL""",
        [last],
    ).df()
    return relation_weighted(df, spec, ["employee_id", "review_period", "dimension"])


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


def incident_rows(con, month: str, spec: DeductionSpec) -> pd.DataFrame:
    """The incidents behind the 百分制倒扣 of ``month``: every incident in the ``window_months``
    months ending with ``month``, with the points it counts (YAML rule points, else its own) and
    the rule's name. Columns employee_id, incident_id, incident_date, rule_code, rule_name, points,
    note; ordered by employee and date."""
    first = str(pd.Period(month, freq="M") - (spec.window_months - 1))
    start, _ = _month_bounds(first)
    _, end = _month_bounds(month)
    inc = con.execute(
        """SELECT employee_id, incident_id, incident_date, rule_code, points, note FROM incidents
           WHERE incident_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
           ORDER BY employee_id, incident_date, incident_id""",
        [start, end],
    ).df()
    inc["points"] = inc["rule_code"].map({k: r.points for k, r in spec.rules.items()}
                                         ).fillna(inc["points"]).astype(float)
    inc.insert(4, "rule_name", inc["rule_code"].map({k: r.name for k, r in spec.rules.items()}))
    return inc


def deduction_bonus(conduct_score: pd.Series, standard: pd.Series) -> pd.Series:
    """绩效奖金 = 奖励标准金 × 剩余积分 % (seed 003): ``standard`` (元) × ``conduct_score`` / 100.
    A missing conduct score counts as 100 (no incidents); a missing standard gives no bonus (NaN)."""
    return standard * conduct_score.fillna(100.0) / 100.0


def conduct_scores(con, month: str, spec: DeductionSpec) -> pd.DataFrame:
    """百分制倒扣: per employee, deduction_points = Σ points of incidents in the ``window_months``
    months ending with ``month`` (a rule code listed in scorecard.yaml uses its YAML points, else the
    incident's own points) and conduct_score = max(floor, 100 − deduction_points). Employees without
    incidents are absent (0 points, conduct 100).
    """
    first = str(pd.Period(month, freq="M") - (spec.window_months - 1))
    start, _ = _month_bounds(first)
    _, end = _month_bounds(month)
    inc = con.execute(
        """SELECT employee_id, rule_code, points FROM incidents
           WHERE incident_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)""",
        [start, end],
    ).df()
    rule_points = {k: r.points for k, r in spec.rules.items()}
    inc["points"] = inc["rule_code"].map(rule_points).fillna(inc["points"]).astype(float)
    res = inc.groupby("employee_id")["points"].sum().rename("deduction_points").reset_index()
    res["conduct_score"] = np.maximum(spec.floor, 100.0 - res["deduction_points"])
    return res


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


# --------------------------------------------------------------------------------------------
# Store-backed frames
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Month:
    bd: pd.DataFrame        # score_indicators output + entity meta
    meta: pd.DataFrame      # entity_id, entity_name, parent_id, peer_group


def _peer_groups(con, level: str, month: str, sc: Scorecard) -> pd.DataFrame:
    col = sc.stars.peer_group.get(level, "all")
    if level == "employee":
        df = con.execute("SELECT employee_id AS entity_id, branch_id, position, level "
                         "FROM employees").df()
    elif level == "branch":
        df = con.execute("SELECT branch_id AS entity_id, region, region_class FROM branches").df()
    else:
        return pd.DataFrame({"entity_id": [_company_id()], "peer_group": ["all"]})
    df["peer_group"] = "all" if col == "all" else df[col].fillna("").astype(str)
    return df[["entity_id", "peer_group"]]


def _score_month(con, month: str, level: str, sc: Scorecard, params, source=None) -> _Month:
    """Scored indicators of one month. ``source`` (the store path, when the caller got one) lets
    :func:`indicators` use its measure cache; ``con`` serves everything else."""
    from perfkit.metrics.indicators import indicators

    ind = indicators(source if source is not None else con, month, level, params=params, history=1)
    catalog = _catalog_info(params) or {}
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
    # indicators() fills `target` from targets() of this module (same params)
    frame = ind[["entity_id", "indicator_id", "value", "target"]].merge(
        meta[["entity_id", "peer_group"]], on="entity_id", how="left"
    )
    hib = {k: v["higher_is_better"] for k, v in catalog.items()}
    bd = score_indicators(frame, sc, hib)
    names = {k: v["name"] for k, v in catalog.items()}
    bd.insert(4, "indicator_name", bd["indicator_id"].map(names).fillna(bd["indicator_id"]))
    return _Month(bd=bd, meta=meta)


def _prev_month(con, month: str) -> str | None:
    from perfkit.data.store import months

    prev = str(pd.Period(month, freq="M") - 1)
    return prev if prev in months(con) else None


def _filter_entity(df: pd.DataFrame, entity: str | None, meta: pd.DataFrame) -> pd.DataFrame:
    if entity is None:
        return df
    keep = meta.loc[(meta["entity_id"] == entity) | (meta["parent_id"] == entity), "entity_id"]
    if keep.empty:
        raise RequestError(f"unknown entity {entity!r} (neither an entity nor a parent at this level)")
    return df[df["entity_id"].isin(set(keep))].reset_index(drop=True)


def breakdown(
    store, month: str, level: str = "employee", *, entity: str | None = None,
    params: str | Path = "parameters",
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


def _cacheable(store):
    """The store path to hand to :func:`indicators` (which caches measures per path), or None for
    an open connection."""
    import duckdb

    return None if isinstance(store, duckdb.DuckDBPyConnection) else store


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
    params: str | Path = "parameters",
) -> pd.DataFrame:
    """The scorecard: one row per entity at ``level`` (employee or branch; company gives one row).

    Columns: entity_id, entity_name, parent_id, peer_group, kpi_score (0–100, Σ of the breakdown's
    points), score_<family> (0–100 per family, see :func:`family_labels`), ability_score (360,
    employees only), deduction_points and conduct_score (百分制倒扣, employees only), composite
    (0–100, see :func:`combine`; branch and company: = kpi_score), grade (band label), grade_code
    (its code, e.g. A–E), stars (1–5 within the peer group, :func:`assign_stars`), rank (1 = best
    composite within the peer group; ties share the smaller rank), n_peers (entities with a
    composite in the peer group), prev_composite, change. Stars and ranks are computed over all
    entities of the level before ``entity`` (an entity id or a parent id) filters the rows.
    """
    return scorecard(store, month, level, entity=entity, params=params)[0]


def scorecard(
    store, month: str, level: str = "employee", *, entity: str | None = None,
    params: str | Path = "parameters",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`scores`, :func:`breakdown`) from one scoring of this month and last month, so a
    report that shows both pays for them once. ``entity`` filters both the same way."""
    _check_month(month)
    _check_level(level)
    from perfkit.data.store import connect

    sc = load_scorecard(params)
    source = _cacheable(store)
    with connect(store) as con:
        cur = _score_month(con, month, level, sc, params, source)
        prev_m = _prev_month(con, month)
        prev = _score_month(con, prev_m, level, sc, params, source) if prev_m else None
        df = _entity_scores(con, month, level, sc, cur)
        prev_df = _entity_scores(con, prev_m, level, sc, prev) if prev is not None else None
    df["grade"] = grade_of(df["composite"], sc.bands)
    df["grade_code"] = df["grade"].map({b.label: b.code for b in sc.bands})
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
