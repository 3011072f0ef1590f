"""What a published version was made with, kept with its figures: the parameters files that shape
the reports (:func:`perfkit.digest.parameter_files`: not run.yaml, import.yaml or delivery.yaml) and
the role notebooks, byte for byte, in the store's ``publication_files`` table.

:func:`collect` reads them when a month is published; :func:`folder` writes them out, and
:func:`params_in` / :func:`notebook_in` (:func:`params_of`, :func:`month_params` reading the
store) give every later render, batch, index, comparison and delivery of a published month the
files it was published with — whatever the current files say. The files are written
once into a folder named by their digest (``published/<month>-v<n>-<digest>/`` in the cache folder
beside the store, or ``$PERFKIT_CACHE``), checked against their sha256 whenever it is reused. A
version published before perfkit kept these files (store schema < 5) has none: its reports use the
current files, with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perfkit.data.store import StoreLike, cache_dir, connect
from perfkit.digest import parameter_files, sha256_json
from perfkit.month.published import Publication, latest

log = logging.getLogger(__name__)

ROLE_NOTEBOOKS = ("company", "branch", "employee")
PARAMETERS, NOTEBOOKS = "parameters", "notebooks"


def collect(params: Path, notebooks: Path | None) -> list[tuple[str, str, bytes]]:
    """(path, sha256, content) of what a publication keeps: ``parameters/<file>`` for every file
    that shapes the reports, ``notebooks/<role>.ipynb`` for the role notebooks in ``notebooks``."""
    files = [(f"{PARAMETERS}/{rel}", params / rel) for rel in parameter_files(params)]
    if notebooks is not None:
        files += [(f"{NOTEBOOKS}/{r}.ipynb", notebooks / f"{r}.ipynb") for r in ROLE_NOTEBOOKS
                  if (notebooks / f"{r}.ipynb").is_file()]
    out = []
    for name, path in files:
        data = path.read_bytes()
        out.append((name, hashlib.sha256(data).hexdigest(), data))
    return out


def write(con: Any, pub: Publication, rows: Iterable[tuple[str, str, bytes]]) -> None:
    """Insert the kept files of ``pub`` (inside the caller's transaction)."""
    con.executemany("INSERT INTO publication_files VALUES (?, ?, ?, ?, ?)",
                    [[pub.month, pub.version, name, sha, data] for name, sha, data in rows])


def _temp_root() -> Path:
    return Path(tempfile.gettempdir()) / f"perfkit-published-{os.getuid()}"


def _cache_root(store: StoreLike | None) -> Path:
    return cache_dir("published", store) or _temp_root()


def _intact(folder: Path, shas: dict[str, str]) -> bool:
    try:
        return all(hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha
                   for name, sha in shas.items())
    except OSError:
        return False


def _extract(store: StoreLike | None, pub: Publication, root: Path, name: str) -> Path:
    """Write the kept files of ``pub`` into ``root/name`` (all at once: a temporary folder,
    then renamed) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        with connect(store) as con:
            for path, data in con.execute(
                    "SELECT path, content FROM publication_files WHERE month = ? AND version = ?",
                    [pub.month, pub.version]).fetchall():
                target = tmp / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        dest = root / name
        if dest.exists():  # damaged (it failed the check): replaced whole
            shutil.rmtree(dest, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process put it there first: the same content
            if not dest.is_dir():
                raise
        return dest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def folder(store: StoreLike | None, pub: Publication) -> Path | None:
    """The folder holding ``parameters/`` and ``notebooks/`` as ``pub`` was published with, or None
    when the version kept no files (published by a perfkit before store schema 5)."""
    with connect(store) as con:
        shas = dict(con.execute("SELECT path, sha256 FROM publication_files WHERE month = ? AND "
                                "version = ? ORDER BY path", [pub.month, pub.version]).fetchall())
    if not shas:
        return None
    name = f"{pub.month}-v{pub.version}-{sha256_json(shas)[:16]}"
    for root in dict.fromkeys((_cache_root(store), _temp_root())):  # each once
        if _intact(root / name, shas):
            return root / name
        with contextlib.suppress(OSError):  # a read-only cache folder: the next one
            found = _extract(store, pub, root, name)
            if _intact(found, shas):
                return found
    raise OSError(f"cannot write the files of published {pub.month} v{pub.version} to "
                  f"{_cache_root(store)}")


def month_params(store: StoreLike | None, month: str, params: str | os.PathLike) -> Path:
    """The parameters folder a report of ``month`` uses: the one its latest published version
    was published with, else ``params``."""
    return params_of(store, latest(store, month), params)


def params_of(store: StoreLike | None, pub: Publication | None, params: str | os.PathLike) -> Path:
    """:func:`month_params` for the latest version ``pub`` already read (None: unpublished)."""
    return params_in(folder(store, pub) if pub is not None else None, pub, params)


def params_in(kept: Path | None, pub: Publication | None, params: str | os.PathLike) -> Path:
    """The parameters folder of ``pub`` in its kept files ``kept`` (:func:`folder`), else
    ``params`` — with a warning when a published version kept none."""
    if pub is None:
        return Path(params)
    if kept is None or not (kept / PARAMETERS).is_dir():
        log.warning("published %s v%d kept no parameters files (published before perfkit kept "
                    "them): its reports use the current ones, %s", pub.month, pub.version, params)
        return Path(params)
    return kept / PARAMETERS


def notebook_in(kept: Path | None, role: str, notebook: Path) -> Path:
    """The ``role`` notebook of a published version's kept files ``kept`` (:func:`folder`), else
    ``notebook``."""
    path = kept / NOTEBOOKS / f"{role}.ipynb" if kept is not None else None
    return path if path is not None and path.is_file() else notebook
