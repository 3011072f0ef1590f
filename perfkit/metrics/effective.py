"""The 有效户 (effective client) definition: the ``effective_*`` settings of indicators.yaml.

Firms define 有效户 differently (DOMAIN-NOTES): an asset threshold on month-end assets, on the month's
daily-average assets or on the daily average over a window, plus an activity rule (trading days or
commission over the window, or none). perfkit keeps one definition, in ``settings``, and computes it
in one place — ``parameters/measures/accounts.sql`` (measure ``effective_clients``) — so every
indicator, statistical table and level rule built on effective clients follows it.

:func:`effective_settings` fills the defaults (the rule perfkit used before these settings existed:
month-end assets ≥ 1万, ≥ 1 trading day in 3 months) and checks every value, naming file, entry and
field; :func:`describe` gives the rule in Chinese for the 统计项说明 (``${effective_rule}``).
"""

from __future__ import annotations

from typing import Any

from perfkit.errors import SpecError

ASSET_BASES = {
    "month_end": "当月月末资产",
    "month_avg": "当月日均资产",
    "window_avg": "近 {n} 个月日均资产",
}
ACTIVITIES = ("trade_days", "commission", "none")

DEFAULTS: dict[str, Any] = {
    "effective_min_assets": 10000,
    "effective_assets_basis": "month_end",
    "effective_window_months": 3,
    "effective_activity": "trade_days",
    "effective_min_trade_days": 1,
    "effective_min_commission": 0,
}


def _number(settings: dict[str, Any], key: str, file: str, *, integer: bool, minimum: float) -> None:
    value = settings[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or value < minimum:
        kind = "a whole number" if integer else "a number"
        raise SpecError(f"must be {kind} ≥ {minimum:g}; got {value!r}", file=file, entry="settings",
                        field=key)


def effective_settings(settings: dict[str, Any], file: str = "indicators.yaml") -> dict[str, Any]:
    """``settings`` with the 有效户 defaults filled in, after checking the ``effective_*`` values.

    Raises :class:`SpecError` naming the file, ``settings`` and the field for an unknown basis or
    activity rule, a negative threshold or a window shorter than one month.
    """
    out = {**DEFAULTS, **settings}
    basis = out["effective_assets_basis"]
    if basis not in ASSET_BASES:
        raise SpecError(f"unknown basis {basis!r}; known: {', '.join(ASSET_BASES)}", file=file,
                        entry="settings", field="effective_assets_basis")
    activity = out["effective_activity"]
    if activity not in ACTIVITIES:
        raise SpecError(f"unknown activity rule {activity!r}; known: {', '.join(ACTIVITIES)}",
                        file=file, entry="settings", field="effective_activity")
    _number(out, "effective_min_assets", file, integer=False, minimum=0)
    _number(out, "effective_window_months", file, integer=True, minimum=1)
    _number(out, "effective_min_trade_days", file, integer=True, minimum=0)
    _number(out, "effective_min_commission", file, integer=False, minimum=0)
    out["effective_window_months"] = int(out["effective_window_months"])
    return out


def _amount(x: float) -> str:
    return f"{x / 10000:g} 万元" if x >= 10000 and x % 1000 == 0 else f"{x:,.0f} 元"


def describe(settings: dict[str, Any]) -> str:
    """The 有效户 rule in Chinese, e.g. ``当月月末资产不低于 1 万元、且近 3 个月(含当月)至少有 1 个交易日``."""
    s = {**DEFAULTS, **settings}
    n = int(s["effective_window_months"])
    text = ASSET_BASES[s["effective_assets_basis"]].format(n=n) + f"不低于 {_amount(float(s['effective_min_assets']))}"
    if s["effective_activity"] == "trade_days":
        text += f"、且近 {n} 个月(含当月)至少有 {s['effective_min_trade_days']} 个交易日"
    elif s["effective_activity"] == "commission":
        text += f"、且近 {n} 个月(含当月)佣金合计不低于 {_amount(float(s['effective_min_commission']))}"
    return text
