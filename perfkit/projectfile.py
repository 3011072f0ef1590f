"""Where a perfkit project is: the nearest folder holding ``perfkit.yaml``, found the way git finds
its repository, and the paths that file names (store, parameters, notebooks, output).

A perfkit source checkout (``pyproject.toml`` naming perfkit beside ``parameters/``) counts as a
project with the default layout, so ``make report`` and the tests need no marker file. Every path in
``perfkit.yaml`` is relative to the project's folder. ``$PERFKIT_PROJECT`` points at a project from
anywhere (as ``--project`` does on the command line).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from perfkit.errors import RequestError, SpecError
from perfkit.files import read_yaml

MARKER = "perfkit.yaml"
#: perfkit.yaml's fields and their defaults (paths relative to the project folder).
DEFAULTS: dict[str, str] = {
    "store": "data/crm.duckdb",
    "parameters": "parameters",
    "notebooks": "notebooks",
    "output": "output",
}
FIELDS = ("perfkit_version", *DEFAULTS)
NOT_IN_PROJECT = ("not inside a perfkit project (no perfkit.yaml in {here} or any parent folder); "
                  "create one with `perfkit init DIR`, or pass --project DIR")


@dataclass(frozen=True)
class Project:
    """A project folder and the absolute paths its ``perfkit.yaml`` gives."""

    root: Path
    store: Path
    parameters: Path
    notebooks: Path
    output: Path
    perfkit_version: str | None = None
    checkout: bool = False  # a perfkit source checkout, no perfkit.yaml


def _is_checkout(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    if not (pyproject.is_file() and (folder / "parameters").is_dir()):
        return False
    return re.search(r'(?m)^name\s*=\s*"perfkit"\s*$', pyproject.read_text(encoding="utf-8")) is not None


def load_project(root: str | os.PathLike) -> Project:
    """The project in ``root`` (which holds ``perfkit.yaml``, or is a perfkit checkout).

    Raises :class:`SpecError` naming the file and field for a malformed ``perfkit.yaml``,
    :class:`RequestError` when ``root`` is no project.
    """
    root = Path(root).resolve()
    marker = root / MARKER
    if not marker.is_file():
        if _is_checkout(root):
            return Project(root, *(root / v for v in DEFAULTS.values()), checkout=True)
        raise RequestError(f"{root} is not a perfkit project (it has no {MARKER}); "
                           "create one with `perfkit init DIR`")
    data = read_yaml(marker, required=False, expect="a mapping of settings at the top level") or {}
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SpecError(f"unknown field; allowed: {', '.join(FIELDS)}", file=str(marker),
                        field=unknown[0])
    paths = {}
    for key, default in DEFAULTS.items():
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"must be a path (got {value!r})", file=str(marker), field=key)
        paths[key] = (root / value).resolve()
    version = data.get("perfkit_version")
    return Project(root, **paths, perfkit_version=None if version is None else str(version))


def find_project(start: str | os.PathLike | None = None) -> Project | None:
    """The project of ``$PERFKIT_PROJECT``, else of ``start`` (default: the current folder) or its
    nearest parent that is one; ``None`` outside any project."""
    env = os.environ.get("PERFKIT_PROJECT")
    if env and start is None:
        return load_project(env)
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file() or _is_checkout(folder):
            return load_project(folder)
    return None


def require_project(start: str | os.PathLike | None = None) -> Project:
    """:func:`find_project`, or the one-line :class:`RequestError` that names ``perfkit init``."""
    project = find_project(start)
    if project is None:
        raise RequestError(NOT_IN_PROJECT.format(here=Path(start or Path.cwd()).resolve()))
    return project


def project_path(kind: str) -> Path:
    """The project's ``store``, ``parameters``, ``notebooks`` or ``output`` path (``$PERFKIT_DB``
    overrides the store); outside any project the one-line error of :func:`require_project`."""
    if kind == "store" and os.environ.get("PERFKIT_DB"):
        return Path(os.environ["PERFKIT_DB"])
    return getattr(require_project(), kind)


def find_params(params: str | os.PathLike | None = None) -> Path:
    """The parameters folder: ``params`` if given, else the project's (a notebook opened in the
    project's ``notebooks/`` finds it)."""
    return Path(params) if params is not None else project_path("parameters")


def installed_defaults() -> Path:
    """The folder holding the default ``parameters/`` and ``notebooks/`` perfkit was installed with:
    ``perfkit/defaults`` in a wheel, the checkout's top level in a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "defaults"
    if (packaged / "parameters").is_dir():
        return packaged
    if _is_checkout(here.parent):
        return here.parent
    raise RequestError(f"perfkit's default parameters are missing from {packaged}; "
                       "reinstall perfkit from its wheel")
