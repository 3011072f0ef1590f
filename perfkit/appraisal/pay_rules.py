"""``parameters/pay.yaml`` as frozen models: which positions are paid by it, the performance-pay tier,
the commission share (base, rate, client cost, the demotion rule) and the bonus standard by level
(:class:`Bonus`, the one bonus standard of perfkit: the appraisal's 绩效奖金 reads it too).

:func:`load_pay` checks the file (errors name file, entry and field); :func:`bonus_standards`
gives each employee's bonus standard of a month. The computation is :mod:`perfkit.appraisal.pay`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from perfkit.data.schema import LEVELS, POSITIONS
from perfkit.errors import SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

FILE_NAME = "pay.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _amounts(v: dict[str, float]) -> dict[str, float]:
    if any(x < 0 for x in v.values()):
        raise ValueError("amounts must be ≥ 0")
    return v


def _by_level(v: dict[str, float]) -> dict[str, float]:
    """Amounts ≥ 0 for exactly the store's levels (初级 … 资深)."""
    unknown = [k for k in v if k not in LEVELS]
    if unknown:
        raise ValueError(f"unknown level {unknown[0]!r}; known: {', '.join(LEVELS)}")
    missing = [k for k in LEVELS if k not in v]
    if missing:
        raise ValueError(f"missing level {missing[0]!r} (give every one of {', '.join(LEVELS)})")
    return _amounts(v)


class Performance(_Model):
    tiers: dict[str, float]
    _v = field_validator("tiers")(_by_level)


class CommissionShare(_Model):
    base: dict[str, float]
    rate: dict[str, float]
    client_cost_per_account: float = Field(ge=0)
    demotion_after_negative_months: int = Field(ge=1)
    _v = field_validator("base", "rate")(_by_level)

    @field_validator("rate")
    @classmethod
    def _percent(cls, v: dict[str, float]) -> dict[str, float]:
        if any(x > 100 for x in v.values()):
            raise ValueError("rates are percentages 0–100 (60 means 60 %)")
        return v


class Bonus(_Model):
    """奖金标准 — the one bonus standard of perfkit (the appraisal's 绩效奖金 reads it too):
    ``standard`` by level for the paid ``positions``; ``by_position`` for other positions."""

    standard: dict[str, float]
    by_position: dict[str, float] = Field(default_factory=dict)
    _v = field_validator("standard")(_by_level)

    @field_validator("by_position")
    @classmethod
    def _other_positions(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [p for p in v if p not in POSITIONS]
        if bad:
            raise ValueError(f"unknown position {bad[0]!r}; known: {', '.join(POSITIONS)}")
        return _amounts(v)

    def standard_for(self, position: str | None, level: str | None,
                     paid: tuple[str, ...]) -> float | None:
        """The bonus standard (元) of an employee: by level for the paid positions, else by
        position; None when there is none."""
        if position in paid:
            v = self.standard.get(level or "")
        else:
            v = self.by_position.get(position or "")
        return None if v is None else float(v)


class PayRules(_Model):
    positions: tuple[str, ...] = Field(min_length=1)
    performance: Performance
    commission_share: CommissionShare
    bonus: Bonus

    @field_validator("positions")
    @classmethod
    def _positions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [p for p in v if p not in POSITIONS]
        if bad:
            raise ValueError(f"unknown position {bad[0]!r}; known: {', '.join(POSITIONS)}")
        return v


def load_pay(params: str | Path | None = None) -> PayRules:
    """Load and check ``<params>/pay.yaml``; a problem is a SpecError naming file, entry and field."""
    path = find_params(params) / FILE_NAME
    raw = read_yaml(path)
    try:
        rules = PayRules.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise SpecError(msg, file=str(path), entry=".".join(loc[:-1]) or None,
                        field=loc[-1] if loc else None) from None
    both = [p for p in rules.bonus.by_position if p in rules.positions]
    if both:  # one standard per employee: by level or by position, never both
        raise SpecError(f"{both[0]} is paid by level (positions); its bonus standard is "
                        "bonus.standard", file=str(path), entry="bonus.by_position", field=both[0])
    return rules


def bonus_standards(con, month: str, employees: pd.DataFrame, rules: PayRules | None) -> pd.Series:
    """The bonus standard (元) of each employee (``employee_id``, ``position``) in ``month``: his
    level's (levels table on the month's last day, else employees.level) for the paid positions,
    else his position's (``bonus.by_position``); NaN without one or without pay.yaml (``None``)."""
    if rules is None or employees.empty:
        return pd.Series(float("nan"), index=employees.index)
    levels = dict(con.execute(
        """WITH e AS (SELECT employee_id, level, leave_date FROM employees),
                d AS (SELECT CAST(last_day(CAST(? || '-01' AS DATE)) AS DATE) AS last_day)
           SELECT e.employee_id, coalesce(l.level, e.level)
           FROM e CROSS JOIN d
           LEFT JOIN levels AS l ON l.employee_id = e.employee_id
                AND l.start_date <= least(d.last_day, coalesce(e.leave_date, d.last_day))
                AND (l.end_date IS NULL OR l.end_date >= least(d.last_day, coalesce(e.leave_date, d.last_day)))""",
        [month]).fetchall())
    return pd.Series([rules.bonus.standard_for(p, levels.get(e), rules.positions)
                      for e, p in zip(employees["employee_id"], employees["position"], strict=True)],
                     index=employees.index, dtype=float)
