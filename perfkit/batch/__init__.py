"""The batch layer (``perfkit run``, ``perfkit render``): every report of a month, in parallel,
resumable.

One job per (month, role, entity): papermill executes the role notebook with its parameters, an
exporter (default :func:`perfkit.report.export.export`) writes one HTML file. Output goes to
``<out>/<month>/`` with ``manifest.json``, ``index.html`` and ``distribution.csv``.

Modules: ``config`` (run.yaml), ``plan`` (entities, jobs, paths), ``fingerprint`` (a job's inputs),
``execute`` (one job in a worker), ``forkserver`` and ``engine`` (kernels forked from a warm
process; ``pmentry`` is papermill's entry point to it), ``pool`` and ``executors`` (local pool,
Dask), ``export`` (the exporter registry), ``manifest``, ``index`` (index page and distribution
list), ``progress``, ``runner`` (:func:`run`) and ``render`` (one report, as the batch renders it).
"""

from importlib import import_module
from typing import Any

#: the batch's API → the module that owns it (imported on first use: ``python -m
#: perfkit.batch.forkproc`` and papermill's entry point import this package, and must not load the
#: whole batch, the fork server's own module among it)
_API = {"Job": "perfkit.batch.plan", "RunConfig": "perfkit.batch.config",
        "RunSummary": "perfkit.batch.runner", "load_run_config": "perfkit.batch.config",
        "plan_jobs": "perfkit.batch.runner", "run": "perfkit.batch.runner"}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    try:
        return getattr(import_module(_API[name]), name)
    except KeyError:
        raise AttributeError(f"module 'perfkit.batch' has no attribute {name!r}") from None
