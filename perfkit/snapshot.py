"""Month snapshot: everything the role reports of a month need, computed once for all entities and
kept as Parquet files, so that a batch of N reports does not recompute the month N times.

A snapshot is a folder ``<root>/<month>-<fingerprint[:16]>/`` holding one Parquet file per frame
(or per part of a frame) and ``snapshot.json`` (month, fingerprint, frames, their scope columns and
files). The fingerprint covers the store's content for the month (and every month before it),
every parameters file and the perfkit version (:mod:`perfkit.batch.fingerprint`), plus the names
and scopes of the registered frames: any change gives a new folder, and a stale snapshot is never
read. A snapshot is built in a hidden temporary folder and renamed into place once complete, so a
half-written snapshot is never seen; ``snapshot.json`` is written last.

Frames come from a registry of named producers ``f(store, month, params) -> DataFrame`` (or a
mapping ``{part title: DataFrame}``), each declaring the columns that scope it (entity, branch or
employee ids). Another module adds its frames with one line::

    snapshot.register("appraisal.employee", appraisal_frame, scope=("branch_id", "employee_id"))

Readers take only their slice: :meth:`Snapshot.read` filters the Parquet file by the scope columns
at read time (row groups of other entities are skipped by their statistics, the rest filtered row by
row), so an employee report never holds another employee's rows. :class:`SnapshotSource` serves the
report classes of :mod:`perfkit.views` the same frames as the public API (:class:`DirectSource`);
the scoping rules stay in the views. Built in: indicators (three levels), branch scores, employee
scorecards, tasks, statistical tables, the level review (``levels.summary``, ``levels.conditions``),
``pay`` and the appraisal frames (``appraisal.<name>``, :data:`APPRAISAL_SCOPES`).

A published month (:mod:`perfkit.publish`) is never recomputed: :func:`source` reads its latest
published version (:class:`perfkit.publish.PublishedSnapshot`, the same frames kept in the store),
and :func:`build` fills the folder with those frames (the store fingerprint counts publications).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.data.store import StoreLike
from perfkit.errors import RequestError, SpecError

log = logging.getLogger(__name__)

MANIFEST = "snapshot.json"
FORMAT = 1
#: environment variable naming the snapshot folder the report classes read (set by the batch)
ENV = "PERFKIT_SNAPSHOT"
#: rows per Parquet row group: small enough that a sliced read skips most of a large frame
ROW_GROUP = 20_000
#: temporary build folders older than this are leftovers of a killed build and are removed
STALE_TEMP_SECONDS = 6 * 3600

Producer = Callable[[StoreLike, str, Path], "pd.DataFrame | Mapping[str, pd.DataFrame]"]


# ── the registry ────────────────────────────────────────────────────────────────────────────────


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


# ── built-in frames: what perfkit.views loads ──────────────────────────────────────────────────


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


# levels, pay and the appraisal frames (issue 8): every reviewed / paid employee, scoped by branch
# and employee; a column added here only to scope a frame is dropped again when it is read

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


# ── fingerprint and location ────────────────────────────────────────────────────────────────────


def fingerprint(store: StoreLike, month: str, params: str | Path,
                store_sha: str | None = None) -> str:
    """The snapshot's input fingerprint: store content for ``month`` and before, parameters files,
    perfkit version (code digest) and the registered frames. ``store_sha``: the store's
    :func:`~perfkit.data.store.store_fingerprint` for ``month`` when already computed."""
    from perfkit.data.store import connect, store_fingerprint
    from perfkit.digest import parameter_files, perfkit_fingerprint, sha256_json

    if store_sha is None:
        with connect(store) as con:
            store_sha = store_fingerprint(con, month)
    return sha256_json({
        "format": FORMAT,
        "month": month,
        "store": store_sha,
        "parameters_files": parameter_files(params),
        "perfkit": perfkit_fingerprint(),
        "frames": {n: list(s.scope) for n, s in sorted(REGISTRY.items())},
    })


def _parameter_files(params: str | Path) -> dict[str, str]:
    """sha256 of each parameters file by relative name (what the fingerprint covers of them)."""
    from perfkit.digest import parameter_files

    return parameter_files(params)


def default_root(store: StoreLike) -> Path:
    """``$PERFKIT_CACHE/snapshots`` when that is set (and not ``off``), else
    ``<store folder>/.perfkit-cache/snapshots``."""
    from perfkit.data.store import default_db

    env = os.environ.get("PERFKIT_CACHE", "")
    if env and env.lower() != "off":
        return Path(env) / "snapshots"
    if not isinstance(store, str | os.PathLike) and store is not None:
        raise RequestError("snapshot: a store given as a connection needs an explicit root folder")
    return Path(store if store is not None else default_db()).resolve().parent / ".perfkit-cache" \
        / "snapshots"


def _valid(folder: Path, fp: str) -> bool:
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("fingerprint") == fp and meta.get("format") == FORMAT


# ── build ───────────────────────────────────────────────────────────────────────────────────────


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


def build(
    store: StoreLike,
    month: str,
    params: str | Path | None = None,
    *,
    root: str | Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    store_sha: str | None = None,
) -> Path:
    """Build (or reuse) the snapshot of ``month`` and return its folder.

    A complete snapshot with the same fingerprint is reused unless ``force``; otherwise every
    registered frame is produced into a temporary folder that is renamed into place when complete
    (an error leaves nothing behind). Older snapshots of the month from the same store and
    parameters folder are removed afterwards.
    ``progress`` receives one line per frame.
    """
    from perfkit.data.store import connect, default_db
    from perfkit.metrics.catalog import find_params
    from perfkit.metrics.months import check_month
    from perfkit.publish import latest_publication

    params = Path(find_params(params)).resolve()
    say = progress or log.info
    store = default_db() if store is None else store
    store_arg = Path(store).resolve() if isinstance(store, str | os.PathLike) else store
    with connect(store_arg) as con:
        check_month(con, month)
        pub = latest_publication(con, month)
    t0 = time.perf_counter()
    fp = fingerprint(store_arg, month, params, store_sha)
    base = Path(root) if root is not None else default_root(store_arg)
    final = base / f"{month}-{fp[:16]}"
    if not force and _valid(final, fp):
        say(f"snapshot {month}: up to date ({final})")
        return final
    base.mkdir(parents=True, exist_ok=True)
    for left in base.glob(".*.tmp"):  # left by a killed build (a build takes minutes, not hours)
        if left.is_dir() and time.time() - left.stat().st_mtime > STALE_TEMP_SECONDS:
            shutil.rmtree(left, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=base))
    try:
        if pub is not None:  # a published month: its latest version, as frozen in the store
            from perfkit.publish import write_frames

            frames = write_frames(store_arg, pub, tmp)
            say(f"snapshot {month}: published version v{pub.version} ({len(frames)} frames)")
        else:
            frames = produce(store_arg, month, params, tmp, say)
        meta = {"format": FORMAT, "month": month, "fingerprint": fp, "params": str(params),
                "parameters_files": _parameter_files(params),
                "store": str(store_arg) if isinstance(store_arg, Path) else None,
                "built_seconds": round(time.perf_counter() - t0, 2), "frames": frames,
                "publication": pub.key() if pub is not None else None}
        (tmp / MANIFEST).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        if final.exists():  # an unreadable or forced-over snapshot: replace it
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError:
            if not _valid(final, fp):  # not another builder that won the race
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(base, month, final, meta)
    say(f"snapshot {month}: built in {time.perf_counter() - t0:.1f}s ({final})")
    return final


def _remove_stale(base: Path, month: str, final: Path, meta: dict[str, Any]) -> None:
    """Remove the other snapshots of ``month`` built from the same store and parameters folder
    (their inputs have changed since); snapshots of other stores sharing the folder stay."""
    for old in base.glob(f"{month}-*"):
        if old == final or not old.is_dir():
            continue
        try:
            other = json.loads((old / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if other.get("store") == meta["store"] and other.get("params") == meta["params"]:
            shutil.rmtree(old, ignore_errors=True)


# ── read ────────────────────────────────────────────────────────────────────────────────────────


class Snapshot:
    """A built snapshot folder. :meth:`read` returns one frame (or its parts), sliced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.meta = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RequestError(f"snapshot {self.path} is not a complete snapshot "
                               f"({MANIFEST} missing)") from None
        if self.meta.get("format") != FORMAT:
            raise RequestError(f"snapshot {self.path}: format {self.meta.get('format')!r}, "
                               f"expected {FORMAT}; rebuild it")
        self.month: str = self.meta["month"]

    def read(self, name: str, *, part: str | None = None, any_of: bool = False,
             **where: str) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Frame ``name`` restricted to rows whose scope columns equal ``where`` (all of them, or
        any one with ``any_of``); a frame with parts gives ``{title: DataFrame}`` (or one part with
        ``part``). Filtering a column that is not in the frame's scope raises RequestError."""
        info = self.meta["frames"].get(name)
        if info is None:
            raise RequestError(f"snapshot {self.path} has no frame {name!r}")
        bad = [c for c in where if c not in info["scope"]]
        if bad:
            raise RequestError(f"snapshot frame {name!r} is scoped by {info['scope']}, "
                               f"not {', '.join(bad)}")
        terms = [(c, "==", v) for c, v in where.items()]
        filters = ([[t] for t in terms] if any_of else [terms]) if terms else None
        spec = REGISTRY.get(name)
        out: dict[str, pd.DataFrame] = {}
        for p in info["parts"]:
            if part is not None and p["title"] != part:
                continue
            df = self._table(p, filters).to_pandas()
            if spec is not None and spec.decode is not None:
                df = spec.decode(df)
            out[p["title"]] = df.reset_index(drop=True)
        if part is not None and not out:
            raise RequestError(f"snapshot frame {name!r} has no part {part!r}")
        if list(out) == [""]:
            return out[""]
        return out[part] if part is not None else out

    def _table(self, part: dict[str, Any], filters: Any) -> Any:
        """One part's rows (a pyarrow Table) that pass ``filters``."""
        import pyarrow.parquet as pq

        return pq.read_table(self.path / part["file"], filters=filters)


# ── data sources for the report classes ────────────────────────────────────────────────────────


class DirectSource:
    """The public API, computing what is asked from the store (the analyst's path)."""

    #: the published version read instead of computing (:class:`SnapshotSource` of a published month)
    publication: Any = None

    def __init__(self, db: StoreLike, month: str, params: str | Path) -> None:
        self.db, self.month, self.params = db, month, params

    def indicators(self, level: str, *, entity: str | None = None,
                   branch: str | None = None) -> pd.DataFrame:
        from perfkit.metrics.indicators import indicators

        return indicators(self.db, self.month, level, entity=entity, branch=branch,
                          params=self.params)

    def scores(self, level: str) -> pd.DataFrame:
        from perfkit.appraisal.scorecard import scores

        return scores(self.db, self.month, level, params=self.params)

    def scorecard(self, level: str, *, entity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        from perfkit.appraisal.scorecard import scorecard

        return scorecard(self.db, self.month, level, entity=entity, params=self.params)

    def tasks(self, level: str, *, entity: str) -> pd.DataFrame:
        from perfkit.metrics.tasks import tasks

        return tasks(self.db, self.month, level=level, entity=entity, params=self.params)

    def stat_tables(self, level: str, *, entity: str | None = None) -> dict[str, pd.DataFrame]:
        from perfkit.metrics.tables import stat_tables

        return stat_tables(self.db, self.month, level, entity=entity, params=self.params)

    def levels(self, *, entity: str | None = None, composite: pd.Series | None = None,
               conditions: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(summary, conditions) of the level review; ``entity``: an employee or a branch.
        ``conditions=False``: the summary only (the conditions frame comes back empty)."""
        from perfkit.appraisal.levels import CONDITION_COLUMNS, level_review

        summary, cond = level_review(self.db, self.month, entity=entity, params=self.params,
                                     composite=composite)
        return summary, cond if conditions else pd.DataFrame(columns=CONDITION_COLUMNS)

    def pay(self, *, entity: str | None = None, composite: pd.Series | None = None) -> pd.DataFrame:
        """Pay and bonus per employee; ``entity``: an employee or a branch."""
        from perfkit.appraisal.pay import pay

        return pay(self.db, self.month, entity=entity, params=self.params, composite=composite)

    def appraisal(self, name: str, *, employee: str | None = None,
                  branch: str | None = None) -> pd.DataFrame:
        """Appraisal frame ``name`` (:data:`perfkit.appraisal.frames.FRAMES`), restricted to the rows of
        ``employee`` / ``branch`` when the frame has that column."""
        from perfkit.appraisal.frames import frame

        df = frame(name)(self.db, self.month, self.params)
        for col, value in (("employee_id", employee), ("branch_id", branch)):
            if value is not None and col in df.columns:
                df = df[df[col] == value]
        return df.reset_index(drop=True)


def _employee_or_branch(entity: str | None) -> dict[str, Any]:
    """Read filter for frames keyed by employee and branch: rows of ``entity`` as either (None:
    every row)."""
    return {} if entity is None else {"any_of": True, "employee_id": entity, "branch_id": entity}


class SnapshotSource:
    """The same calls as :class:`DirectSource`, answered from a snapshot's slices. A request the
    snapshot cannot answer (an entity it does not list, such as an employee absent this month)
    goes to the store, so both sources agree — except for a published month (``publication``
    set), whose figures are frozen: there such a request gets the published answer (nothing, or
    RequestError as the API would raise), never a recomputation from the current store."""

    def __init__(self, snap: Snapshot, direct: DirectSource, publication: Any = None) -> None:
        self.snap, self.direct, self.publication = snap, direct, publication

    def _not_published(self, what: str) -> RequestError:
        p = self.publication
        return RequestError(f"{what} is not part of the published version v{p.version} of "
                            f"{p.month}")

    def _has(self, name: str) -> bool:
        return name in self.snap.meta["frames"]

    def indicators(self, level: str, *, entity: str | None = None,
                   branch: str | None = None) -> pd.DataFrame:
        where = {}
        if entity is not None:
            where["entity_id"] = entity
        if branch is not None:
            where["parent_id" if level == "employee" else "entity_id"] = branch
        df = self.snap.read(f"indicators.{level}", **where)
        if df.empty and entity is not None and self.publication is None:
            return self.direct.indicators(level, entity=entity, branch=branch)  # the store says why
        return df

    def scores(self, level: str) -> pd.DataFrame:
        if level == "branch":
            return self.snap.read("scores.branch")
        if self.publication is not None and level == "employee":
            return self.snap.read("scorecard.employee", part="scores")
        return self.direct.scores(level)

    def scorecard(self, level: str, *, entity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        if level != "employee":
            if self.publication is not None:
                raise self._not_published(f"the {level} scorecard")
            return self.direct.scorecard(level, entity=entity)
        # like scorecard(entity=…): that entity, or the entities whose parent it is
        parts = self.snap.read("scorecard.employee", any_of=True, entity_id=entity, parent_id=entity)
        if parts["scores"].empty and parts["breakdown"].empty and self.publication is None:
            return self.direct.scorecard(level, entity=entity)
        return parts["scores"], parts["breakdown"]

    def tasks(self, level: str, *, entity: str) -> pd.DataFrame:
        col = {"employee": "employee_id", "branch": "branch_id"}.get(level)
        if col is None:
            if self.publication is not None:
                raise self._not_published(f"the {level} task list")
            return self.direct.tasks(level, entity=entity)
        return self.snap.read("tasks", **{col: entity})

    def stat_tables(self, level: str, *, entity: str | None = None) -> dict[str, pd.DataFrame]:
        if level == "company" and entity is None:
            return self.snap.read("stat_tables.company")
        if level != "branch" or entity is None:
            if self.publication is not None:
                raise self._not_published(f"the {level} tables of {entity}")
            return self.direct.stat_tables(level, entity=entity)
        parts = self.snap.read("stat_tables.branch", branch_id=entity)
        return {t: df.drop(columns="branch_id") for t, df in parts.items()}

    def levels(self, *, entity: str | None = None, composite: pd.Series | None = None,
               conditions: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        from perfkit.appraisal.levels import CONDITION_COLUMNS

        if not self._has("levels.summary") and self.publication is None:
            return self.direct.levels(entity=entity, composite=composite, conditions=conditions)
        where = _employee_or_branch(entity)
        summary = self.snap.read("levels.summary", **where)
        if summary.empty and entity is not None:
            if self.publication is not None:
                raise RequestError(f"unknown entity {entity!r}: not a reviewed employee nor a "
                                   f"branch with one in the published version "
                                   f"v{self.publication.version}")
            return self.direct.levels(entity=entity, composite=composite)  # raises as the API does
        if not conditions:
            return summary, pd.DataFrame(columns=CONDITION_COLUMNS)
        return summary, self.snap.read("levels.conditions", **where)

    def pay(self, *, entity: str | None = None, composite: pd.Series | None = None) -> pd.DataFrame:
        if not self._has("pay") and self.publication is None:
            return self.direct.pay(entity=entity, composite=composite)
        where = _employee_or_branch(entity)
        df = self.snap.read("pay", **where)
        if df.empty and entity is not None:
            if self.publication is not None:
                raise RequestError(f"unknown entity {entity!r}: not a paid employee nor a branch "
                                   f"with one in the published version v{self.publication.version}")
            return self.direct.pay(entity=entity, composite=composite)
        return df

    def appraisal(self, name: str, *, employee: str | None = None,
                  branch: str | None = None) -> pd.DataFrame:
        frame = f"appraisal.{name}"
        if not self._has(frame):
            if self.publication is not None:
                raise self._not_published(f"appraisal frame {name!r}")
            return self.direct.appraisal(name, employee=employee, branch=branch)
        scope = self.snap.meta["frames"][frame]["scope"]
        where = {c: v for c, v in (("employee_id", employee), ("branch_id", branch))
                 if v is not None and c in scope}
        return self.snap.read(frame, **where)


def source(db: StoreLike, month: str, params: str | Path,
           snapshot: str | Path | None = None) -> DirectSource | SnapshotSource:
    """Where a report gets its data. A published month (:mod:`perfkit.publish`) is read from its
    latest published version: from the snapshot ``snapshot`` (else ``$PERFKIT_SNAPSHOT``) when
    that holds this version, else from the store's publication tables. An unpublished month is
    read from the snapshot when one is given, else computed from the store. The snapshot must be
    of ``month`` and built from the same parameters folder (RequestError otherwise)."""
    from perfkit.publish import PublishedSnapshot, latest

    direct = DirectSource(db, month, params)
    path = snapshot if snapshot not in (None, "") else os.environ.get(ENV) or None
    pub = latest(db, month)
    snap = Snapshot(path) if path is not None else None
    if snap is not None and snap.month != month:
        raise RequestError(f"snapshot {snap.path} is of month {snap.month}, not {month}")
    if pub is not None:
        if snap is None or snap.meta.get("publication") != pub.key():
            snap = PublishedSnapshot(db, pub)
        log.info("reading month %s from its published version v%d", month, pub.version)
        return SnapshotSource(snap, direct, publication=pub)
    if snap is None:
        return direct
    built = snap.meta.get("params")
    if built and Path(built).resolve() != Path(params).resolve() \
            and snap.meta.get("parameters_files") != _parameter_files(params):
        # another folder is fine when its files are the same (the snapshot is keyed by content:
        # a second checkout of the same parameters reuses it)
        raise RequestError(f"snapshot {snap.path} was built from parameters {built}, "
                           f"not {Path(params).resolve()}, whose files differ")
    log.info("reading month data from snapshot %s", snap.path)
    return SnapshotSource(snap, direct)
