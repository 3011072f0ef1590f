"""Build hooks: what a perfkit wheel carries so that it renders offline reports with no Node.js,
``node_modules`` or checkout — the way JupyterLab extension wheels carry their prebuilt JavaScript.

pyproject.toml registers :class:`BuildPy` and :class:`SDist` as setuptools commands. Building a
wheel (``pip wheel .``, ``python -m build``) runs ``npm ci`` when the pinned widget manager is not
in ``node_modules`` yet, then writes into the wheel's ``perfkit/`` (never into the source tree):

- ``report/assets/embed.js`` — ``@jupyter-widgets/html-manager``'s bundle, already patched by
  :func:`perfkit.report.bundle.patch_bundle`, with its licence texts and ``assets.json`` (package,
  pinned version, licence);
- ``defaults/parameters/`` and ``defaults/notebooks/`` — the top-level folders of the checkout,
  which ``perfkit init`` copies into a new project.

An editable install (``pip install -e .``) stages nothing: the checkout's ``node_modules``,
``parameters/`` and ``notebooks/`` are used in place. The sdist carries what the wheel build needs
(package.json, package-lock.json, parameters/, notebooks/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

PACKAGE = "@jupyter-widgets/html-manager"
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("company.ipynb", "branch.ipynb", "employee.ipynb", "explore.ipynb", "weights.ipynb",
             "whatif.ipynb")
SDIST_EXTRA = ("package.json", "package-lock.json")
SDIST_TREES = ("parameters", "notebooks")


def node_modules(root: Path = ROOT) -> Path:
    """The ``node_modules`` holding the widget manager; ``npm ci`` in ``root`` when it is missing."""
    env = os.environ.get("PERFKIT_NODE_MODULES")
    folder = Path(env) if env else root / "node_modules"
    if (folder / PACKAGE / "dist" / "embed.js").is_file():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"building perfkit's wheel needs {PACKAGE} (package-lock.json): no "
                         f"{folder / PACKAGE} and no npm on PATH; install Node.js or set "
                         "PERFKIT_NODE_MODULES to a node_modules that has it")
    print(f"perfkit: npm ci in {root} (the widget manager for offline reports)", flush=True)
    subprocess.run([npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=root, check=True)  # --omit=dev: not the tests' browser driver
    return folder


def stage(target: Path, root: Path = ROOT) -> None:
    """Write the patched widget bundle and the default parameters and notebooks under the
    ``perfkit`` package folder ``target``."""
    sys.path.insert(0, str(root))  # the hook runs in the build environment, perfkit not installed
    try:
        from perfkit.report.bundle import patch_bundle
    finally:
        sys.path.remove(str(root))
    package = node_modules(root) / PACKAGE
    dist = package / "dist"
    assets = target / "report" / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    js = patch_bundle((dist / "embed.js").read_text(encoding="utf-8"), dist)
    (assets / "embed.js").write_text(js, encoding="utf-8")
    meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    shutil.copyfile(dist / "embed.js.LICENSE.txt", assets / "embed.js.LICENSE.txt")
    fontawesome = package.parent.parent / "@fortawesome" / "fontawesome-free" / "LICENSE.txt"
    if fontawesome.is_file():
        shutil.copyfile(fontawesome, assets / "fontawesome-LICENSE.txt")
    (assets / "assets.json").write_text(json.dumps({
        "package": PACKAGE, "version": meta["version"], "license": meta.get("license"),
        "file": "embed.js", "patched": "perfkit.report.bundle.patch_bundle",
    }, indent=2) + "\n", encoding="utf-8")
    defaults = target / "defaults"
    if defaults.exists():
        shutil.rmtree(defaults)
    shutil.copytree(root / "parameters", defaults / "parameters")
    (defaults / "notebooks").mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copyfile(root / "notebooks" / name, defaults / "notebooks" / name)


class BuildPy(build_py):
    """``build_py`` that also stages the wheel's assets and defaults (not for an editable install)."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            stage(Path(self.build_lib) / "perfkit")


class SDist(sdist):
    """``sdist`` that also carries the npm lock files and the default parameters and notebooks, so
    a wheel built from it (``python -m build``) has what :func:`stage` reads."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        for name in SDIST_EXTRA:
            shutil.copyfile(ROOT / name, Path(base_dir) / name)
        for tree in SDIST_TREES:
            shutil.copytree(ROOT / tree, Path(base_dir) / tree, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
