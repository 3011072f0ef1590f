"""Published versions of a month, read back: who published which version when, and its frozen
frames read like a snapshot folder (:class:`PublishedSnapshot`).

The tables are ``publications``, ``publication_frames`` and ``publication_changes`` of
:mod:`perfkit.data.schema`; :mod:`perfkit.month.publish` writes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit.data.store import StoreLike, connect
from perfkit.errors import RequestError
from perfkit.month.snapshot import Snapshot

_COLUMNS = ("month", "version", "published_at", "published_by", "fingerprint", "reason", "params",
            "perfkit_version", "frames", "changes")


@dataclass(frozen=True)
class Publication:
    """One published version of a month (a ``publications`` row)."""

    month: str
    version: int
    published_at: dt.datetime
    published_by: str
    fingerprint: str
    reason: str | None
    params: str | None
    perfkit_version: str | None
    frames: int
    changes: int

    def key(self) -> dict[str, Any]:
        """What identifies the version (kept in a snapshot folder built from it)."""
        return {"month": self.month, "version": self.version, "fingerprint": self.fingerprint,
                "published_at": self.published_at.isoformat()}

    @property
    def label(self) -> str:
        """"已发布 v1 · 2026-11-05 由 张三 发布" (a revision: "修订版 v2 · …")."""
        head = f"修订版 v{self.version}" if self.version > 1 else f"已发布 v{self.version}"
        return f"{head} · {self.published_at:%Y-%m-%d} 由 {self.published_by} 发布"


def _rows(con: Any, month: str | None) -> list[Publication]:
    sql = f"SELECT {', '.join(_COLUMNS)} FROM publications"
    args: list[Any] = []
    if month is not None:
        sql += " WHERE month = ?"
        args.append(month)
    return [Publication(*r) for r in con.execute(sql + " ORDER BY month, version", args).fetchall()]


def versions(store: StoreLike | None = None, month: str | None = None) -> list[Publication]:
    """Every published version (of ``month``, or of every month), oldest first."""
    with connect(store) as con:
        return _rows(con, month)


def latest_publication(con: Any, month: str) -> Publication | None:
    """The latest published version of ``month`` on an open connection, or None."""
    rows = _rows(con, month)
    return rows[-1] if rows else None


def latest(store: StoreLike | None, month: str) -> Publication | None:
    """The latest published version of ``month``, or None when the month is not published."""
    with connect(store) as con:
        return latest_publication(con, month)


def version(store: StoreLike | None, month: str, number: int) -> Publication:
    """Version ``number`` of ``month`` (RequestError naming the versions there are)."""
    rows = versions(store, month)
    for p in rows:
        if p.version == number:
            return p
    have = ", ".join(f"v{p.version}" for p in rows) or "none"
    raise RequestError(f"month {month} has no published version v{number} (published: {have})")


class PublishedSnapshot(Snapshot):
    """A published version read from the store like a snapshot folder: :meth:`Snapshot.read`
    slices each frame by its scope columns while reading its Parquet data."""

    def __init__(self, store: StoreLike, pub: Publication) -> None:  # noqa: D107 - no folder
        self.store, self.publication, self.month = store, pub, pub.month
        self.path = Path(f"<store publication {pub.month} v{pub.version}>")
        with connect(store) as con:
            rows = con.execute(
                "SELECT frame, part, title, scope FROM publication_frames "
                "WHERE month = ? AND version = ? ORDER BY frame, part",
                [pub.month, pub.version]).fetchall()
        frames: dict[str, Any] = {}
        for frame, part, title, scope in rows:
            info = frames.setdefault(frame, {"scope": [c for c in scope.split(",") if c],
                                             "parts": []})
            info["parts"].append({"title": title, "part": part, "frame": frame})
        self.meta = {"month": pub.month, "frames": frames, "publication": pub.key()}

    def _table(self, part: dict[str, Any], filters: Any) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with connect(self.store) as con:
            blob = con.execute(
                "SELECT data FROM publication_frames WHERE month = ? AND version = ? AND frame = ? "
                "AND part = ?", [self.month, self.publication.version, part["frame"], part["part"]]
            ).fetchone()[0]
        return pq.read_table(pa.BufferReader(blob), filters=filters)


def write_frames(store: StoreLike, pub: Publication, folder: Path) -> dict[str, Any]:
    """Write the frames of a published version into a snapshot folder (one Parquet file per
    part, as :func:`perfkit.month.frames.produce` does); return the manifest's ``frames`` entry."""
    frames: dict[str, Any] = {}
    with connect(store) as con:
        rows = con.execute(
            "SELECT frame, part, title, scope, rows, data FROM publication_frames "
            "WHERE month = ? AND version = ? ORDER BY frame, part", [pub.month, pub.version]
        ).fetchall()
    for frame, part, title, scope, n, data in rows:
        file = f"{frame}.parquet" if title == "" else f"{frame}.{part}.parquet"
        (folder / file).write_bytes(data)
        info = frames.setdefault(frame, {"scope": [c for c in scope.split(",") if c], "parts": []})
        info["parts"].append({"title": title, "file": file, "rows": n})
    return frames


def published_entities(store: StoreLike, pub: Publication) -> dict[str, dict[str, tuple[str, str]]]:
    """``{"branch": {id: (name, "")}, "employee": {id: (name, branch id)}}``: the branches and
    the appraised employees version ``pub`` holds figures of (its indicator frames)."""
    snap = PublishedSnapshot(store, pub)
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for level, parent in (("branch", None), ("employee", "parent_id")):
        df = snap.read(f"indicators.{level}").drop_duplicates("entity_id")
        out[level] = {str(r.entity_id): (str(r.entity_name), str(getattr(r, parent)) if parent else "")
                      for r in df.itertuples()}
    return out
