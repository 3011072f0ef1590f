"""Grades and stars, pure: a composite score → its grade band label (优秀, 良好 …), and
forced-distribution stars (5★…1★, 10/22.5/35/22.5/10 % by default) within a peer group."""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import pandas as pd

from perfkit.appraisal.spec import GradeBand


def grade_of(composite: Iterable[float], bands: list[GradeBand]) -> list[str | None]:
    """The label of the highest band whose ``min`` ≤ score (bands in any order); NaN → None."""
    ordered = sorted(bands, key=lambda b: -b.min)
    out: list[str | None] = []
    for x in composite:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            out.append(None)
            continue
        out.append(next((b.label for b in ordered if x >= b.min - 1e-9), ordered[-1].label))
    return out


def assign_stars(
    composite: pd.Series, groups: pd.Series | None = None,
    shares: Iterable[float] = (10, 22.5, 35, 22.5, 10), decimals: int = 6,
) -> pd.Series:
    """Forced-distribution stars within each peer group (Morningstar style).

    ``shares`` are the percentages from the most stars down (default 10/22.5/35/22.5/10 % for
    5★…1★). Rule, deterministic and symmetric:

    1. Composites are compared rounded to ``decimals``; NaN composites get no stars (<NA>) and do
       not count in the group size n.
    2. Sorted from best to worst, tied entities share their mid position m (the mean of the
       positions they occupy), so **equal composites always get equal stars**.
    3. Each entity's percentile is p = (m − ½)/n (the centre of its cells). If p ≤ ½ it gets the
       most stars k for which p ≤ the cumulative share from the top through k; otherwise the fewest
       stars k for which 1 − p ≤ the cumulative share from the bottom through k. Comparisons are
       exact (fractions), boundaries inclusive.

    Consequences: n = 1 → the middle star (3★); all-equal scores → everybody 3★; n = 10 → 1/2/4/2/1;
    n = 40 → 4/9/14/9/4.
    """
    comp = pd.Series(composite, dtype="float64").round(decimals)
    grp = (pd.Series(["all"] * len(comp), index=comp.index) if groups is None
           else pd.Series(groups, index=comp.index).fillna("").astype(str))
    sh = [Fraction(str(x)) for x in shares]
    total = sum(sh)
    sh = [x / total for x in sh]
    k = len(sh)
    top_cum = [sum(sh[: i + 1]) for i in range(k)]           # index 0 = most stars
    bottom_cum = [sum(sh[k - 1 - i:]) for i in range(k)]     # index 0 = fewest stars (1★)
    out = pd.Series(pd.array([pd.NA] * len(comp), dtype="Int64"), index=comp.index)
    for _, idx in comp.groupby(grp, sort=False).groups.items():
        vals = comp.loc[idx].dropna()
        n = len(vals)
        if n == 0:
            continue
        # positions 1..n best first; ties share the mean position
        mid = vals.rank(method="average", ascending=False)
        for ent, m in mid.items():
            p = (Fraction(str(m)) - Fraction(1, 2)) / n
            if p <= Fraction(1, 2):
                star = next(k - i for i in range(k) if p <= top_cum[i])
            else:
                q = 1 - p
                star = next(i + 1 for i in range(k) if q <= bottom_cum[i])
            out.loc[ent] = star
    return out
