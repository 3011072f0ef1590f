"""perfkit — CRM performance-appraisal (客户管理绩效考核) reports for a securities brokerage.

The public API, each returning pandas DataFrames (``store`` is a DuckDB path or open connection):

- :func:`indicators` — indicator values at company / branch / employee grain
- :func:`tasks` — the client-level task list behind the values (masked)
- :func:`stat_tables` — the statistical tables (查看报表)
- :func:`scores`, :func:`breakdown` — scorecard: composite, grade, stars; points per indicator
- :func:`check` — validate the parameters files
- :func:`generate_demo`, :func:`import_paths` — build a store
- :func:`run` — every report of a month (one report: :func:`perfkit.render.render`)

The data-layer functions are bound here at import; the heavier ones (batch, demo, import) are
imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Bound eagerly: several share their module's name (perfkit.metrics.indicators, perfkit.metrics.tasks,
# perfkit.check), and binding the function after the submodule is loaded keeps
# ``perfkit.indicators(...)`` a function whatever is imported later.
from perfkit.appraisal.scorecard import breakdown, scores
from perfkit.appraisal.spec import load_scorecard  # noqa: E402
from perfkit.check import check  # noqa: E402
from perfkit.data.store import create_store, open_store  # noqa: E402
from perfkit.metrics.catalog import load_catalog  # noqa: E402
from perfkit.metrics.indicators import indicators  # noqa: E402
from perfkit.metrics.tables import stat_tables  # noqa: E402
from perfkit.metrics.tasks import tasks  # noqa: E402

_EXPORTS = {
    "import_paths": "perfkit.data.importer",
    "run": "perfkit.batch",
}
_ALIASES = {"generate_demo": ("perfkit.data.demo", "generate")}

__all__ = [
    "__version__", "breakdown", "check", "create_store", "generate_demo", "import_paths",
    "indicators", "load_catalog", "load_scorecard", "open_store", "run", "scores", "stat_tables",
    "tasks",
]


def __getattr__(name: str) -> Any:
    """Import on first use, so ``import perfkit`` stays fast (the CLI, kernels, workers)."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _ALIASES:
        module, attr = _ALIASES[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'perfkit' has no attribute {name!r}")
