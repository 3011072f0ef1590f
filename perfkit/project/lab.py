"""``perfkit lab``: JupyterLab on the project's notebooks with the project's store set
(``$PERFKIT_DB``, ``$PERFKIT_PROJECT``), so a notebook opened there reads the same data and
parameters as ``perfkit run``. As root (a container) it passes ``--allow-root``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from perfkit.projectfile import Project, require_project


def lab_command(project: Project, extra: Sequence[str] = ()) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command line and environment for ``project``."""
    argv = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={project.notebooks}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        argv.append("--allow-root")
    store = Path(os.environ["PERFKIT_DB"]).resolve() if os.environ.get("PERFKIT_DB") \
        else project.store  # absolute: the kernels run in notebooks/
    env = {**os.environ, "PERFKIT_DB": str(store), "PERFKIT_PROJECT": str(project.root)}
    return [*argv, *extra], env


def lab(extra: Sequence[str] = ()) -> int:
    """Run JupyterLab for the current project until it exits; its exit code. On POSIX this process
    becomes JupyterLab (exec), so a signal that stops ``perfkit lab`` stops JupyterLab too, instead of
    leaving it running orphaned."""
    project = require_project()
    argv, env = lab_command(project, extra)
    if os.name != "posix":
        return subprocess.call(argv, env=env, cwd=str(project.notebooks))
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(project.notebooks)
    os.execve(argv[0], argv, env)  # does not return
