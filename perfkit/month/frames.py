"""The frames of a month snapshot: everything the role reports of a month need, each computed once for
all entities by a named producer ``f(store, month, params) -> DataFrame`` (or a mapping
``{part title: DataFrame}``) that declares the columns scoping it (entity, branch or employee ids).

Another module adds its frame with one line::

    frames.register("appraisal.employee", appraisal_frame, scope=("branch_id", "employee_id"))

Built in: indicators (three levels), branch scores, employee scorecards, tasks, statistical tables,
the level review (``levels.summary``, ``levels.conditions``), ``pay`` and the appraisal frames
(``appraisal.<name>``, :data:`APPRAISAL_SCOPES`). :func:`produce` computes every registered frame
into a folder, one Parquet file per frame or part, sorted by its scope columns so that a sliced
read skips the row groups of other entities.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.data.store import StoreLike
from perfkit.errors import SpecError

log = logging.getLogger(__name__)

# The producers import what they compute when they run (not here): tests replace those functions
# in their own modules to prove that a report reads its slice instead of computing.


#: rows per Parquet row group: small enough that a sliced read skips most of a large frame
ROW_GROUP = 20_000


Producer = Callable[[StoreLike, str, Path], "pd.DataFrame | Mapping[str, pd.DataFrame]"]


@dataclass(frozen=True)
class FrameSpec:
    """A named frame of the snapshot. ``scope``: the columns a reader may filter on (every part of
    the frame has them). ``encode``/``decode`` turn a part into Parquet-friendly columns and back."""

    name: str
    producer: Producer
    scope: tuple[str, ...] = ()
    encode: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    decode: Callable[[pd.DataFrame], pd.DataFrame] | None = None


REGISTRY: dict[str, FrameSpec] = {}


def register(
    name: str,
    producer: Producer,
    *,
    scope: tuple[str, ...] | list[str] = (),
    encode: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    decode: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    replace: bool = False,
) -> FrameSpec:
    """Add frame ``name`` to every snapshot built from now on: ``producer(store, month, params)``
    returns a DataFrame for all entities (or ``{part title: DataFrame}``); ``scope`` names the id
    columns readers slice it by. A name already registered raises SpecError unless ``replace``."""
    if not name or "/" in name or name.startswith("."):
        raise SpecError(f"register(): name {name!r} must be a non-empty file-safe name")
    if name in REGISTRY and not replace:
        raise SpecError(f"register(): frame {name!r} is already registered")
    spec = FrameSpec(name, producer, tuple(scope), encode, decode)
    REGISTRY[name] = spec
    return spec


def _encode_history(df: pd.DataFrame) -> pd.DataFrame:
    """``history`` (list of (month, value)) → two list columns Parquet can hold."""
    hist = df["history"].map(lambda h: h if isinstance(h, list) else [])
    return df.drop(columns="history").assign(
        history_month=hist.map(lambda h: [m for m, _ in h]),
        history_value=hist.map(lambda h: [float(v) for _, v in h]),
    )


def _decode_history(df: pd.DataFrame) -> pd.DataFrame:
    hist = [list(zip(list(m), [float(v) for v in vals], strict=True))
            for m, vals in zip(df["history_month"], df["history_value"], strict=True)]
    out = df.drop(columns=["history_month", "history_value"])
    out["history"] = hist
    return out


#: results shared by the producers of one build (the employees' composite scores, the level review
#: behind both level frames); cleared before and after every build
_SHARED: dict[str, Any] = {}


def _indicators(level: str) -> Producer:
    def produce(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
        from perfkit.metrics.indicators import indicators

        return indicators(store, month, level, params=params)

    return produce


def _branch_scores(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
    from perfkit.appraisal.scorecard import scores

    return scores(store, month, "branch", params=params)


def _employee_scorecard(store: StoreLike, month: str, params: Path) -> dict[str, pd.DataFrame]:
    from perfkit.appraisal.scorecard import scorecard

    s, bd = scorecard(store, month, "employee", params=params)
    _SHARED[f"composite {month} {params}"] = s.set_index("entity_id")["composite"]
    return {"scores": s, "breakdown": bd}


def _tasks(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
    from perfkit.metrics.tasks import tasks

    return tasks(store, month, level="company", params=params)  # masked


def _company_tables(store: StoreLike, month: str, params: Path) -> dict[str, pd.DataFrame]:
    from perfkit.metrics.tables import stat_tables

    return stat_tables(store, month, "company", params=params)


def _branch_tables(store: StoreLike, month: str, params: Path) -> dict[str, pd.DataFrame]:
    from perfkit.metrics.tables import branch_stat_tables

    return branch_stat_tables(store, month, params=params)


for _level, _scope in (("company", ()), ("branch", ("entity_id",)),
                       ("employee", ("parent_id", "entity_id"))):
    register(f"indicators.{_level}", _indicators(_level), scope=_scope,
             encode=_encode_history, decode=_decode_history)


register("scores.branch", _branch_scores, scope=("entity_id",))


register("scorecard.employee", _employee_scorecard, scope=("parent_id", "entity_id"))


register("tasks", _tasks, scope=("branch_id", "employee_id"))


register("stat_tables.company", _company_tables)


register("stat_tables.branch", _branch_tables, scope=("branch_id",))


def _level_review(store: StoreLike, month: str, params: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from perfkit.appraisal.levels import level_review

    key = f"levels {month} {params}"
    if key not in _SHARED:  # with the composite scores the reports pass (scorecard.employee's)
        _SHARED[key] = level_review(store, month, params=params,
                                    composite=_SHARED.get(f"composite {month} {params}"))
    return _SHARED[key]


def _level_summary(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
    return _level_review(store, month, params)[0]


def _level_conditions(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
    summary, cond = _level_review(store, month, params)
    branch = summary.set_index("employee_id")["branch_id"]
    return cond.assign(branch_id=cond["employee_id"].map(branch))


def _pay(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
    from perfkit.appraisal.pay import pay

    return pay(store, month, params=params, composite=_SHARED.get(f"composite {month} {params}"))


def _appraisal(name: str, add_branch: bool = False) -> Producer:
    def produce(store: StoreLike, month: str, params: Path) -> pd.DataFrame:
        from perfkit.appraisal.frames import frame
        from perfkit.data.store import connect

        df = frame(name)(store, month, params)
        if add_branch:  # the employee's branch, as branch_frames selects its employees
            with connect(store) as con:
                br = dict(con.execute("SELECT employee_id, branch_id FROM employees").fetchall())
            df = df.assign(branch_id=df["employee_id"].map(br))
        return df

    return produce


def _drop(*columns: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df.drop(columns=[c for c in columns if c in df.columns])


#: appraisal frame → its scope in the snapshot (``appraisal.<name>``); True: branch_id is added
APPRAISAL_SCOPES: dict[str, tuple[tuple[str, ...], bool]] = {
    "ability": (("branch_id", "employee_id"), False),
    "ability_dimensions": (("branch_id", "employee_id"), True),
    "conduct": (("branch_id", "employee_id"), False),
    "incidents": (("branch_id", "employee_id"), False),
    "advisor": (("branch_id", "employee_id"), False),
    "advisor_branch": (("branch_id",), False),
    "rfm_clients": (("branch_id", "employee_id"), False),
    "rfm_employee": (("branch_id", "employee_id"), True),
    "rfm_branch": (("branch_id",), False),
}


def _decode_met(df: pd.DataFrame) -> pd.DataFrame:
    """The summary's met flags are bool or <NA> (Parquet gives None for the missing ones)."""
    for col in ("maintain_met", "promotion_met", "probation_met"):
        if col in df.columns and df[col].dtype == object:
            df[col] = df[col].where(df[col].notna(), pd.NA)
    return df


register("levels.summary", _level_summary, scope=("branch_id", "employee_id"), decode=_decode_met)


register("levels.conditions", _level_conditions, scope=("branch_id", "employee_id"),
         decode=_drop("branch_id"))


register("pay", _pay, scope=("branch_id", "employee_id"))


for _name, (_scope, _added) in APPRAISAL_SCOPES.items():
    register(f"appraisal.{_name}", _appraisal(_name, _added), scope=_scope,
             decode=_drop("branch_id") if _added else None)


def _write(df: pd.DataFrame, path: Path, spec: FrameSpec, where: str) -> None:
    missing = [c for c in spec.scope if c not in df.columns]
    if missing:
        raise SpecError(f"snapshot frame {where}: scope column(s) {', '.join(missing)} missing "
                        f"from the producer's result")
    if spec.encode is not None:
        df = spec.encode(df)
    # contiguous entities (scope columns coarsest first, e.g. branch then employee): the row-group
    # statistics let a sliced read skip the row groups of other branches and employees
    if spec.scope:
        df = df.sort_values(list(spec.scope), kind="stable")
    df.reset_index(drop=True).to_parquet(path, index=False, row_group_size=ROW_GROUP)


def produce(store: StoreLike, month: str, params: Path, folder: Path,
            say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute every registered frame into ``folder`` (one Parquet file per frame or part) and
    return the manifest's ``frames`` entry: ``{name: {"scope": [...], "parts": [...]}}``."""
    say = say or log.info
    frames: dict[str, Any] = {}
    _SHARED.clear()
    try:
        for n, spec in enumerate(REGISTRY.values(), 1):
            t = time.perf_counter()
            result = spec.producer(store, month, params)
            parts = result if isinstance(result, Mapping) else {"": result}
            files, rows = [], 0
            for i, (title, df) in enumerate(parts.items()):
                if not isinstance(df, pd.DataFrame):
                    raise SpecError(f"snapshot frame {spec.name!r}: the producer returned "
                                    f"{type(df).__name__}, not a DataFrame")
                file = f"{spec.name}.parquet" if title == "" else f"{spec.name}.{i}.parquet"
                _write(df, folder / file, spec,
                       f"{spec.name!r}" + (f" part {title!r}" if title else ""))
                files.append({"title": title, "file": file, "rows": len(df)})
                rows += len(df)
            frames[spec.name] = {"scope": list(spec.scope), "parts": files}
            say(f"snapshot {month}: [{n}/{len(REGISTRY)}] {spec.name}: {rows:,} rows "
                f"in {time.perf_counter() - t:.1f}s")
    finally:
        _SHARED.clear()
    return frames
