"""perfkit — CRM performance-appraisal (客户管理绩效考核) reports for a securities brokerage.

The public API, each returning pandas DataFrames (``store`` is a DuckDB path or open connection):

- :func:`indicators` — indicator values at company / branch / employee grain
- :func:`tasks` — the client-level task list behind the values (masked)
- :func:`stat_tables` — the statistical tables (查看报表)
- :func:`scores`, :func:`breakdown` — scorecard: composite, grade, stars; points per indicator
- :func:`check` — validate the parameters files
- :func:`compare` — a month under two parameter versions side by side (what-if)
- :func:`load_catalog`, :func:`load_scorecard` — the parameters as typed models
- :func:`create_store`, :func:`open_store`, :func:`generate_demo`, :func:`import_paths` — a store
- :func:`run` — every report of a month (one report: :func:`perfkit.batch.render.render`)
- :func:`deliver` — e-mail every recipient his own reports of the month
- :func:`init_project` — write a new perfkit project (``perfkit init``)

Each name is imported on first use, so ``import perfkit`` stays fast (the CLI, kernels, workers).
The package's layers are its subpackages (docs/architecture.md). Module paths of perfkit 0.1's flat
layout (``perfkit.views``, ``perfkit.scorecard`` …) still import, with a DeprecationWarning, until
the next release (:mod:`perfkit._compat`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from perfkit import _compat
from perfkit.version import __version__

#: public name → (module, attribute)
_API: dict[str, tuple[str, str]] = {
    "breakdown": ("perfkit.appraisal.scorecard", "breakdown"),
    "check": ("perfkit.project.check", "check"),
    "compare": ("perfkit.month.compare", "compare"),
    "create_store": ("perfkit.data.store", "create_store"),
    "deliver": ("perfkit.delivery.runner", "deliver"),
    "init_project": ("perfkit.project.init", "init_project"),
    "generate_demo": ("perfkit.data.demo.generator", "generate"),
    "import_paths": ("perfkit.data.importer", "import_paths"),
    "indicators": ("perfkit.metrics.indicators", "indicators"),
    "load_catalog": ("perfkit.metrics.catalog", "load_catalog"),
    "load_scorecard": ("perfkit.appraisal.spec", "load_scorecard"),
    "open_store": ("perfkit.data.store", "open_store"),
    "run": ("perfkit.batch.runner", "run"),
    "scores": ("perfkit.appraisal.scorecard", "scores"),
    "stat_tables": ("perfkit.metrics.tables", "stat_tables"),
    "tasks": ("perfkit.metrics.tasks", "tasks"),
}

__all__ = ["__version__", *sorted(_API)]

_compat.install()


def __getattr__(name: str) -> Any:
    """The public function ``name``, imported on first use."""
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'perfkit' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
