"""What-if: a month under two parameter versions side by side (``perfkit compare``).

Each side is a parameters folder, or a published version of the month (``published`` = the latest,
``published:v1``), whose frozen figures are read as they were published. For every entity of the
level the comparison has ``<figure>_base``, ``<figure>_new`` and ``<figure>_delta`` for the
composite, the KPI and family scores, grade (delta = bands moved, + = better), stars, rank and —
for employees — the level decision and the month's pay (绩效工资, 提成工资, 奖金, total), plus
``attr_<component>``: which indicator's points (and the ability and conduct parts) moved the
composite, summing to ``composite_delta``; and ``value_<indicator>_base/_new/_delta`` for every
indicator whose value itself differs (an 有效户 or measure change). The figures of a side are exactly those of ``perfkit
scores / levels / pay --params`` of that side.

The work is shared: both sides score the same indicator values when only scoring, grading, level
or pay parameters differ (the measures cache of :mod:`perfkit.metrics.measures` is keyed by what
measures depend on), and the scores are computed once per side for levels and pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfkit.data.store import StoreLike, connect, default_db, resolve_month
from perfkit.errors import RequestError
from perfkit.metrics.catalog import find_params
from perfkit.month import frozen
from perfkit.month.paramdiff import param_differences
from perfkit.month.published import PublishedSnapshot, latest, version

log = logging.getLogger(__name__)

LEVELS = ("employee", "branch")
SCORES = ("composite", "kpi_score")
PAY = ("performance_pay", "commission_pay", "bonus", "total_pay")
PAY_LABELS = {"performance_pay": "绩效工资", "commission_pay": "提成工资", "bonus": "奖金",
              "total_pay": "合计"}


@dataclass(frozen=True)
class Side:
    """One version: a parameters folder, or a published version (``publication``) of the month."""

    label: str
    params: Path | None
    publication: Any = None


@dataclass
class Figures:
    """A side's figures of the month: scores (+ breakdown), and for employees levels and pay."""

    scores: pd.DataFrame
    breakdown: pd.DataFrame | None
    levels: pd.DataFrame | None
    pay: pd.DataFrame | None
    bands: list[str]          # grade labels, best first
    weights: tuple[float, float]  # (kpi, ability) weights of the composite


@dataclass
class Comparison:
    """The result of :func:`compare`: ``frame`` (one row per entity) and the summaries."""

    month: str
    level: str
    base: Side
    new: Side
    frame: pd.DataFrame
    attribution: list[str]
    params_diff: pd.DataFrame
    names: dict[str, str] = field(default_factory=dict)  # attribution column → 指标名称
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    grades: pd.DataFrame = field(default_factory=pd.DataFrame)
    stars: pd.DataFrame = field(default_factory=pd.DataFrame)
    pay_by_branch: pd.DataFrame = field(default_factory=pd.DataFrame)
    changed: dict[str, int] = field(default_factory=dict)

    @property
    def no_difference(self) -> bool:
        """No parameter differs and no figure moves."""
        if not self.params_diff.empty:
            return False
        deltas = [c for c in self.frame.columns if c.endswith("_delta")]
        moved = self.frame[deltas].apply(
            lambda s: s.fillna("").ne("") if s.dtype == object else s.fillna(0).abs().gt(1e-9))
        return not bool(moved.to_numpy().any())

    def summary_lines(self) -> list[str]:
        """The summary in a few lines (what ``perfkit compare`` prints above the table)."""
        if self.no_difference:
            return [f"no difference: {self.base.label} and {self.new.label} give the same "
                    f"parameters and the same figures for {self.month}"]
        n = len(self.frame)
        lines = [f"{self.month} {self.level}: {self.base.label} → {self.new.label}: "
                 f"{len(self.params_diff)} parameter(s) differ; {n} entities"]
        lines.append("changes: " + ", ".join(f"{k} {v}" for k, v in self.changed.items()))
        if not self.pay_by_branch.empty:
            total = self.pay_by_branch.iloc[-1]
            lines.append(f"pay bill: {total['total_pay_base']:,.0f} → {total['total_pay_new']:,.0f} 元 "
                         f"({total['total_pay_delta']:+,.0f} 元)")
        return lines


# --------------------------------------------------------------------------- sides


def resolve_side(store: StoreLike, month: str, spec: str | Path) -> Side:
    """``published`` / ``published:vN`` → that published version of ``month``; else a parameters
    folder (checked with ``perfkit check`` first: its first problem is a SpecError)."""
    text = str(spec)
    if text == "published" or text.startswith("published:"):
        number = text.partition(":")[2].lstrip("v")
        if number and not number.isdigit():
            raise RequestError(f"{text!r}: a published version is published or published:vN")
        pub = version(store, month, int(number)) if number else latest(store, month)
        if pub is None:
            raise RequestError(f"{month} is not published: compare a parameters folder, or "
                               f"`perfkit publish --month {month}` first")
        kept = frozen.folder(store, pub)  # the parameters it was published with
        folder = (kept / frozen.PARAMETERS if kept is not None
                  else Path(pub.params) if pub.params and Path(pub.params).is_dir() else None)
        return Side(f"published v{pub.version}", folder, pub)
    folder = find_params(Path(text))
    _validate(folder)
    return Side(str(folder), folder)


def _validate(folder: Path) -> None:
    """Load every parameters file a comparison reads: the first problem is a SpecError naming its
    file (``perfkit compare`` runs the whole ``perfkit check`` on both folders before this)."""
    from perfkit.appraisal.level_rules import load_levels
    from perfkit.appraisal.pay_rules import load_pay
    from perfkit.appraisal.spec import load_scorecard
    from perfkit.metrics.catalog import load_catalog
    from perfkit.metrics.targets import load_targets

    for load in (load_catalog, load_targets, load_scorecard, load_levels, load_pay):
        load(folder)


def _spec_facts(params: Path | None) -> tuple[list[str], tuple[float, float]]:
    from perfkit.appraisal.spec import load_scorecard

    sc = load_scorecard(params)
    return [b.label for b in sc.bands], (sc.composite.kpi, sc.composite.ability)


def figures(store: StoreLike, month: str, side: Side, level: str,
            fallback: Path | None = None) -> Figures:
    """The figures of ``side`` (a published side reads its frozen frames; its grade bands and
    composite weights come from its parameters folder when that still exists, else ``fallback``)."""
    if side.publication is not None:
        snap = PublishedSnapshot(store, side.publication)
        bands, weights = _spec_facts(side.params or fallback)
        if level == "branch":
            return Figures(snap.read("scores.branch"), None, None, None, bands, weights)
        return Figures(snap.read("scorecard.employee", part="scores"),
                       snap.read("scorecard.employee", part="breakdown"),
                       snap.read("levels.summary"), snap.read("pay"), bands, weights)
    from perfkit.appraisal.levels import level_review
    from perfkit.appraisal.pay import pay
    from perfkit.appraisal.scorecard import scorecard

    bands, weights = _spec_facts(side.params)
    s, bd = scorecard(store, month, level, params=side.params)
    if level == "branch":
        return Figures(s, bd, None, None, bands, weights)
    composite = s.set_index("entity_id")["composite"]
    summary, _ = level_review(store, month, params=side.params, composite=composite)
    return Figures(s, bd, summary, pay(store, month, params=side.params, composite=composite),
                   bands, weights)


# --------------------------------------------------------------------------- attribution


def components(f: Figures) -> pd.DataFrame:
    """entity_id × component → the composite points it accounts for; each row sums to the
    composite: an indicator gives k × its KPI points (k = the KPI's share of the composite), the
    ability score (1 − k) × ability, and conduct the rest (the deduction, ≤ 0)."""
    s = f.scores.set_index("entity_id")
    wk, wa = f.weights
    ability = s["ability_score"] if "ability_score" in s else pd.Series(np.nan, index=s.index)
    k = pd.Series(1.0, index=s.index)
    if wa > 0:
        k = k.where(ability.isna(), wk / (wk + wa))
    out = pd.DataFrame(index=s.index)
    if f.breakdown is not None and not f.breakdown.empty:
        pts = f.breakdown.pivot_table(index="entity_id", columns="indicator_id", values="points",
                                      aggfunc="sum")
        out = pts.reindex(s.index).mul(k, axis=0)
    kpi = s["kpi_score"]
    out["ability"] = ((1 - k) * ability).fillna(0.0)
    out["conduct"] = s["composite"] - k * kpi - out["ability"]
    if f.breakdown is None or f.breakdown.empty:  # no points per indicator: the KPI as one part
        out["kpi"] = k * kpi
    return out


# --------------------------------------------------------------------------- the comparison


def _numeric(base: pd.Series, new: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"base": base, "new": new, "delta": new - base})


def compare(store: StoreLike | None, month: str, base: str | Path, params: str | Path, *,
            level: str = "employee") -> Comparison:
    """``month`` under ``base`` and ``params`` (see the module doc)."""
    if level not in LEVELS:
        raise RequestError(f"--level {level!r}: compare is by {' or '.join(LEVELS)}")
    store = default_db() if store is None else store
    b, n = resolve_side(store, month, base), resolve_side(store, month, params)
    with connect(store) as con:
        month = resolve_month(con, month)
    diff = param_differences(b.params, n.params) if b.params and n.params else pd.DataFrame(
        columns=["file", "field", "base", "new"])
    fb = figures(store, month, b, level, fallback=n.params)
    fn = figures(store, month, n, level, fallback=b.params)
    frame, attr = _frame(fb, fn, level)
    comp = Comparison(month, level, b, n, frame, attr, diff, names=_names(fb, fn))
    _summaries(comp, fb, fn)
    return comp


def _frame(fb: Figures, fn: Figures, level: str) -> tuple[pd.DataFrame, list[str]]:
    sb, sn = fb.scores.set_index("entity_id"), fn.scores.set_index("entity_id")
    ids = sn.index.union(sb.index, sort=False)
    meta = sn[["entity_name", "parent_id"]].combine_first(sb[["entity_name", "parent_id"]])
    out = meta.reindex(ids)
    cols: dict[str, pd.Series] = {}
    families = [c for c in sn.columns.union(sb.columns, sort=False) if c.startswith("score_")]
    numeric = [*SCORES, *families] + (["ability_score", "conduct_score"] if level == "employee"
                                      else []) + ["stars", "rank"]
    for fig in numeric:
        part = _numeric(sb.get(fig, pd.Series(dtype=float)).reindex(ids).astype(float),
                        sn.get(fig, pd.Series(dtype=float)).reindex(ids).astype(float))
        for k in ("base", "new", "delta"):
            cols[f"{fig}_{k}"] = part[k]
    gb, gn = sb["grade"].reindex(ids), sn["grade"].reindex(ids)
    pos_b = gb.map({g: i for i, g in enumerate(fb.bands)})
    pos_n = gn.map({g: i for i, g in enumerate(fn.bands)})
    cols.update(grade_base=gb, grade_new=gn, grade_delta=pos_b - pos_n)  # + = moved up
    if level == "employee":
        lb = _decisions(fb.levels).reindex(ids)
        ln = _decisions(fn.levels).reindex(ids)
        cols.update(level_decision_base=lb, level_decision_new=ln,
                    level_decision_delta=np.where(lb.fillna("") != ln.fillna(""),
                                                  lb.fillna("—") + " → " + ln.fillna("—"), ""))
        pb = fb.pay.set_index("employee_id") if fb.pay is not None else pd.DataFrame(index=ids)
        pn = fn.pay.set_index("employee_id") if fn.pay is not None else pd.DataFrame(index=ids)
        for fig in PAY:  # not paid under one version: 0 there, so the delta is the whole amount
            part = _numeric(pb.get(fig, pd.Series(dtype=float)).reindex(ids).astype(float),
                            pn.get(fig, pd.Series(dtype=float)).reindex(ids).astype(float))
            either = part["base"].notna() | part["new"].notna()
            part["delta"] = (part["new"].fillna(0) - part["base"].fillna(0)).where(either)
            for k in ("base", "new", "delta"):
                cols[f"{fig}_{k}"] = part[k]
    cols.update(_changed_values(fb, fn, ids))
    cb, cn = components(fb).reindex(ids), components(fn).reindex(ids)
    parts = list(dict.fromkeys([*cn.columns, *cb.columns]))
    both = cols["composite_base"].notna() & cols["composite_new"].notna()
    attr: list[str] = []
    for p in parts:
        d = cn.get(p, 0.0).fillna(0.0) if p in cn else 0.0
        d = (d - (cb[p].fillna(0.0) if p in cb else 0.0))
        cols[f"attr_{p}"] = pd.Series(d, index=ids).where(both)
        attr.append(f"attr_{p}")
    out = pd.concat([out, pd.DataFrame(cols, index=ids)], axis=1)
    out.index.name = "entity_id"
    out = out.reset_index()
    order = out["composite_delta"].abs().fillna(-1).sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True), attr


def _changed_values(fb: Figures, fn: Figures, ids: pd.Index) -> dict[str, pd.Series]:
    """``value_<indicator>_base/_new/_delta`` for the indicators whose value differs between the
    sides for some entity (an 有效户 or measure change); none when only scoring differs."""
    if fb.breakdown is None or fn.breakdown is None:
        return {}
    vb, vn = (f.breakdown.pivot_table(index="entity_id", columns="indicator_id", values="value",
                                      aggfunc="first", dropna=False).reindex(ids)
              for f in (fb, fn))
    out: dict[str, pd.Series] = {}
    for ind in vn.columns.intersection(vb.columns, sort=False):
        a, b = vb[ind].astype(float), vn[ind].astype(float)
        if ((a - b).abs() > 1e-9).any() or (a.isna() != b.isna()).any():
            out.update({f"value_{ind}_base": a, f"value_{ind}_new": b, f"value_{ind}_delta": b - a})
    return out


def _names(fb: Figures, fn: Figures) -> dict[str, str]:
    names = {"attr_ability": "能力评价（360）", "attr_conduct": "合规扣分", "attr_kpi": "KPI"}
    for f in (fb, fn):
        if f.breakdown is not None and "indicator_name" in f.breakdown:
            pairs = f.breakdown[["indicator_id", "indicator_name"]].drop_duplicates("indicator_id")
            names.update({f"attr_{i}": str(n) for i, n in pairs.itertuples(index=False)})
    return names


def _decisions(levels: pd.DataFrame | None) -> pd.Series:
    """employee_id → 晋级 (高级) / 降级 (初级) / 维持 …"""
    if levels is None or levels.empty:
        return pd.Series(dtype=object)
    df = levels.set_index("employee_id")
    text = df["recommendation"].astype(str)
    moved = df["recommended_level"].notna() & (df["recommended_level"] != df["level"])
    return text.where(~moved, text + "（" + df["recommended_level"].astype(str) + "）")


def _distribution(base: pd.Series, new: pd.Series, order: list) -> pd.DataFrame:
    keys = list(dict.fromkeys([*order, *base.dropna().unique(), *new.dropna().unique()]))
    df = pd.DataFrame({"base": base.value_counts().reindex(keys, fill_value=0),
                       "new": new.value_counts().reindex(keys, fill_value=0)})
    df["delta"] = df["new"] - df["base"]
    return df.rename_axis("value").reset_index()


def _summaries(comp: Comparison, fb: Figures, fn: Figures) -> None:
    f = comp.frame
    grade_moved = f["grade_base"].fillna("") != f["grade_new"].fillna("")
    star_moved = f["stars_delta"].fillna(0) != 0
    comp.changed = {"grade": int(grade_moved.sum()), "stars": int(star_moved.sum())}
    movers = grade_moved | star_moved
    if comp.level == "employee":
        level_moved = f["level_decision_delta"] != ""
        comp.changed["level decision"] = int(level_moved.sum())
        pay_moved = f["total_pay_delta"].fillna(0).abs() > 0.005
        comp.changed["pay"] = int(pay_moved.sum())
        movers |= level_moved
    comp.movers = f[movers | (f["composite_delta"].fillna(0).abs() > 1e-9)].reset_index(drop=True)
    comp.grades = _distribution(f["grade_base"], f["grade_new"],
                                list(dict.fromkeys([*fn.bands, *fb.bands])))
    comp.stars = _distribution(f["stars_base"], f["stars_new"], [5, 4, 3, 2, 1])
    if comp.level == "employee":
        cols = [f"{p}_{k}" for p in PAY for k in ("base", "new", "delta")]
        by = f.groupby("parent_id", dropna=False)[cols].sum(min_count=1).reset_index()
        by = by.rename(columns={"parent_id": "branch_id"})
        total = pd.DataFrame([{"branch_id": "公司合计", **f[cols].sum(min_count=1).to_dict()}])
        bill = pd.concat([by, total], ignore_index=True)
        for p in PAY:  # a total's change is new − base (an employee paid on one side only counts)
            bill[f"{p}_delta"] = bill[f"{p}_new"].fillna(0) - bill[f"{p}_base"].fillna(0)
        comp.pay_by_branch = bill


__all__ = ["Comparison", "Side", "compare", "components", "figures", "resolve_side"]
