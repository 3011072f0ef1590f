from __future__ import annotations

import math

import numpy as np
import pytest

from perfkit.appraisal import methods
from perfkit.errors import SpecError

NAN = float("nan")


def _eq(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), equal_nan=True)


def test_registry_lists_the_four_methods_and_names_unknown_keys():
    assert {"attainment", "linear", "percentile", "band"} <= set(methods.known())
    assert methods.get("linear") is methods.Linear
    with pytest.raises(SpecError, match=r"unknown scoring method 'zscore'; known methods: "
                                        r"attainment, band, linear, percentile"):
        methods.get("zscore")


def test_register_adds_a_method():
    class Flat(methods.Method):
        needs_target = False

        def score(self, v, t, groups, higher_is_better):
            return np.full(v.shape, 42.0)

    methods.register("flat_test", Flat)
    try:
        _eq(methods.build("flat_test")([1, NAN]), [42, NAN])
    finally:
        methods._REGISTRY.pop("flat_test")


def test_attainment_capped_and_scaled():
    m = methods.build("attainment", {"cap": 1.2})
    # 12/15 = 0.8 → 0.8/1.2; 15/15 → 1/1.2; 20/15 capped at 1.2 → 100; negative → 0
    _eq(m([12, 15, 20, -3], [15, 15, 15, 15]), [200 / 3, 250 / 3, 100, 0])
    _eq(methods.build("attainment", {"cap": 1})([12, 15, 20], [15] * 3), [80, 100, 100])


def test_attainment_lower_is_better_and_edge_cases():
    m = methods.build("attainment", {"cap": 1})
    # loss rate target 1 %: 0.5 % → 100, 2 % → 50, 0 lost → 100
    _eq(m([0.5, 2.0, 0.0], [1.0] * 3, higher_is_better=False), [100, 50, 100])
    # a zero target (higher-is-better): reaching it is full marks
    _eq(m([0.0, -1.0], [0.0, 0.0]), [100, 0])


def test_nan_value_or_target_gives_nan_score():
    for name in ("attainment", "linear"):
        _eq(methods.build(name)([NAN, 10, 10], [10, NAN, 10]), [NAN, NAN, 100 / (1.2 if
                                                                           name == "attainment" else 1)])
    _eq(methods.build("percentile")([NAN, 1, 2]), [NAN, 0, 100])
    _eq(methods.build("band", {"thresholds": [1], "scores": [0, 100]})([NAN, 2]), [NAN, 100])


def test_linear_floor_ratio_absolute_floor_and_lower_is_better():
    m = methods.build("linear")  # default floor = half the target
    _eq(m([5, 10, 15, 20, 30], [20] * 5), [0, 0, 50, 100, 100])
    m = methods.build("linear", {"floor": 60})
    _eq(m([60, 75, 90], [90] * 3), [0, 50, 100])
    m = methods.build("linear", {"floor_ratio": 3})  # loss rate: target 1, floor 3
    _eq(m([0.5, 1, 2, 3, 4], [1] * 5, higher_is_better=False), [100, 100, 50, 0, 0])


def test_linear_direction_is_checked():
    with pytest.raises(SpecError, match=r"Linear.floor_ratio must be > 1 for a lower-is-better "
                                        r"indicator; got 0.5"):
        methods.build("linear").validate_direction(False)
    with pytest.raises(SpecError, match=r"Linear.floor_ratio must be < 1 for a higher-is-better"):
        methods.build("linear", {"floor_ratio": 2}).validate_direction(True)
    with pytest.raises(SpecError, match=r"Linear.floor must be omitted when floor_ratio is given"):
        methods.build("linear", {"floor": 1, "floor_ratio": 0.5})


def test_percentile_within_peer_groups_with_ties():
    m = methods.Percentile()
    v = [1, 2, 2, 3, 7, 5, NAN]
    g = ["a", "a", "a", "a", "b", "b", "b"]
    # group a: ranks 1, 2.5, 2.5, 4 of n=4 → (r-1)/3; group b: 7 best of 2
    _eq(m(v, None, g), [0, 50, 50, 100, 100, 0, NAN])
    _eq(m(v, None, g, higher_is_better=False), [100, 50, 50, 0, 0, 100, NAN])
    _eq(m([3.0]), [100])  # one entity alone: 100


def test_band_both_directions_and_attainment_basis():
    m = methods.build("band", {"thresholds": [60, 80, 100], "scores": [0, 60, 80, 100]})
    _eq(m([59.9, 60, 79, 80, 100, 130]), [0, 60, 60, 80, 100, 100])
    lower = methods.build("band", {"thresholds": [1, 2], "scores": [100, 60, 0]})
    # lower-is-better: ≤ 1 → 100, (1, 2] → 60, > 2 → 0
    _eq(lower([0.5, 1, 1.5, 2, 2.5], higher_is_better=False), [100, 100, 60, 60, 0])
    att = methods.build("band", {"basis": "attainment", "thresholds": [0.8, 1.0],
                                 "scores": [0, 80, 100]})
    _eq(att([10, 12, 15, 15], [15, 15, 15, 0]), [0, 80, 100, NAN])


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("attainment", {"cap": 0.9}, r"Attainment.cap must be a number ≥ 1 \(e.g. 1.2 for 120 %\); got 0.9"),
        ("attainment", {"cap": "high"}, r"Attainment.cap must be a number ≥ 1 .*; got 'high'"),
        ("attainment", {"limit": 1}, r"Attainment has no parameter 'limit'; allowed parameters: cap"),
        ("linear", {"floor_ratio": -1}, r"Linear.floor_ratio must be a number ≥ 0; got -1"),
        ("band", {"thresholds": [2, 1], "scores": [0, 50, 100]},
         r"Band.thresholds must be a strictly ascending list of numbers; got \[2, 1\]"),
        ("band", {"thresholds": [1, 2], "scores": [0, 100]},
         r"Band.scores must be a list of 3 numbers \(one more than thresholds\); got \(0, 100\)"),
        ("band", {"thresholds": [1], "scores": [0, 120]},
         r"Band.scores must be numbers between 0 and 100; got \[0, 120\]"),
        ("band", {"thresholds": [1], "scores": [0, 1], "basis": "rank"},
         r"Band.basis must be one of value, attainment; got 'rank'"),
    ],
)
def test_bad_parameters_name_class_parameter_allowed_and_value(name, params, message):
    with pytest.raises(SpecError, match=message):
        methods.build(name, params)


def test_methods_are_frozen_and_scores_stay_in_range():
    m = methods.build("attainment")
    with pytest.raises(AttributeError):
        m.cap = 2  # type: ignore[misc]
    rng = np.random.default_rng(0)
    v = rng.normal(10, 20, 200)
    t = rng.normal(10, 5, 200)
    for meth in (m, methods.build("linear"), methods.Percentile(),
                 methods.build("band", {"thresholds": [0, 10], "scores": [0, 50, 100]})):
        for hib in (True, False):
            s = meth(v, t, None, hib)
            assert np.all((s >= 0) & (s <= 100) | np.isnan(s))
    assert not math.isnan(m([1], [1])[0])
