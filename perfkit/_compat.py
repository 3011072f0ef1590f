"""The module paths of perfkit 0.1's flat layout, kept importable for one release.

``from perfkit.views import EmployeeReport`` or ``from perfkit.scorecard import scores`` still
work: importing an old path gives a stand-in module whose attributes are looked up, on use, in the
modules that own them now (:data:`MOVED`), and warns once (DeprecationWarning) naming them. Not
kept: ``perfkit.indicators``, ``perfkit.tasks`` and ``perfkit.check``, whose names are the public
functions (``from perfkit import indicators``); importing a module under those names would replace
the function on the package.

Remove this module (and its ``install()`` in ``perfkit/__init__.py``) in the release after 0.2.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from importlib import import_module
from typing import Any

#: old module → the modules that own its names now (searched in order)
MOVED: dict[str, tuple[str, ...]] = {
    "perfkit.schema": ("perfkit.data.schema",),
    "perfkit.store": ("perfkit.data.store",),
    "perfkit.readers": ("perfkit.data.readers",),
    "perfkit.mapping": ("perfkit.data.mapping",),
    "perfkit.importer": ("perfkit.data.importer", "perfkit.data.checks"),
    "perfkit.demo": ("perfkit.data.demo.generator",),
    "perfkit.output": ("perfkit.files",),
    "perfkit.catalog": ("perfkit.metrics.catalog",),
    "perfkit.effective": ("perfkit.metrics.effective",),
    "perfkit.measures": ("perfkit.metrics.measures", "perfkit.metrics.months"),
    "perfkit.tables": ("perfkit.metrics.tables",),
    "perfkit.methods": ("perfkit.appraisal.methods",),
    "perfkit.scorecard": ("perfkit.appraisal.scorecard", "perfkit.appraisal.spec",
                          "perfkit.appraisal.scoring", "perfkit.appraisal.grades",
                          "perfkit.appraisal.ability", "perfkit.appraisal.deductions",
                          "perfkit.metrics.targets"),
    "perfkit.weights": ("perfkit.appraisal.weights",),
    "perfkit.derive": ("perfkit.appraisal.derive",),
    "perfkit.appraisal_views": ("perfkit.report.appraisal_sections",),
    "perfkit.advisor": ("perfkit.appraisal.advisor", "perfkit.appraisal.options"),
    "perfkit.rfm": ("perfkit.appraisal.rfm", "perfkit.appraisal.options"),
    "perfkit.levels": ("perfkit.appraisal.levels", "perfkit.appraisal.level_rules"),
    "perfkit.pay": ("perfkit.appraisal.pay", "perfkit.appraisal.pay_rules"),
    "perfkit.snapshot": ("perfkit.month.frames", "perfkit.month.snapshot", "perfkit.month.build",
                         "perfkit.month.sources"),
    "perfkit.publish": ("perfkit.month.publish", "perfkit.month.published"),
    "perfkit.views": ("perfkit.report.company", "perfkit.report.branch", "perfkit.report.employee",
                      "perfkit.report.base", "perfkit.report.sections",
                      "perfkit.report.levels_pay", "perfkit.formatting"),
    "perfkit.charts": ("perfkit.report.charts", "perfkit.formatting"),
    "perfkit.widgets": ("perfkit.report.widgets",),
    "perfkit.html": ("perfkit.report.export", "perfkit.report.bundle", "perfkit.report.fonts"),
    "perfkit.render": ("perfkit.batch.render",),
}


class _Moved(types.ModuleType):
    """A stand-in for an old module: attributes come from the modules that own them now."""

    def __init__(self, name: str, owners: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved: use {', '.join(owners)}.")
        self._owners = owners

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        for owner in self._owners:
            module = import_module(owner)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(self._owners)}) has "
                             f"no attribute {attr!r}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the names of :data:`MOVED` and nothing else."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        owners = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {', '.join(owners)}; the old path goes in the next "
                      "release", DeprecationWarning, stacklevel=2)
        return _Moved(spec.name, owners)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the stand-in looks its names up on use."""


def install() -> None:
    """Serve the old paths (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
