"""Scoring methods: turn indicator values into scores 0–100. A small registry (papermill style).

Every method is a frozen dataclass whose fields are its parameters (set in ``parameters/scorecard.yaml``
under an indicator's ``params``) and which is called as::

    method(values, targets, groups, higher_is_better=True) -> np.ndarray of scores 0–100

``values`` and ``targets`` are float arrays of the same length (one element per entity), ``groups``
the peer group of each entity (only :class:`Percentile` uses it).

Missing data: a NaN value — or, for methods that need a target, a NaN target — gives a NaN score.
The scorecard then leaves that indicator out for that entity and renormalises the remaining weights
(see :mod:`perfkit.appraisal.scoring`, ``missing: renormalise``), or counts it as 0 points (``missing: zero``).
Methods never raise on data; a bad *parameter* raises :class:`~perfkit.errors.SpecError` naming the
method class, the parameter, the allowed values and the bad value.

Lower-is-better indicators (流失率, 逾期任务数 …) are handled by each method as documented on it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from perfkit.errors import SpecError

__all__ = [
    "Attainment",
    "Band",
    "Linear",
    "Method",
    "Percentile",
    "build",
    "get",
    "known",
    "register",
]


def _bad(cls: type, param: str, allowed: str, value: Any) -> SpecError:
    err = SpecError(f"{cls.__name__}.{param} must be {allowed}; got {value!r}")
    err.field = param
    return err


def _number(cls: type, param: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(float(value)):
        raise _bad(cls, param, allowed, value)
    return float(value)


def _arrays(values: Any, targets: Any | None) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype="float64")
    t = np.full(v.shape, np.nan) if targets is None else np.asarray(targets, dtype="float64")
    if t.shape != v.shape:
        raise ValueError(f"values and targets differ in length: {v.shape} vs {t.shape}")
    return v, t


@dataclass(frozen=True)
class Method:
    """Base class: subclasses set ``needs_target`` and implement ``score``."""

    needs_target: ClassVar[bool] = True

    def __call__(
        self,
        values: Any,
        targets: Any | None = None,
        groups: Any | None = None,
        higher_is_better: bool = True,
    ) -> np.ndarray:
        v, t = _arrays(values, targets)
        out = np.asarray(self.score(v, t, groups, higher_is_better), dtype="float64")
        missing = np.isnan(v) | (np.isnan(t) if self.needs_target else False)
        out[missing] = np.nan
        return np.clip(out, 0.0, 100.0) + 0.0

    def score(
        self, v: np.ndarray, t: np.ndarray, groups: Any, higher_is_better: bool
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def validate_direction(self, higher_is_better: bool) -> None:
        """Raise :class:`SpecError` if the parameters contradict the indicator's direction."""


@dataclass(frozen=True)
class Attainment(Method):
    """完成率: attainment ratio r = value / target (lower-is-better: target / value), capped at ``cap``
    and scaled so that r = cap gives 100: ``score = 100 · clip(r, 0, cap) / cap``.

    With ``cap: 1.0`` meeting the target gives 100; with the default ``cap: 1.2`` meeting the target
    gives 83.3 and 120 % gives 100. Edge cases: a target ≤ 0 (higher-is-better) scores 100 when the
    value reaches the target, else 0; lower-is-better with a value ≤ 0 (e.g. no lost clients) scores
    100; a negative ratio (negative value against a positive target) scores 0.
    """

    cap: float = 1.2

    def __post_init__(self) -> None:
        cap = _number(type(self), "cap", self.cap, "a number ≥ 1 (e.g. 1.2 for 120 %)")
        if cap < 1:
            raise _bad(type(self), "cap", "a number ≥ 1 (e.g. 1.2 for 120 %)", self.cap)

    def score(self, v, t, groups, higher_is_better):
        with np.errstate(divide="ignore", invalid="ignore"):
            if higher_is_better:
                r = np.where(t > 0, v / np.where(t > 0, t, 1.0), np.where(v >= t, self.cap, 0.0))
            else:
                r = np.where(v > 0, t / np.where(v > 0, v, 1.0), self.cap)
        return 100.0 * np.clip(r, 0.0, self.cap) / self.cap


@dataclass(frozen=True)
class Linear(Method):
    """Linear between a floor (0 points) and the target (100 points), clipped to 0–100.

    ``score = 100 · clip((value − floor) / (target − floor), 0, 1)``. Give either ``floor`` (an
    absolute value, the same for every entity) or ``floor_ratio`` (a multiple of each entity's target;
    default 0.5 = half the target). For a lower-is-better indicator the floor lies *above* the target
    (``floor_ratio`` > 1, e.g. 3 = three times the allowed loss rate); the formula is the same.
    A floor equal to the target scores 100 at or beyond the target, else 0.
    """

    floor: float | None = None
    floor_ratio: float | None = None

    def __post_init__(self) -> None:
        cls = type(self)
        if self.floor is not None and self.floor_ratio is not None:
            raise _bad(cls, "floor", "omitted when floor_ratio is given (set one of them)", self.floor)
        if self.floor is not None:
            _number(cls, "floor", self.floor, "a number")
        if self.floor_ratio is not None:
            r = _number(cls, "floor_ratio", self.floor_ratio, "a number ≥ 0")
            if r < 0:
                raise _bad(cls, "floor_ratio", "a number ≥ 0", self.floor_ratio)

    def _ratio(self) -> float:
        return 0.5 if self.floor is None and self.floor_ratio is None else float(self.floor_ratio or 0)

    def validate_direction(self, higher_is_better: bool) -> None:
        if self.floor is not None:
            return
        r = self._ratio()
        if higher_is_better and r >= 1:
            raise _bad(type(self), "floor_ratio", "< 1 for a higher-is-better indicator", r)
        if not higher_is_better and r <= 1:
            raise _bad(type(self), "floor_ratio", "> 1 for a lower-is-better indicator", r)

    def score(self, v, t, groups, higher_is_better):
        floor = np.full(v.shape, float(self.floor)) if self.floor is not None else t * self._ratio()
        span = t - floor
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(span != 0, (v - floor) / np.where(span != 0, span, 1.0), np.nan)
        at_target = (v >= t) if higher_is_better else (v <= t)
        frac = np.where(span == 0, np.where(at_target, 1.0, 0.0), frac)
        return 100.0 * np.clip(frac, 0.0, 1.0)


@dataclass(frozen=True)
class Percentile(Method):
    """Percentile rank within the peer group: the worst gets 0, the best 100, in between
    ``100 · (rank − 1) / (n − 1)`` with rank 1 = worst and tied values sharing their average rank.

    Targets are ignored. Entities with a NaN value are not ranked (NaN score) and do not count in n.
    A group with one ranked entity scores 100. Lower-is-better ranks the smallest value best.
    """

    needs_target: ClassVar[bool] = False

    def score(self, v, t, groups, higher_is_better):
        s = pd.Series(v if higher_is_better else -v)
        g = pd.Series(np.zeros(len(v)) if groups is None else np.asarray(groups, dtype=object))
        g = g.fillna("").astype(str)
        rank = s.groupby(g).rank(method="average")
        n = s.notna().groupby(g).transform("sum")
        out = np.where(n > 1, 100.0 * (rank - 1) / (n - 1).where(n > 1, 1), 100.0)
        return np.where(s.isna(), np.nan, out)


@dataclass(frozen=True)
class Band(Method):
    """Step scores by thresholds: ``thresholds`` ascending (k numbers), ``scores`` k + 1 numbers 0–100.

    Higher-is-better: value < t1 → scores[0], t1 ≤ value < t2 → scores[1], …, value ≥ tk → scores[k].
    Lower-is-better: value ≤ t1 → scores[0], t1 < value ≤ t2 → scores[1], …, value > tk → scores[k]
    (so list the scores descending). With ``basis: attainment`` the thresholds apply to
    value / target (e.g. 0.6, 0.8, 1.0) instead of the value itself; a NaN or zero target then
    gives a NaN score.
    """

    thresholds: tuple[float, ...] = ()
    scores: tuple[float, ...] = ()
    basis: str = "value"

    BASES: ClassVar[tuple[str, ...]] = ("value", "attainment")

    def __post_init__(self) -> None:
        cls = type(self)
        if self.basis not in self.BASES:
            raise _bad(cls, "basis", "one of " + ", ".join(self.BASES), self.basis)
        th = self.thresholds
        if not isinstance(th, Sequence) or isinstance(th, str) or len(th) == 0:
            raise _bad(cls, "thresholds", "a non-empty ascending list of numbers", th)
        nums = [_number(cls, "thresholds", x, "a non-empty ascending list of numbers") for x in th]
        if any(b <= a for a, b in zip(nums, nums[1:], strict=False)):
            raise _bad(cls, "thresholds", "a strictly ascending list of numbers", list(th))
        sc = self.scores
        if not isinstance(sc, Sequence) or isinstance(sc, str) or len(sc) != len(th) + 1:
            raise _bad(cls, "scores", f"a list of {len(th) + 1} numbers (one more than thresholds)", sc)
        for x in sc:
            if _number(cls, "scores", x, "numbers between 0 and 100") < 0 or x > 100:
                raise _bad(cls, "scores", "numbers between 0 and 100", list(sc))
        object.__setattr__(self, "thresholds", tuple(nums))
        object.__setattr__(self, "scores", tuple(float(x) for x in sc))

    @property
    def needs_target(self) -> bool:  # type: ignore[override]
        return self.basis == "attainment"

    def score(self, v, t, groups, higher_is_better):
        x = v
        if self.basis == "attainment":
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(t != 0, v / np.where(t != 0, t, 1.0), np.nan)
        side = "right" if higher_is_better else "left"
        idx = np.searchsorted(np.asarray(self.thresholds), np.nan_to_num(x), side=side)
        out = np.asarray(self.scores)[idx]
        return np.where(np.isnan(x), np.nan, out)


_REGISTRY: dict[str, type[Method]] = {}


def register(name: str, cls: type[Method]) -> None:
    """Make ``cls`` available as ``method: name`` in scorecard.yaml (a later call replaces it)."""
    _REGISTRY[name] = cls


def known() -> list[str]:
    """The registered method names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> type[Method]:
    """The method class registered as ``name``; the error names the unknown key and the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        err = SpecError(f"unknown scoring method {name!r}; known methods: {', '.join(known())}")
        err.field = "method"
        raise err from None


def build(name: str, params: Mapping[str, Any] | None = None) -> Method:
    """An instance of method ``name`` with ``params``; unknown or bad parameters raise SpecError."""
    cls = get(name)
    params = dict(params or {})
    allowed = [f.name for f in dataclasses.fields(cls)]
    for key in params:
        if key not in allowed:
            err = SpecError(
                f"{cls.__name__} has no parameter {key!r}; allowed parameters: "
                + (", ".join(allowed) or "none")
            )
            err.field = str(key)
            raise err
    for key, value in params.items():
        if isinstance(value, list):
            params[key] = tuple(value)
    return cls(**params)


register("attainment", Attainment)
register("linear", Linear)
register("percentile", Percentile)
register("band", Band)
