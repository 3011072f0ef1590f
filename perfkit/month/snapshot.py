"""A built month snapshot, read by slices.

A snapshot is a folder ``<root>/<month>-<fingerprint[:16]>/`` holding one Parquet file per frame
(or per part of a frame, :mod:`perfkit.month.frames`) and ``snapshot.json`` (month, fingerprint,
frames, their scope columns and files); :mod:`perfkit.month.build` makes it. :meth:`Snapshot.read`
takes only a reader's slice: it filters the Parquet file by the scope columns at read time (row
groups of other entities are skipped by their statistics, the rest filtered row by row), so an
employee report never holds another employee's rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.errors import RequestError
from perfkit.month import frames as month_frames

MANIFEST = "snapshot.json"


FORMAT = 1


#: environment variable naming the snapshot folder the report classes read (set by the batch)
ENV = "PERFKIT_SNAPSHOT"


#: part files held whole in memory by :func:`preload`, path → pyarrow Table
_PRELOADED: dict[str, Any] = {}


def preload(path: str | Path, max_bytes: int) -> int:
    """Hold every part file of the snapshot at ``path`` in memory, when together they are at most
    ``max_bytes`` on disk (else nothing); :meth:`Snapshot.read` then filters them in memory. For a
    process that forks report kernels (the batch's fork server): its children share the tables.
    Returns the bytes held in memory (0 when nothing was loaded). Reads on one thread."""
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet"))
    if not files or sum(f.stat().st_size for f in files) > max_bytes:
        return 0
    held = 0
    for f in files:
        key = str(f.absolute())
        table = _PRELOADED.get(key)
        if table is None:
            table = _PRELOADED[key] = pq.read_table(f, use_threads=False, pre_buffer=False)
        held += table.nbytes
    return held


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
        spec = month_frames.REGISTRY.get(name)
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

        held = _PRELOADED.get(str((self.path / part["file"]).absolute())) if _PRELOADED else None
        if held is not None:  # the same rows, in the same order, as reading the file
            return held if filters is None else held.filter(pq.filters_to_expression(filters))
        return pq.read_table(self.path / part["file"], filters=filters)
