"""``perfkit init DIR``: write a new perfkit project — the firm's own copy of the parameters and
notebooks perfkit was installed with, empty ``data/`` and ``output/`` (git-ignored), a
``.gitignore``, a README for the firm's analysts and ``perfkit.yaml``, the marker every command
finds its project by (:mod:`perfkit.projectfile`).

Nothing is written into a folder that is not empty unless ``force``; then only the files init
owns are written and a file already there is kept (a firm's parameters are never overwritten).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from perfkit.errors import RequestError
from perfkit.files import atomic_path
from perfkit.projectfile import DEFAULTS, MARKER, installed_defaults
from perfkit.version import __version__

log = logging.getLogger(__name__)

#: What init copies from the installed defaults (folder → which files).
COPIED = {"parameters": ("*.yaml", "measures/*.sql"), "notebooks": ("*.ipynb",)}

GITIGNORE = """\
# perfkit: the store and the reports are data, not source
/data/
/output/
.ipynb_checkpoints/
__pycache__/
*.wal
"""

README = """\
# {name} — perfkit project (客户管理绩效考核)

The firm's own parameters and notebooks for perfkit {version}'s monthly appraisal reports.

| folder | holds | in git |
|---|---|---|
| `parameters/` | indicators, measures, tasks, scorecard, appraisal, levels, pay, import mapping, run matrix | yes |
| `notebooks/` | the company, branch and employee report notebooks, `whatif.ipynb` (方案对比), `explore.ipynb` | yes |
| `data/` | the DuckDB store (`crm.duckdb`) | no |
| `output/` | the reports of each month (`output/<month>/index.html`) | no |

Every `perfkit` command run in this folder or below it works on this project (`perfkit.yaml`
says where the store, parameters, notebooks and output are).

```bash
perfkit import exports/ --mapping hs_crm     # load the CRM's exports into data/crm.duckdb
perfkit check                                # validate the parameters (and, after an upgrade,
                                             # list how they differ from perfkit's defaults)
perfkit run                                  # every report of the latest complete month
perfkit lab                                  # JupyterLab on notebooks/ against the store
```

Try it first on synthetic data: `perfkit demo` writes a demo store to `data/crm.duckdb`.
"""


def marker_text(version: str) -> str:
    """The ``perfkit.yaml`` init writes: every field with its default, commented."""
    lines = [
        "# perfkit project: commands run in this folder or below it use these paths",
        "# (relative to this folder). `perfkit check` compares parameters/ with the defaults",
        "# of the installed perfkit, so an upgrade never silently ignores a setting.",
        f"perfkit_version: {version!r}   # the perfkit this project was made with",
    ]
    lines += [f"{key}: {value}" for key, value in DEFAULTS.items()]
    return "\n".join(lines) + "\n"


def _files(source: Path) -> list[Path]:
    found: list[Path] = []
    for folder, patterns in COPIED.items():
        for pattern in patterns:
            found += sorted((source / folder).glob(pattern))
    return found


def init_project(target: str | os.PathLike, *, force: bool = False) -> list[Path]:
    """Write a perfkit project into ``target`` (created if missing); return the files written.

    Raises :class:`RequestError` when ``target`` is a file, or a folder that is not empty and
    ``force`` is not set."""
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise RequestError(f"{target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise RequestError(f"{target} is not empty; perfkit init writes a new project into an "
                           "empty or new folder (--force: add the missing project files, keep "
                           "every file already there)")
    source = installed_defaults()
    planned: dict[Path, bytes] = {p.relative_to(source): p.read_bytes() for p in _files(source)}
    if not planned:
        raise RequestError(f"no default parameters or notebooks under {source}")
    planned[Path(MARKER)] = marker_text(__version__).encode()
    planned[Path(".gitignore")] = GITIGNORE.encode()
    planned[Path("README.md")] = README.format(name=target.name, version=__version__).encode()
    written = []
    for rel, content in planned.items():
        path = target / rel
        if path.exists():
            log.info("kept %s (already there)", path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(content)
        written.append(path)
    for folder in ("data", "output"):
        (target / folder).mkdir(exist_ok=True)
    log.info("wrote %d files into %s", len(written), target)
    return written

