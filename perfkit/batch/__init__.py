"""The monthly batch (``perfkit run``): every report of a month, in parallel, resumable.

One job per (month, role, entity): papermill executes the role notebook with its parameters, an
exporter (default :func:`perfkit.report.export.export`) writes one HTML file. Output goes to
``<out>/<month>/`` with ``manifest.json``, ``index.html`` and ``distribution.csv``.

Modules: ``config`` (run.yaml), ``plan`` (entities, jobs, paths), ``fingerprint``, ``execute`` (one
job in a worker), ``executors`` (local pool, Dask), ``manifest``, ``index`` (index page and
distribution list), ``progress``, ``runner`` (:func:`run`), ``cli`` (:func:`add_cli`).
"""

from perfkit.batch.cli import add_cli
from perfkit.batch.config import RunConfig, load_run_config
from perfkit.batch.plan import Job
from perfkit.batch.runner import RunSummary, plan_jobs, run

__all__ = ["Job", "RunConfig", "RunSummary", "add_cli", "load_run_config", "plan_jobs", "run"]
