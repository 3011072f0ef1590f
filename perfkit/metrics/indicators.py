"""Indicators at company, branch and employee grain.

An indicator is ``Σnumerator / Σdenominator × scale`` where the sums run over the employees of the
grain (one employee, a branch, the company): the measures are added up first, the division comes
last — never a mean of employees' ratios. A zero denominator gives NaN (reports show “—”); an
indicator without denominator is ``Σnumerator × scale``.

Public: :func:`indicators` (one month, one level, with last month, change, target, rank and
history) and :func:`indicator_values` (the long entity × indicator × month matrix, for the scorecard).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from perfkit.data.store import StoreLike, connect
from perfkit.errors import RequestError
from perfkit.metrics.catalog import Catalog, load_catalog
from perfkit.metrics.entities import (
    COMPANY_ID,
    COMPANY_NAME,
    appraised,
    check_level,
    employees_frame,
    load_appraised,
    require_appraised,
)
from perfkit.metrics.measures import cached_measure_frame, measure_frame
from perfkit.metrics.months import check_month, previous_month
from perfkit.metrics.targets import targets
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

VALUE_COLUMNS = [
    "level", "entity_id", "parent_id", "month", "indicator_id", "numerator", "denominator", "value",
]


# ── rollup (pure functions, tested by property) ─────────────────────────────────────────────────


def aggregate_measures(frame: pd.DataFrame, employees: pd.DataFrame, level: str) -> pd.DataFrame:
    """Sum a measure frame (employee_id, month, measures…) to ``level``.

    ``employees`` maps employee_id → branch_id. Returns entity_id, parent_id, month and the summed
    measures: employee rows as they are (parent = branch), branch rows (parent = ``company``),
    or one company row per month (parent None).
    """
    check_level(level)
    measures = [c for c in frame.columns if c not in ("employee_id", "month")]
    df = frame.merge(employees[["employee_id", "branch_id"]], on="employee_id", how="left")
    if level == "employee":
        out = df.rename(columns={"employee_id": "entity_id", "branch_id": "parent_id"})
    elif level == "branch":
        out = df.groupby(["branch_id", "month"], as_index=False)[measures].sum()
        out = out.rename(columns={"branch_id": "entity_id"}).assign(parent_id=COMPANY_ID)
    else:
        out = df.groupby("month", as_index=False)[measures].sum()
        out = out.assign(entity_id=COMPANY_ID, parent_id=None)
    return out[["entity_id", "parent_id", "month", *measures]].reset_index(drop=True)


def ratio(numerator: pd.Series, denominator: pd.Series | None, scale: float) -> pd.Series:
    """``numerator / denominator × scale``; NaN where the denominator is 0 or missing."""
    num = numerator.astype("float64")
    if denominator is None:
        return num * scale
    den = denominator.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (num / den.where(den != 0)) * scale


def values_from_measures(agg: pd.DataFrame, catalog: Catalog, level: str) -> pd.DataFrame:
    """Long frame (:data:`VALUE_COLUMNS`) of every catalog indicator for the aggregated rows."""
    parts = []
    for ind in catalog.indicators:
        den = agg[ind.denominator] if ind.denominator else None
        parts.append(
            pd.DataFrame(
                {
                    "level": level,
                    "entity_id": agg["entity_id"],
                    "parent_id": agg["parent_id"],
                    "month": agg["month"],
                    "indicator_id": ind.id,
                    "numerator": agg[ind.numerator].astype("float64"),
                    "denominator": den.astype("float64") if den is not None else np.nan,
                    "value": ratio(agg[ind.numerator], den, ind.scale),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[VALUE_COLUMNS]


def indicator_values(
    con: duckdb.DuckDBPyConnection,
    months: list[str],
    level: str,
    catalog: Catalog,
    *,
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every indicator of ``catalog`` for every entity of ``level`` and every month in ``months``.

    Long frame with columns level, entity_id, parent_id, month, indicator_id, numerator,
    denominator, value (value NaN on a zero denominator). Employee level lists every employee of the
    employees table (0 / NaN where he has no data). Pass ``frame`` (from
    :func:`perfkit.metrics.measures.measure_frame`) to reuse measures already computed.
    """
    check_level(level)
    if frame is None:
        frame = measure_frame(con, months, catalog)
    else:
        frame = frame[frame["month"].isin(months)]
    agg = aggregate_measures(frame, employees_frame(con), level)
    return values_from_measures(agg, catalog, level)


# ── the public API ──────────────────────────────────────────────────────────────────────────────


def indicators(
    store: StoreLike,
    month: str,
    level: str = "company",
    *,
    entity: str | None = None,
    branch: str | None = None,
    params: str | Path | None = None,
    history: int = 12,
) -> pd.DataFrame:
    """Every indicator for ``month`` at ``level`` (company | branch | employee).

    One row per (entity, indicator): level, entity_id, entity_name, parent_id (branch for
    employees, ``company`` for branches, None for the company), indicator_id, name, name_en,
    family, family_name, unit, higher_is_better, value, numerator, denominator, prev_value (the
    previous calendar month, NaN if outside the data), change (value − prev_value), target (NaN
    without a scorecard), rank (ascending value within the parent, 1 = smallest, NaN values last),
    n_in_parent, history (list of (month, value) for the last ``history`` months up to ``month``).

    ``entity`` keeps one entity of the level; ``branch`` keeps the employees (or the branch) of one
    branch. Rank is computed before filtering. Employee level lists the employees appraised in the
    month (:mod:`perfkit.metrics.entities`: employed on at least ``appraised.min_days`` of its
    days); ``entity`` of an employee who is not says why in one line. Raises RequestError for a
    month outside the data, an unknown level or an unknown entity. Values are in the indicator's
    unit (万元, %, 户 …).
    """
    check_level(level)
    catalog = load_catalog(params)
    min_days = load_appraised(params).min_days
    with connect(store) as con:
        available = check_month(con, month)
        people = employees_frame(con)
        branches = con.execute("SELECT branch_id, branch_name FROM branches").df()
        _check_filters(level, entity, branch, people, branches)
        idx = available.index(month)
        wanted = available[max(0, idx - max(history, 1) + 1): idx + 1]
        prev = previous_month(month)
        frame_months = sorted(set(wanted) | ({prev} if prev in available else set()))
        frame = cached_measure_frame(store, con, frame_months, catalog)
        values = indicator_values(con, frame_months, level, catalog, frame=frame)
        if level == "employee":
            values = _blank_absent(values, people, frame_months, min_days)
        # targets of scorecard.yaml (:mod:`perfkit.metrics.targets`); none without that file
        goals = (targets(con, month, level, params) if (find_params(params) / "scorecard.yaml").exists()
                 else None)

    cur = values[values["month"] == month].drop(columns="month")
    before = values.loc[values["month"] == prev, ["entity_id", "indicator_id", "value"]]
    cur = cur.merge(before.rename(columns={"value": "prev_value"}), on=["entity_id", "indicator_id"], how="left")
    cur["change"] = cur["value"] - cur["prev_value"]

    if level == "employee":
        if entity is not None:  # the listing's rule, for one employee too
            require_appraised(people, month, entity, min_days)
        cur = cur[cur["entity_id"].isin(appraised(people, month, min_days))]

    grp = cur.groupby(["parent_id", "indicator_id"], dropna=False)["value"]
    cur["rank"] = grp.rank(method="min", na_option="bottom")
    cur["n_in_parent"] = grp.transform("size").astype(int)

    # filters after ranking (ranks are within the whole parent), before building histories
    if entity is not None:
        cur = cur[cur["entity_id"] == entity]
    if branch is not None:
        key = "parent_id" if level == "employee" else "entity_id"
        cur = cur[cur[key] == branch]

    hist = values[values["month"].isin(wanted) & values["entity_id"].isin(set(cur["entity_id"]))]
    hist = hist.sort_values(["entity_id", "indicator_id", "month"], ignore_index=True)
    # one list of (month, value) per entity × indicator: cut the sorted pairs at each new key (a
    # groupby(...).agg(list) calls Python once per group: seconds for 36,000 groups)
    keys = hist[["entity_id", "indicator_id"]]
    starts = np.flatnonzero((keys != keys.shift()).any(axis=1).to_numpy())
    pairs = list(zip(hist["month"], hist["value"], strict=True))
    bounds = [*starts[1:], len(pairs)] if len(starts) else []
    hist_lists = keys.iloc[starts].reset_index(drop=True).assign(
        history=[pairs[a:b] for a, b in zip(starts, bounds, strict=True)])
    cur = cur.merge(hist_lists, on=["entity_id", "indicator_id"], how="left")

    if goals is not None:
        cur = cur.merge(goals, on=["entity_id", "indicator_id"], how="left")
    else:
        cur["target"] = np.nan

    meta = pd.DataFrame(
        [
            {
                "indicator_id": i.id, "name": i.name, "name_en": i.name_en, "family": i.family,
                "family_name": catalog.families[i.family], "unit": i.unit,
                "higher_is_better": i.higher_is_better, "_order": n,
            }
            for n, i in enumerate(catalog.indicators)
        ]
    )
    cur = cur.merge(meta, on="indicator_id", how="left")
    cur["entity_name"] = cur["entity_id"].map(_names(level, people, branches))
    cur = cur.sort_values(["parent_id", "entity_id", "_order"], na_position="first")
    cols = [
        "level", "entity_id", "entity_name", "parent_id", "indicator_id", "name", "name_en",
        "family", "family_name", "unit", "higher_is_better", "value", "numerator", "denominator",
        "prev_value", "change", "target", "rank", "n_in_parent", "history",
    ]
    log.info("indicators %s %s: %d rows", month, level, len(cur))
    return cur[cols].reset_index(drop=True)


def _names(level: str, people: pd.DataFrame, branches: pd.DataFrame) -> dict[str, str]:
    if level == "employee":
        return dict(zip(people["employee_id"], people["employee_name"], strict=True))
    if level == "branch":
        return dict(zip(branches["branch_id"], branches["branch_name"], strict=True))
    return {COMPANY_ID: COMPANY_NAME}


def _check_filters(
    level: str, entity: str | None, branch: str | None, people: pd.DataFrame, branches: pd.DataFrame
) -> None:
    if entity is not None:
        known = {
            "employee": set(people["employee_id"]),
            "branch": set(branches["branch_id"]),
            "company": {COMPANY_ID},
        }[level]
        if entity not in known:
            raise RequestError(f"unknown {level} {entity!r}")
    if branch is not None and branch not in set(branches["branch_id"]):
        raise RequestError(f"unknown branch {branch!r}")


def _blank_absent(values: pd.DataFrame, people: pd.DataFrame, months: list[str],
                  min_days: int) -> pd.DataFrame:
    """Employee values of months the employee was not appraised in (before hire, after leaving)
    become missing: a new hire's last month is "—", not 0."""
    present = pd.concat(
        [pd.DataFrame({"entity_id": sorted(appraised(people, m, min_days)), "month": m})
         for m in months],
        ignore_index=True,
    ).assign(_present=True)
    out = values.merge(present, on=["entity_id", "month"], how="left")
    absent = out["_present"].isna()
    out.loc[absent, ["numerator", "denominator", "value"]] = np.nan
    return out.drop(columns="_present")
