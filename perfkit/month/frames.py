"""The frames of a month snapshot: everything the role reports of a month need, each computed once for
all entities by a named producer ``f(store, month, params) -> DataFrame`` (or a mapping
``{part title: DataFrame}``) that declares the columns scoping it (entity, branch or employee ids).

Another module adds its frame with one line::

    frames.register("appraisal.employee", appraisal_frame, scope=("branch_id", "employee_id"))

A frame with a row per client (the task list, the RFM classes) is not held in pandas: its producer
is registered with ``writes=True`` and writes its Parquet file itself, inside DuckDB
(:func:`perfkit.data.store.copy_parquet`), so its memory is bounded by DuckDB's limit whatever the
number of clients.

Built in: indicators (three levels), branch scores, employee scorecards, tasks, statistical tables,
the level review (``levels.summary``, ``levels.conditions``), ``pay`` and the appraisal frames
(``appraisal.<name>``, :data:`APPRAISAL_SCOPES`). :func:`produce` computes every registered frame
into a folder, one Parquet file per frame or part, sorted by its scope columns so that a sliced
read skips the row groups of other entities; independent frames are computed at the same time
(:data:`THREADS`), each on its own connection.
"""

from __future__ import annotations

import logging
import os
import threading
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


#: frames computed at the same time by :func:`produce`. DuckDB runs each query on every core
#: already; a second frame keeps the cores busy while the other is in pandas or in a
#: single-threaded step of a query (a hash table build, the final merge of an aggregate).
THREADS = 2


Producer = Callable[[StoreLike, str, Path], "pd.DataFrame | Mapping[str, pd.DataFrame]"]
#: ``f(store, month, params, file, order_by) -> rows``: writes ``file`` itself, sorted by ``order_by``
Writer = Callable[[StoreLike, str, Path, Path, tuple[str, ...]], int]


@dataclass(frozen=True)
class FrameSpec:
    """A named frame of the snapshot. ``scope``: the columns a reader may filter on (every part of
    the frame has them). ``encode``/``decode`` turn a part into Parquet-friendly columns and back.
    ``writes``: the producer is a :data:`Writer` that writes the frame's one Parquet file itself.
    ``after``: frames whose producers must have finished first (they leave results this one
    uses)."""

    name: str
    producer: Producer | Writer
    scope: tuple[str, ...] = ()
    encode: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    decode: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    writes: bool = False
    after: tuple[str, ...] = ()


REGISTRY: dict[str, FrameSpec] = {}


def register(
    name: str,
    producer: Producer,
    *,
    scope: tuple[str, ...] | list[str] = (),
    encode: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    decode: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    replace: bool = False,
    writes: bool = False,
    after: tuple[str, ...] | list[str] = (),
) -> FrameSpec:
    """Add frame ``name`` to every snapshot built from now on: ``producer(store, month, params)``
    returns a DataFrame for all entities (or ``{part title: DataFrame}``); ``scope`` names the id
    columns readers slice it by. With ``writes``, ``producer(store, month, params, file,
    order_by)`` writes the Parquet file ``file`` itself, sorted by ``order_by`` (the scope
    columns), and returns its number of rows — for a frame too large for pandas. ``after``: frames
    to finish before this one starts. A name already registered raises SpecError unless
    ``replace``."""
    if not name or "/" in name or name.startswith("."):
        raise SpecError(f"register(): name {name!r} must be a non-empty file-safe name")
    if name in REGISTRY and not replace:
        raise SpecError(f"register(): frame {name!r} is already registered")
    spec = FrameSpec(name, producer, tuple(scope), encode, decode, writes, tuple(after))
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


def _tasks(store: StoreLike, month: str, params: Path, file: Path, order: tuple[str, ...]) -> int:
    from perfkit.metrics.tasks import write_tasks

    return write_tasks(store, month, file, params=params, order_by=order)  # masked


def _decode_tasks(df: pd.DataFrame) -> pd.DataFrame:
    """The masked numbers as :func:`perfkit.metrics.tasks.tasks` gives them (pandas strings)."""
    return df.astype({"phone": "string", "id_no": "string"})


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


register("tasks", _tasks, scope=("branch_id", "employee_id"), writes=True, decode=_decode_tasks)


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


# with the employees' composite scores of scorecard.employee; the conditions with the summary's
# level review
register("levels.summary", _level_summary, scope=("branch_id", "employee_id"), decode=_decode_met,
         after=("scorecard.employee",))


register("levels.conditions", _level_conditions, scope=("branch_id", "employee_id"),
         decode=_drop("branch_id"), after=("levels.summary",))


register("pay", _pay, scope=("branch_id", "employee_id"), after=("scorecard.employee",))


def _rfm_clients(store: StoreLike, month: str, params: Path, file: Path,
                 order: tuple[str, ...]) -> int:
    from perfkit.appraisal.rfm import write_rfm_clients

    return write_rfm_clients(store, month, file, params, order)


#: appraisal frames with a row per client, written inside DuckDB
_WRITERS: dict[str, Writer] = {"rfm_clients": _rfm_clients}


for _name, (_scope, _added) in APPRAISAL_SCOPES.items():
    if _name in _WRITERS:
        register(f"appraisal.{_name}", _WRITERS[_name], scope=_scope, writes=True)
    else:
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


def _one(spec: FrameSpec, store: StoreLike, month: str, params: Path, folder: Path) -> dict[str, Any]:
    """Compute frame ``spec`` into ``folder``; its manifest entry."""
    if spec.writes:  # written inside DuckDB, sorted by its scope columns
        file = f"{spec.name}.parquet"
        rows = spec.producer(store, month, params, folder / file, spec.scope)
        return {"scope": list(spec.scope), "parts": [{"title": "", "file": file, "rows": int(rows)}]}
    result = spec.producer(store, month, params)
    parts = result if isinstance(result, Mapping) else {"": result}
    files = []
    for i, (title, df) in enumerate(parts.items()):
        if not isinstance(df, pd.DataFrame):
            raise SpecError(f"snapshot frame {spec.name!r}: the producer returned "
                            f"{type(df).__name__}, not a DataFrame")
        file = f"{spec.name}.parquet" if title == "" else f"{spec.name}.{i}.parquet"
        _write(df, folder / file, spec, f"{spec.name!r}" + (f" part {title!r}" if title else ""))
        files.append({"title": title, "file": file, "rows": len(df)})
    return {"scope": list(spec.scope), "parts": files}


def _start_order(specs: list[FrameSpec]) -> list[FrameSpec]:
    """The order frames are started in: the first registered (it computes the month's measures,
    which most others then read from the cache), then the frames written inside DuckDB (they need
    no measures: they run while the measures are computed), then the others as registered."""
    if not specs:
        return []
    first, rest = specs[0], specs[1:]
    return [first, *[s for s in rest if s.writes], *[s for s in rest if not s.writes]]


def produce(store: StoreLike, month: str, params: Path, folder: Path,
            say: Callable[[str], None] | None = None, *, threads: int | None = None,
            ) -> dict[str, Any]:
    """Compute every registered frame into ``folder`` (one Parquet file per frame or part) and
    return the manifest's ``frames`` entry: ``{name: {"scope": [...], "parts": [...]}}``, in the
    registry's order. ``threads`` frames (default :data:`THREADS`; one for a store given as a
    connection) are computed at the same time, a frame starting once the frames it comes
    ``after`` are done. The first error is raised once the frames already running have ended."""
    say = say or log.info
    specs = list(REGISTRY.values())
    threads = THREADS if threads is None else max(1, threads)
    if not isinstance(store, str | os.PathLike):
        threads = 1  # one connection runs one query at a time
    todo = _start_order(specs)
    names = {s.name for s in specs}
    done: dict[str, dict[str, Any]] = {}
    running: dict[str, float] = {}
    results: list[tuple[str, dict[str, Any] | None, BaseException | None]] = []
    ready = threading.Condition()
    failure: BaseException | None = None

    def work(spec: FrameSpec) -> None:
        try:
            out: tuple[str, dict[str, Any] | None, BaseException | None] = (
                spec.name, _one(spec, store, month, params, folder), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            out = (spec.name, None, exc)
        with ready:
            results.append(out)
            ready.notify()

    _SHARED.clear()
    try:
        while todo or running:
            startable = [s for s in todo if all(a in done or a not in names for a in s.after)]
            while failure is None and startable and len(running) < threads:
                spec = startable.pop(0)
                todo.remove(spec)
                running[spec.name] = time.perf_counter()
                if threads == 1:
                    work(spec)
                else:
                    threading.Thread(target=work, args=(spec,), daemon=True,
                                     name=f"perfkit-frame-{spec.name}").start()
            if not running:
                if failure is None and todo:
                    raise SpecError("snapshot frames wait for each other (after=): "
                                    + ", ".join(s.name for s in todo))
                break
            with ready:
                while not results:
                    ready.wait()
                name, info, exc = results.pop(0)
            took = time.perf_counter() - running.pop(name)
            if exc is not None:
                failure = failure or exc
                continue
            done[name] = info
            rows = sum(p["rows"] for p in info["parts"])
            say(f"snapshot {month}: [{len(done)}/{len(specs)}] {name}: {rows:,} rows "
                f"in {took:.1f}s")
        if failure is not None:
            raise failure
    finally:
        _SHARED.clear()
    return {s.name: done[s.name] for s in specs}
