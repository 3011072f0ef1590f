"""``parameters/appraisal.yaml``: the appraisal methods beside the KPI scorecard, as frozen models.

``sections`` switches each report section on or off (ability, conduct, advisor, rfm);
``advisor`` (:class:`AdvisorSpec`) sets the risk-adjusted evaluation of :mod:`perfkit.appraisal.advisor`
and ``rfm`` (:class:`RFMSpec`) the client classes of :mod:`perfkit.appraisal.rfm`. The 360 relation
weights, deduction rules and floor stay in scorecard.yaml (``ability``, ``deductions``), which the
composite score also uses; the bonus standard is pay.yaml's ``bonus``.

:func:`appraisal_problems` lists every problem (naming file, entry and field); :func:`load_appraisal`
raises the first. A missing file means the defaults, every section on.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from perfkit.appraisal.spec import model_problems, read_sections_file
from perfkit.errors import SpecError, spec_error
from perfkit.projectfile import find_params

FILE_NAME = "appraisal.yaml"
SECTIONS = ("ability", "conduct", "advisor", "rfm")


#: peer groups of the advisor ranking; the RFM classes and the service the seed recommends for each
PEER_COLUMNS = ("position", "level", "branch_id", "all")
CLASSES = ("自主决策类", "咨询依托类", "资产管理类")
DEFAULT_SERVICES = {
    "自主决策类": "综合性服务：提高忠诚度、降低流失率，稳定经纪业务收入",
    "咨询依托类·R↑F↓": "投资咨询服务：提高交易频率，提升对公司的贡献度",
    "咨询依托类·R↓F↑": "投资咨询服务：帮助提高投资回报率，增加对公司的依赖度",
    "资产管理类": "资产管理类服务：提高投资回报率，同时增加公司价值",
}


class SectionSwitches(BaseModel):
    """Which appraisal sections the reports show (all on by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ability: bool = True
    conduct: bool = True
    advisor: bool = True
    rfm: bool = True


class AdvisorSpec(BaseModel):
    """``advisor:`` of parameters/appraisal.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_months: int = Field(default=12, ge=3, le=120)
    min_months: int = Field(default=12, ge=4, le=120)
    peer_group: str = "position"
    top_share: float = Field(default=40, gt=0, lt=100)
    bottom_share: float = Field(default=10, gt=0, lt=100)
    jensen_confidence: float = Field(default=0.975, gt=0.5, lt=1)
    tm_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    gamma: float = Field(default=2.0, ge=0, le=10)
    watch_months: int = Field(default=6, ge=0, le=24)


class RFMSpec(BaseModel):
    """``rfm:`` of parameters/appraisal.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_months: int = Field(default=12, ge=1, le=60)
    return_high: float = Field(default=0.0, ge=-1, le=10)
    trade_days_high: float = Field(default=2.0, ge=0, le=23)
    vip_assets: float = Field(default=5_000_000, gt=0)
    core_assets: float = Field(default=500_000, gt=0)
    services: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SERVICES))


class AppraisalSpec(BaseModel):
    """The whole of appraisal.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    sections: SectionSwitches = Field(default_factory=SectionSwitches)
    advisor: AdvisorSpec = Field(default_factory=AdvisorSpec)
    rfm: RFMSpec = Field(default_factory=RFMSpec)

    def enabled(self, section: str) -> bool:
        return bool(getattr(self.sections, section))


def appraisal_problems(params: str | Path | None = None) -> tuple[AppraisalSpec | None,
                                                                     list[SpecError]]:
    """Validate ``<params>/appraisal.yaml``; return (model or None, every problem found). A missing
    file means the defaults (every section on)."""
    path = find_params(params) / FILE_NAME
    f = str(path)
    if not path.exists():
        return AppraisalSpec(), []
    try:
        raw = read_sections_file(path)
    except SpecError as exc:
        return None, [exc]
    spec, problems = model_problems(AppraisalSpec, raw, f)
    if spec is None:
        return None, problems
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


def load_appraisal(params: str | Path | None = None) -> AppraisalSpec:
    """Load and validate appraisal.yaml; the error names file, entry and field of the first
    problem (``perfkit check`` lists them all)."""
    spec, problems = appraisal_problems(params)
    if problems:
        raise problems[0]
    assert spec is not None
    return spec
