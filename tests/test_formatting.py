"""perfkit.formatting: numbers as a Chinese report shows them."""

from __future__ import annotations

import pytest

from perfkit.formatting import fmt_value, format_number


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (-1234567.891, {"decimals": 2}, "\u22121,234,567.89"),
        (1234567, {}, "1,234,567"),
        (-0.0004, {"decimals": 2}, "0.00"),
        (0.125, {"decimals": 1, "percent": True}, "12.5%"),
        (-0.125, {"decimals": 0, "percent": True}, "\u221212%"),
        (3.5, {"decimals": 1, "sign": True}, "+3.5"),
        (0, {"sign": True}, "0"),
        (float("nan"), {}, "—"),
        (None, {}, "—"),
        ("", {}, "—"),
        ("文本", {}, "文本"),
        (float("-inf"), {}, "—"),
    ],
)
def test_format_number(value, kwargs, expected) -> None:
    assert format_number(value, **kwargs) == expected


@pytest.mark.parametrize(("value", "unit", "kwargs", "expected"), [
    (82.345, "%", {}, "82.3%"),
    (1234.5678, "万元", {}, "1,234.57 万元"),
    (228, "户", {}, "228 户"),
    (-3.25, "分", {"sign": True}, "\u22123.25 分"),
    (3.25, "分", {"sign": True, "with_unit": False}, "+3.25"),
    (float("nan"), "户", {}, "—"),
    (1.234, "天", {}, "1.23 天"),  # a unit without its own decimals: 2
])
def test_fmt_value_by_unit(value, unit, kwargs, expected) -> None:
    assert fmt_value(value, unit, **kwargs) == expected
