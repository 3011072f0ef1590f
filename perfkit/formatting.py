"""Numbers as a Chinese report shows them: thousands separators, the real minus sign U+2212, "—"
for a missing value, and each indicator unit's decimals (``82.3%``, ``1,234.56 万元``, ``228 户``).

Used by every layer that turns a figure into text: the report pages, the charts, the change list of
a published revision.
"""

from __future__ import annotations

import math
from typing import Any

MINUS = "\u2212"  # the real minus sign, never the ASCII hyphen, in every number a reader sees
DASH = "—"  # shown for a missing value (NaN, None, zero denominator)

#: decimals shown per indicator unit
DECIMALS = {"户": 0, "次": 0, "项": 0, "元": 0, "万元": 2, "%": 1, "分": 2}


def format_number(
    value: Any, decimals: int = 0, *, percent: bool = False, sign: bool = False
) -> str:
    """Format a number for a Chinese report: thousands separators, U+2212 minus, "—" when missing.

    Strings pass through unchanged (the caller escapes them); an empty string gives "—".
    ``percent`` multiplies by 100 and appends "%". ``sign`` adds "+" to positive values (changes).
    A value that rounds to zero never shows a sign ("0.0", not "−0.0"). NaN, None and inf give "—".
    """
    if value is None:
        return DASH
    if isinstance(value, str):
        return value or DASH
    try:
        x = float(value)
    except (TypeError, ValueError):
        return DASH
    if math.isnan(x) or math.isinf(x):
        return DASH
    if percent:
        x *= 100
    text = f"{abs(x):,.{decimals}f}"
    zero = f"{0:,.{decimals}f}"
    if text != zero:
        if x < 0:
            text = MINUS + text
        elif sign:
            text = "+" + text
    return text + ("%" if percent else "")


def fmt_value(value: Any, unit: str, *, sign: bool = False, with_unit: bool = True) -> str:
    """An indicator value as a manager reads it: "82.3%", "1,234.56 万元", "228 户", "—" when
    missing (decimals by :data:`DECIMALS`; 2 for a unit not listed)."""
    text = format_number(value, DECIMALS.get(unit, 2), sign=sign)
    if text == DASH or not with_unit:
        return text
    return text + ("%" if unit == "%" else f" {unit}")
