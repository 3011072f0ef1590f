"""Building a month snapshot (``perfkit snapshot``): compute the month once, for every report.

The fingerprint covers the store's content for the month (and every month before it,
:func:`perfkit.data.store.store_fingerprint`), every parameters file and the perfkit version
(:mod:`perfkit.digest`), plus the names and scopes of the registered frames: any change gives a new
folder, and a stale snapshot is never read. A snapshot is built in a hidden temporary folder and
renamed into place once complete, so a half-written snapshot is never seen; ``snapshot.json`` is
written last. A published month (:mod:`perfkit.month.published`) is never recomputed: its folder is
filled with the frames frozen in the store.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfkit.data.store import StoreLike, cache_dir, connect, default_db, store_fingerprint
from perfkit.digest import parameter_files, perfkit_fingerprint, sha256_json
from perfkit.errors import RequestError
from perfkit.metrics.catalog import find_params
from perfkit.metrics.months import check_month
from perfkit.month import frames as month_frames
from perfkit.month.published import latest_publication, write_frames
from perfkit.month.snapshot import FORMAT, MANIFEST

log = logging.getLogger(__name__)


#: temporary build folders older than this are leftovers of a killed build and are removed
STALE_TEMP_SECONDS = 6 * 3600


def fingerprint(store: StoreLike, month: str, params: str | Path,
                store_sha: str | None = None) -> str:
    """The snapshot's input fingerprint: store content for ``month`` and before, parameters files,
    perfkit version (code digest) and the registered frames. ``store_sha``: the store's
    :func:`~perfkit.data.store.store_fingerprint` for ``month`` when already computed."""
    if store_sha is None:
        with connect(store) as con:
            store_sha = store_fingerprint(con, month)
    return sha256_json({
        "format": FORMAT,
        "month": month,
        "store": store_sha,
        "parameters_files": parameter_files(params),
        "perfkit": perfkit_fingerprint(),
        "frames": {n: list(s.scope) for n, s in sorted(month_frames.REGISTRY.items())},
    })


def default_root(store: StoreLike) -> Path:
    """``$PERFKIT_CACHE/snapshots`` when that is set (and not ``off``), else
    ``<store folder>/.perfkit-cache/snapshots``."""
    root = cache_dir("snapshots", store)
    if root is None:
        raise RequestError("snapshot: a store given as a connection needs an explicit root folder")
    return root


def _valid(folder: Path, fp: str) -> bool:
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("fingerprint") == fp and meta.get("format") == FORMAT


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
            frames = write_frames(store_arg, pub, tmp)
            say(f"snapshot {month}: published version v{pub.version} ({len(frames)} frames)")
        else:
            frames = month_frames.produce(store_arg, month, params, tmp, say)
        meta = {"format": FORMAT, "month": month, "fingerprint": fp, "params": str(params),
                "parameters_files": parameter_files(params),
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
