"""Content digests: what a computed result depends on, hashed, so a stale result is never reused.

- :func:`sha256_file`, :func:`sha256_json` — a file's bytes, a value as canonical JSON;
- :func:`perfkit_fingerprint` — the installed version plus a digest of perfkit's own source files;
- :func:`parameter_files` — a digest of every parameters file that shapes what a report shows.

The store's side, the month's contents, is :func:`perfkit.data.store.store_fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

PARAMETER_SUFFIXES = (".yaml", ".yml", ".sql", ".csv", ".json")
#: Parameters files that never change what a report shows: the run matrix and the import mappings.
NOT_REPORT_INPUTS = ("run.yaml", "import.yaml", "delivery.yaml")
#: Subpackages whose code does not shape a report's content (how reports are run, sent, checked
#: and asked for): left out of :func:`perfkit_fingerprint`, so editing them re-renders nothing.
NOT_REPORT_CODE = ("batch", "cli", "project", "delivery")

PACKAGE = Path(__file__).resolve().parent


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_json(value: object) -> str:
    """Hex sha256 of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def perfkit_fingerprint() -> str:
    """``<version>+<12 hex>``: the installed perfkit version plus a digest of its source files
    (modules, templates …; not :data:`NOT_REPORT_CODE`), so that editing indicator or view code
    makes reports rerun even without a version bump."""
    try:
        from importlib.metadata import version

        ver = version("perfkit")
    except Exception:  # noqa: BLE001 - running from a checkout that is not installed
        ver = "unknown"
    h = hashlib.sha256()
    for p in sorted(PACKAGE.rglob("*")):
        rel = p.relative_to(PACKAGE)
        if p.is_file() and rel.parts[0] not in NOT_REPORT_CODE and "__pycache__" not in rel.parts \
                and p.suffix not in (".pyc", ".tmp"):
            h.update(rel.as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return f"{ver}+{h.hexdigest()[:12]}"


def parameter_files(params: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every parameters file that shapes report content.

    ``run.yaml``, ``import.yaml`` and ``delivery.yaml`` are left out: they say what to render, how to
    import and whom to send, not what a report shows. Hidden files and editor back-ups are ignored. A missing folder gives an
    empty mapping.
    """
    root = Path(params)
    if not root.is_dir():
        return {}
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if (
            p.is_file()
            and p.suffix.lower() in PARAMETER_SUFFIXES
            and rel not in NOT_REPORT_INPUTS
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ):
            out[rel] = sha256_file(p)
    return out
