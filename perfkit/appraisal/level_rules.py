"""``parameters/levels.yaml`` as frozen models: the levels of the 客户经理 sequence, which positions
are reviewed, the review months and window, the promotion and probation rules and each level's
maintain standard (thresholds: one number, or one per region class 一类 / 二类 / 三四类).

:func:`load_levels` checks the file (errors name file, entry and field). The review itself is
:mod:`perfkit.appraisal.levels`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from perfkit.data.schema import LEVELS as SCHEMA_LEVELS
from perfkit.data.schema import POSITIONS, REGION_CLASSES
from perfkit.errors import SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

FILE_NAME = "levels.yaml"


Threshold = float | dict[str, float]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_threshold(v: Any) -> Any:
    if isinstance(v, dict):
        unknown = [k for k in v if k not in REGION_CLASSES]
        if unknown:
            raise ValueError(f"unknown region class {unknown[0]!r}; known: {', '.join(REGION_CLASSES)}")
        missing = [k for k in REGION_CLASSES if k not in v]
        if missing:
            raise ValueError(f"missing region class {missing[0]!r} (give all of {', '.join(REGION_CLASSES)} "
                             "or one number)")
        if any(x < 0 for x in v.values()):
            raise ValueError("thresholds must be ≥ 0")
    elif v is not None and v < 0:
        raise ValueError("thresholds must be ≥ 0")
    return v


class LargeAssets(_Model):
    """The large-assets alternative: above ``assets`` 托管资产 the effective-client threshold is lower."""

    assets: Threshold
    effective_clients: Threshold

    _v = field_validator("assets", "effective_clients")(_check_threshold)


class Standard(_Model):
    """A level's maintain standard (维持标准); all conditions at once, the two flows either-or."""

    assets: Threshold
    effective_clients: Threshold
    large_assets: LargeAssets | None = None
    net_new_effective_clients: Threshold | None = None
    net_new_assets: Threshold | None = None

    _v = field_validator("assets", "effective_clients", "net_new_effective_clients",
                         "net_new_assets")(_check_threshold)

    @model_validator(mode="after")
    def _one_flow(self) -> Standard:
        if self.net_new_effective_clients is None and self.net_new_assets is None:
            raise ValueError("give net_new_effective_clients or net_new_assets (or both)")
        return self


class Review(_Model):
    months: tuple[int, ...] = Field(min_length=1)
    window_months: int = Field(ge=1)

    @field_validator("months")
    @classmethod
    def _months(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(m < 1 or m > 12 for m in v):
            raise ValueError("review months are calendar months 1–12")
        return tuple(sorted(set(v)))


class Promotion(_Model):
    min_months_at_level: int = Field(ge=0)
    consecutive_quarters: int = Field(ge=1)
    min_composite: float | None = Field(default=None, ge=0, le=100)


class ProbationStandard(_Model):
    new_effective_clients: Threshold | None = None
    new_net_assets: Threshold | None = None
    revenue: Threshold | None = None

    _v = field_validator("new_effective_clients", "new_net_assets", "revenue")(_check_threshold)


class Probation(_Model):
    months: int = Field(ge=1)
    standard: ProbationStandard


class LevelRules(_Model):
    """parameters/levels.yaml."""

    levels: tuple[str, ...] = Field(min_length=1)
    positions: tuple[str, ...] = Field(min_length=1)
    review: Review
    promotion: Promotion
    probation: Probation
    standards: dict[str, Standard]

    @model_validator(mode="after")
    def _consistent(self) -> LevelRules:
        bad = [x for x in self.levels if x not in SCHEMA_LEVELS]
        if bad:
            raise ValueError(f"levels: unknown level {bad[0]!r}; the store knows {', '.join(SCHEMA_LEVELS)}")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("levels: a level is listed twice")
        bad = [x for x in self.positions if x not in POSITIONS]
        if bad:
            raise ValueError(f"positions: unknown position {bad[0]!r}; known: {', '.join(POSITIONS)}")
        missing = [x for x in self.levels if x not in self.standards]
        if missing:
            raise ValueError(f"standards: no maintain standard for level {missing[0]!r}")
        extra = [x for x in self.standards if x not in self.levels]
        if extra:
            raise ValueError(f"standards: {extra[0]!r} is not one of levels ({', '.join(self.levels)})")
        return self


def load_levels(params: str | Path | None = None) -> LevelRules:
    """Load and check ``<params>/levels.yaml``; a problem is a SpecError naming file, entry and field."""
    path = find_params(params) / FILE_NAME
    raw = read_yaml(path)
    try:
        return LevelRules.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        if not loc and ": " in msg:  # a whole-file rule: "levels: …" names its entry
            entry, msg = msg.split(": ", 1)
            raise SpecError(msg, file=str(path), entry=entry) from None
        # drop pydantic's union branch names (float / dict[str,float]) from the location
        loc = [p for p in loc if p not in ("float", "dict[str,float]", "function-after[_one_flow(), Standard]")]
        entry = ".".join(loc[:-1]) or (loc[0] if loc else None)
        field = loc[-1] if len(loc) > 1 else None
        raise SpecError(msg, file=str(path), entry=entry, field=field) from None
