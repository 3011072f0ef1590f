"""Published months: ``perfkit publish`` freezes a month's computed results in the store.

Managers dispute figures that change after they were announced. Publishing a month computes every
frame of the month snapshot (:mod:`perfkit.month.frames`: indicators at every level, scores and
scorecards, task lists, statistical tables, level review, pay and bonus, the appraisal frames) and
stores them **in the store** as version 1 of the month:

* ``publications`` — one row per version: month, version, who (``--by``, default the OS user), when,
  the input fingerprint (store content for the month, parameters files, perfkit version), the
  reason of a revision, the parameters folder, the number of frames and of changed figures;
* ``publication_frames`` — the frozen frames, one Parquet file (a BLOB) per frame or part, with the
  columns readers slice them by (so a report reads only its slice, as from a snapshot folder);
* ``publication_changes`` — for a revision, every headline figure that changed against the previous
  version (entity, figure, old value, new value as shown), computed once when the revision is
  published and never recomputed.

All rows of a version are written in one transaction: a failure leaves nothing. Nothing published is
ever updated or deleted; publishing a month again needs ``--revise --reason "…"`` and adds version
n + 1 (versions 1 … n stay readable with :class:`PublishedSnapshot`).

Reports of a published month (:func:`perfkit.month.sources.source`) read its latest version instead of
computing — whatever the store or the parameters say now — and show which version they are
(:func:`note`, and the changes of a revision limited to what the reader may see).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfkit.data.lock import writes_store
from perfkit.data.store import StoreLike, connect, default_db, open_store, store_fingerprint
from perfkit.digest import perfkit_fingerprint
from perfkit.errors import RequestError, SpecError
from perfkit.formatting import fmt_value, format_number
from perfkit.metrics.catalog import find_params
from perfkit.metrics.months import check_month
from perfkit.month import frozen
from perfkit.month.build import fingerprint
from perfkit.month.frames import produce
from perfkit.month.published import _COLUMNS, Publication, PublishedSnapshot, _rows
from perfkit.month.snapshot import FORMAT, MANIFEST, Snapshot
from perfkit.projectfile import find_project

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figures:
    """The headline figures of one frame compared between versions: the entity columns and
    ``figures`` {column: (label, decimals or None for text)}; None: the indicator rows."""

    frame: str
    part: str | None
    level: str
    entity: str
    name: str
    branch: str | None
    employee: str | None
    figures: dict[str, tuple[str, int | None]] | None = None


_SCORES = {"composite": ("综合得分", 1), "grade": ("等级", None), "rank": ("排名", 0),
           "stars": ("星级", 0)}


DIFF: tuple[Figures, ...] = (
    Figures("indicators.company", None, "公司", "entity_id", "entity_name", None, None),
    Figures("indicators.branch", None, "营业部", "entity_id", "entity_name", "entity_id", None),
    Figures("indicators.employee", None, "员工", "entity_id", "entity_name", "parent_id",
            "entity_id"),
    Figures("scores.branch", None, "营业部", "entity_id", "entity_name", "entity_id", None, _SCORES),
    Figures("scorecard.employee", "scores", "员工", "entity_id", "entity_name", "parent_id",
            "entity_id", {"kpi_score": ("KPI得分", 1), "ability_score": ("能力得分", 1),
                          "deduction_points": ("行为扣分", 0), **_SCORES}),
    Figures("levels.summary", None, "员工", "employee_id", "employee_name", "branch_id",
            "employee_id", {"level": ("职级", None), "recommendation": ("评定建议", None),
                            "recommended_level": ("建议职级", None)}),
    Figures("pay", None, "员工", "employee_id", "employee_name", "branch_id", "employee_id",
            {"performance_pay": ("绩效工资（元）", 2), "commission_pay": ("提成工资（元）", 2),
             "bonus": ("奖金（元）", 2), "total_pay": ("合计（元）", 2),
             "demotion_flag": ("降级提示", None)}),
    Figures("appraisal.conduct", None, "员工", "employee_id", "employee_name", "branch_id",
            "employee_id", {"conduct_score": ("行为得分", 0), "bonus": ("绩效奖金（元）", 2)}),
    Figures("appraisal.advisor", None, "员工", "employee_id", "employee_name", "branch_id",
            "employee_id", {"mrar": ("MRAR（%）", 4), "action": ("考核级别", None)}),
)


CHANGE_COLUMNS = ["frame", "level", "entity_id", "entity_name", "branch_id", "employee_id",
                  "figure", "old_value", "new_value"]


def _shown(value: Any, decimals: int | None) -> str | None:

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if decimals is None or isinstance(value, str):
        return str(value)
    return format_number(value, decimals)


def _long(df: pd.DataFrame, f: Figures) -> pd.DataFrame:
    """One row per entity × figure: frame, level, entity ids and name, key, figure, text."""
    def ids(col: str | None) -> Any:
        return df[col].astype(str).to_numpy() if col else None

    base = pd.DataFrame({"frame": f.frame, "level": f.level, "entity_id": ids(f.entity),
                         "entity_name": df[f.name].astype(str).to_numpy(),
                         "branch_id": ids(f.branch), "employee_id": ids(f.employee)})
    if f.figures is None:  # indicator rows: figure = indicator, shown with its unit
        text = [None if pd.isna(v) else fmt_value(v, u)
                for v, u in zip(df["value"], df["unit"], strict=True)]
        return base.assign(key=df["indicator_id"].to_numpy(), figure=df["name"].to_numpy(),
                           text=text, raw=df["value"].to_numpy(),
                           pos=pd.factorize(df["indicator_id"])[0])
    out = []
    for i, (col, (label, decimals)) in enumerate(f.figures.items()):
        if col in df.columns:
            out.append(base.assign(key=col, figure=label, raw=df[col].to_numpy(), pos=i,
                                   text=[_shown(v, decimals) for v in df[col]]))
    return pd.concat(out, ignore_index=True) if out else base.iloc[0:0]


def _moved(old: Any, new: Any) -> bool:
    """Whether two raw values differ beyond floating-point noise (a sum whose order varies can move
    a value by 1e-12 and its rounding across a boundary: not a change)."""
    def num(x: Any) -> float | None:
        if isinstance(x, bool | np.bool_ | str):
            return None
        try:
            return float(x)
        except (TypeError, ValueError):
            return None

    a, b = num(old), num(new)
    if a is None or b is None:
        return True
    if np.isnan(a) or np.isnan(b):
        return np.isnan(a) != np.isnan(b)
    return not np.isclose(a, b, rtol=1e-9, atol=1e-9)


def _frame(snap: Snapshot, f: Figures) -> pd.DataFrame | None:
    if f.frame not in snap.meta["frames"]:
        return None
    df = snap.read(f.frame, part=f.part) if f.part else snap.read(f.frame)
    return df if isinstance(df, pd.DataFrame) else None


def diff(old: Snapshot, new: Snapshot) -> pd.DataFrame:
    """The headline figures (:data:`DIFF`) whose shown value differs between two versions (and
    whose value moved beyond floating-point noise), or that exist in only one:
    :data:`CHANGE_COLUMNS` (old/new value None when absent)."""
    out = []
    keys = ["frame", "level", "entity_id", "key"]
    for f in DIFF:
        a, b = _frame(old, f), _frame(new, f)
        if a is None or b is None:
            continue
        la, lb = _long(a, f), _long(b, f)
        m = la.merge(lb, on=keys, how="outer", suffixes=("_old", "_new"))
        shown = m["text_old"].fillna("\0") != m["text_new"].fillna("\0")
        moved = [_moved(a, b) for a, b in zip(m["raw_old"], m["raw_new"], strict=True)]
        changed = m[shown & np.array(moved, dtype=bool)]
        if changed.empty:
            continue
        # by entity, then figure in the order the reports show them
        changed = changed.assign(_pos=changed["pos_new"].fillna(changed["pos_old"])).sort_values(
            ["entity_id", "_pos"], kind="stable")
        pick = {c: changed[f"{c}_new"].fillna(changed[f"{c}_old"])
                for c in ("entity_name", "branch_id", "employee_id", "figure")}
        out.append(pd.DataFrame({
            "frame": changed["frame"], "level": changed["level"],
            "entity_id": changed["entity_id"], **pick,
            "old_value": changed["text_old"], "new_value": changed["text_new"],
        })[CHANGE_COLUMNS])
    if not out:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    res = pd.concat(out, ignore_index=True)
    res = res.astype(object).where(res.notna(), None)
    return res.reset_index(drop=True)


def changes(store: StoreLike | None, month: str, number: int, *, branch: str | None = None,
            employee: str | None = None, above_employees: bool = False) -> pd.DataFrame:
    """The stored changes of version ``number`` against the previous one (:data:`CHANGE_COLUMNS`):
    only the rows of ``employee`` (his own) or of ``branch`` (the branch's and its employees')
    when given, only the company's and the branches' rows with ``above_employees`` (what
    headquarters sees); everything otherwise."""
    sql = (f"SELECT {', '.join(CHANGE_COLUMNS)} FROM publication_changes "
           "WHERE month = ? AND version = ?")
    args: list[Any] = [month, number]
    if above_employees:
        sql += " AND employee_id IS NULL"
    if employee is not None:
        sql += " AND employee_id = ?"
        args.append(employee)
    if branch is not None:
        sql += " AND branch_id = ?"
        args.append(branch)
    with connect(store) as con:
        return con.execute(sql + " ORDER BY seq", args).df()


def os_user() -> str:
    """Who publishes by default: the OS user name."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers): fall back to the environment
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _write(con: Any, pub: Publication, folder: Path, frames: dict[str, Any],
           changed: pd.DataFrame) -> None:
    """Insert the version's rows (inside the caller's transaction)."""
    row = asdict(pub)
    con.execute(f"INSERT INTO publications ({', '.join(_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(_COLUMNS))})", [row[c] for c in _COLUMNS])
    for name, info in frames.items():
        for i, p in enumerate(info["parts"]):
            con.execute("INSERT INTO publication_frames VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [pub.month, pub.version, name, i, p["title"], ",".join(info["scope"]),
                         p["rows"], (folder / p["file"]).read_bytes()])
    if not changed.empty:
        rows = changed.assign(month=pub.month, version=pub.version,
                              seq=range(1, len(changed) + 1))
        con.register("_perfkit_changes", rows)
        try:
            con.execute("INSERT INTO publication_changes SELECT month, version, seq, "
                        + ", ".join(CHANGE_COLUMNS[:-2])
                        + ", old_value, new_value FROM _perfkit_changes")
        finally:
            con.unregister("_perfkit_changes")


def _notebooks(params: Path, notebooks: str | Path | None) -> Path | None:
    """The role notebooks a publication keeps: ``notebooks``, else the project's (when
    ``params`` is its parameters folder), else ``notebooks/`` beside ``params``, else none."""
    if notebooks is not None:
        return Path(notebooks)
    project = find_project()
    if project is not None and project.parameters.resolve() == params:
        return project.notebooks
    sibling = params.parent / "notebooks"
    return sibling if sibling.is_dir() else None


@writes_store("perfkit publish {month}", "store")
def publish(
    store: StoreLike | None,
    month: str,
    params: str | Path | None = None,
    *,
    by: str | None = None,
    revise: bool = False,
    reason: str | None = None,
    notebooks: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Publication:
    """Freeze ``month``'s computed results in the store as its next version and return it.

    The first publication is v1. A month already published needs ``revise`` and a ``reason``:
    the new version is computed from the current data and parameters, and its changes against
    the previous version are stored with it. Errors (SpecError for the arguments, RequestError
    for the state of the month) leave the store unchanged; so does any failure while writing
    (one transaction).

    The version keeps, with its figures, the parameters files that shape the reports and the
    role notebooks of ``notebooks`` (default: the project's, else ``notebooks/`` beside the
    parameters folder): later reports of the version are rendered with them
    (:mod:`perfkit.month.frozen`)."""
    say = progress or log.info
    reason = (reason or "").strip() or None
    if revise and reason is None:
        raise SpecError(f"publish(): revise=True needs a reason (perfkit publish --month {month} "
                        "--revise --reason \"…\"): say why the published figures change")
    by = (by or "").strip() or os_user()
    params = Path(find_params(params)).resolve()
    if store is not None and not isinstance(store, str | os.PathLike):
        raise RequestError("publish(): give the store as a path (it is opened for writing), "
                           "not a connection")
    store = Path(default_db() if store is None else store).resolve()
    with connect(store) as con:
        check_month(con, month)
        have = _rows(con, month)
        data_sha = store_fingerprint(con, month, publications=False)
    if have and not revise:
        p = have[-1]
        raise RequestError(
            f"month {month} is already published: v{p.version} ({p.published_at:%Y-%m-%d %H:%M} by "
            f"{p.published_by}); nothing was written. To publish a new version: perfkit publish "
            f"--month {month} --revise --reason \"…\"")
    if revise and not have:
        raise RequestError(f"month {month} has not been published; nothing to revise "
                           f"(publish it first without --revise)")
    number = have[-1].version + 1 if have else 1
    fp = fingerprint(store, month, params, data_sha)
    kept = frozen.collect(params, _notebooks(params, notebooks))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"perfkit-publish-{month}-") as tmp:
        folder = Path(tmp)
        frames = produce(store, month, params, folder, say)
        (folder / MANIFEST).write_text(json.dumps(
            {"format": FORMAT, "month": month, "fingerprint": fp, "frames": frames}),
            encoding="utf-8")
        changed = (diff(PublishedSnapshot(store, have[-1]), Snapshot(folder)) if have
                   else pd.DataFrame(columns=CHANGE_COLUMNS))
        pub = Publication(month=month, version=number,
                          published_at=dt.datetime.now().replace(microsecond=0),
                          published_by=by, fingerprint=fp, reason=reason, params=str(params),
                          perfkit_version=perfkit_fingerprint(), frames=len(frames),
                          changes=len(changed))
        con = open_store(store, read_only=False)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                now = _rows(con, month)
                if len(now) != len(have):
                    raise RequestError(f"month {month} was published by someone else meanwhile "
                                       f"(v{now[-1].version}); nothing was written, try again")
                if store_fingerprint(con, month, publications=False) != data_sha:
                    raise RequestError(f"the store's data for {month} changed while publishing; "
                                       "nothing was written, try again")
                _write(con, pub, folder, frames, changed)
                frozen.write(con, pub, kept)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
    say(f"published {month} v{number} ({len(frames)} frames, {len(changed)} changed figures) "
        f"in {time.perf_counter() - t0:.1f}s")
    return pub
