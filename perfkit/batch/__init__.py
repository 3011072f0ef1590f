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

from perfkit.batch.config import RunConfig, load_run_config
from perfkit.batch.plan import Job
from perfkit.batch.runner import RunSummary, plan_jobs, run

__all__ = ["Job", "RunConfig", "RunSummary", "load_run_config", "plan_jobs", "run"]
