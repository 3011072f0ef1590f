"""``parameters/scorecard.yaml`` as frozen models, and every rule the file must satisfy.

* the models: families and their scored indicators (weight, scoring method and its parameters),
  the targets (:class:`perfkit.metrics.targets.TargetSpec`), grade bands, forced-distribution stars,
  the 360 relation weights, the composite mix of KPI and ability, the 百分制倒扣 deductions, and
  who is appraised and scored (:class:`perfkit.metrics.entities.AppraisedSpec`);
* :func:`validate_scorecard` / :func:`scorecard_problems` — every problem, each naming file, entry
  and field (``perfkit check`` lists them all); :func:`load_scorecard` raises the first.

Scores are on a 0–100 scale throughout; weights are fractions (the YAML may use 1 or 100 as total).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from perfkit.appraisal import methods as _methods
from perfkit.data.schema import RELATIONS
from perfkit.errors import SpecError, loc_entry, spec_error
from perfkit.files import read_yaml
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.entities import AppraisedSpec
from perfkit.metrics.targets import TargetSpec, target_problems
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


FILE_NAME = "scorecard.yaml"


WEIGHT_TOLERANCE = 1e-6  # relative to the total (1 or 100)


EMPLOYEE_PEER_COLUMNS = ("position", "level", "branch_id", "all")


BRANCH_PEER_COLUMNS = ("region_class", "region", "all")


LEVELS = ("employee", "branch", "company")


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
    appraised: AppraisedSpec = Field(default_factory=AppraisedSpec)

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


def _weights_sum_ok(total: float) -> bool:
    return any(math.isclose(total, t, rel_tol=WEIGHT_TOLERANCE, abs_tol=1e-9) for t in (1.0, 100.0))


def catalog_info(params: str | Path) -> dict[str, dict[str, Any]]:
    """id → {name, family, higher_is_better, ratio, unit} of every indicator of the catalog in
    ``params`` (what the scorecard checks and scores by)."""
    return {ind.id: {"name": ind.name, "family": ind.family,
                     "higher_is_better": ind.higher_is_better,
                     "ratio": ind.denominator is not None, "unit": ind.unit}
            for ind in load_catalog(params).indicators}


def read_sections_file(path: Path) -> Any:
    """The parsed YAML of a file of nested sections (scorecard.yaml, appraisal.yaml) as it is (its
    shape is checked by the caller); a missing or malformed file is a SpecError of entry
    ``(file)``."""
    try:
        return read_yaml(path, expect=None)
    except SpecError as exc:
        raise spec_error(str(path), "(file)", None, exc.message) from None


def model_problems(model: type[M], raw: Any, file: str, *,
                   moved: Mapping[tuple[str, ...], str] | None = None) -> tuple[M | None, list[SpecError]]:
    """``model`` validated from a file of nested sections (``raw`` as parsed); (model or None,
    every problem, each naming file, entry and field). ``moved``: a field that perfkit no longer
    reads, by location → the message saying where it went."""
    if not isinstance(raw, dict):
        return None, [spec_error(file, "(top)", None, "expected a mapping of sections")]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            entry, field = loc_entry(tuple(e["loc"]), raw)
            msg = e["msg"] if e["type"] != "extra_forbidden" else "unknown field"
            msg = (moved or {}).get(tuple(e["loc"]), msg)
            problems.append(spec_error(file, entry, field, msg))
        return None, problems


def scorecard_problems(
    params: str | Path | None = None, catalog: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[Scorecard | None, list[SpecError]]:
    """Validate scorecard.yaml; return (model or None, every problem found).

    ``catalog`` (id → info, :func:`catalog_info`) defaults to the catalog of the same folder; if
    the catalog itself is broken, indicator ids are not checked (``perfkit check`` reports it).
    """
    path = find_params(params) / FILE_NAME
    f = str(path)
    try:
        raw = read_sections_file(path)
    except SpecError as exc:
        return None, [exc]
    if catalog is None:
        try:
            catalog = catalog_info(params)
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
    sc, problems = model_problems(Scorecard, raw, f, moved={
        ("deductions", "bonus_standard"): "the bonus standard moved to pay.yaml: bonus.standard (by "
        "level, for the positions paid by pay.yaml) and bonus.by_position (other positions)"})
    if sc is None:
        return None, problems

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

    problems += target_problems(sc.targets, None if catalog is None else set(catalog), f)

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


def load_scorecard(params: str | Path | None = None) -> Scorecard:
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


def family_labels(params: str | Path | None = None) -> dict[str, str]:
    """Family id → label shown to users: the scorecard's ``name`` if set, else the catalog's
    Chinese family name (潜在客户 …), else the id. Labels the ``score_<family>`` columns."""
    sc = load_scorecard(params)
    try:
        names = dict(load_catalog(params).families)
    except SpecError:
        names = {}
    return {f: fam.name or names.get(f, f) for f, fam in sc.families.items()}
