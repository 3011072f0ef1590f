"""Where a report gets its data: the same calls answered from the store, a snapshot or a
published version.

:class:`DirectSource` is the public API, computing what is asked from the store (the analyst's
path); :class:`SnapshotSource` answers the same calls from a snapshot's slices (the batch's path),
or from the frozen frames of a published month. :func:`source` picks one for a report. The scoping
rules stay in the report views (:mod:`perfkit.report`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.appraisal.levels import CONDITION_COLUMNS
from perfkit.data.store import StoreLike
from perfkit.digest import parameter_files
from perfkit.errors import RequestError
from perfkit.month.published import PublishedSnapshot, latest
from perfkit.month.snapshot import ENV, Snapshot
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

# DirectSource imports what it computes when it is called (not here), as the snapshot's producers
# do: tests replace those functions in their own modules.


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
        from perfkit.appraisal.levels import level_review

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


_READ = object()  # source(): look the month's latest publication up in the store


def source(db: StoreLike, month: str, params: str | Path, snapshot: str | Path | None = None,
           publication: Any = _READ) -> DirectSource | SnapshotSource:
    """Where a report gets its data. A published month (:mod:`perfkit.month.published`) is read from its
    latest published version: from the snapshot ``snapshot`` (else ``$PERFKIT_SNAPSHOT``) when
    that holds this version, else from the store's publication tables. An unpublished month is
    read from the snapshot when one is given, else computed from the store. The snapshot must be
    of ``month`` and built from the same parameters folder (RequestError otherwise).
    ``publication``: the month's latest version when the caller has read it (None: unpublished)."""
    direct = DirectSource(db, month, params)
    path = snapshot if snapshot not in (None, "") else os.environ.get(ENV) or None
    pub = latest(db, month) if publication is _READ else publication
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
    if built and Path(built).resolve() != find_params(params).resolve() \
            and snap.meta.get("parameters_files") != parameter_files(params):
        # another folder is fine when its files are the same (the snapshot is keyed by content:
        # a second checkout of the same parameters reuses it)
        raise RequestError(f"snapshot {snap.path} was built from parameters {built}, "
                           f"not {find_params(params).resolve()}, whose files differ")
    log.info("reading month data from snapshot %s", snap.path)
    return SnapshotSource(snap, direct)
