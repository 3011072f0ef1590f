"""Shared pieces of the demo generator: codes, the month calendar and Arrow column helpers.

Days are integers (days since 1970-01-01); ``NO_DAY`` stands for "no date" and sorts after
every real day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from perfkit.data.demo import reference as D
from perfkit.data.schema import POSITIONS, PURPOSES

# Position codes (indices into schema.POSITIONS) and purpose / channel codes.
MANAGER, PLANNER, ADVISER, HEAD = (POSITIONS.index(p) for p in ("客户经理", "理财顾问", "投资顾问", "营业部负责人"))
P_LEAD, P_CALLBACK, P_PROFILE, P_RECALL, P_ROUTINE, P_RISK, P_ADVICE = range(len(PURPOSES))
NO_DAY = 10**7  # sentinel "no date" (far future, days since 1970)

# Channel mix (电话, 微信, 面访, 短信, 邮件) per purpose.
CHANNEL_MIX: dict[int, tuple[float, ...]] = {
    P_LEAD: (0.55, 0.35, 0.07, 0.03, 0.0),
    P_CALLBACK: (0.80, 0.15, 0.05, 0.0, 0.0),
    P_PROFILE: (0.50, 0.35, 0.10, 0.03, 0.02),
    P_RECALL: (0.70, 0.20, 0.10, 0.0, 0.0),
    P_ROUTINE: (0.45, 0.40, 0.08, 0.05, 0.02),
    P_RISK: (0.55, 0.35, 0.05, 0.05, 0.0),
    P_ADVICE: (0.40, 0.45, 0.10, 0.0, 0.05),
}


@dataclass(frozen=True)
class _Calendar:
    """The window's months: labels ``'YYYY-MM'``, first/last day (days since 1970), trading days."""

    labels: list[str]
    start: np.ndarray
    end: np.ndarray
    tdays: np.ndarray

    @property
    def first(self) -> int:
        return int(self.start[0])

    @property
    def last(self) -> int:
        return int(self.end[-1])

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Index of the window month holding each day (−1 before the window, T after it)."""
        return np.searchsorted(self.start, days, side="right") - 1


def _calendar(end_month: str, n: int) -> _Calendar:
    last = np.datetime64(end_month, "M")
    months = last - np.arange(n - 1, -1, -1)
    start = months.astype("datetime64[D]").astype(np.int64)
    end = (months + 1).astype("datetime64[D]").astype(np.int64) - 1
    cal_month = months.astype(np.int64) % 12 + 1
    holidays = np.array([D.HOLIDAY_DAYS.get(int(m), 0) for m in cal_month])
    busy = np.busday_count(start.astype("datetime64[D]"), (end + 1).astype("datetime64[D]"))
    tdays = np.clip(busy - holidays, 15, 23)
    return _Calendar([str(m) for m in months], start, end, tdays)


# ----------------------------------------------------------------------------- Arrow helpers


def _strs(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def _take(values, idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings ``values[idx]``; ``null`` marks rows that are NULL."""
    arr = pa.array(np.asarray(idx, dtype=np.int32), mask=null)
    return pc.take(values if isinstance(values, pa.Array) else _strs(values), arr)


def _cat(idx: np.ndarray, values, null: np.ndarray | None = None) -> pa.Array:
    """The string column ``values[idx]`` (``null`` marks NULL rows).

    Materialised rather than dictionary-encoded: DuckDB inserts plain strings faster.
    """
    return _take(values, idx, null)


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _num(values: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(days, dtype=np.int32), mask=null)
    return arr.cast(pa.date32())


def _codes(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + 1-based zero-padded numbers, e.g. E00001."""
    return _join(prefix, _num(np.arange(1, n + 1), width))


def _ymd(days: np.ndarray) -> np.ndarray:
    """Days since 1970 → integers YYYYMMDD."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    year = m.astype(np.int64) // 12 + 1970
    month = m.astype(np.int64) % 12 + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year * 10000 + month * 100 + day


def _uniform_day(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniformly drawn day in ``[lo, hi]`` per row (``hi ≥ lo``)."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


