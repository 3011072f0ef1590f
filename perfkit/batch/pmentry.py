"""The ``papermill.engine`` entry point (``perfkit``): a light stand-in for
:class:`perfkit.batch.engine.PerfkitEngine`.

papermill loads every registered engine while it is imported, and :mod:`perfkit.batch.engine`
imports papermill: pointing the entry point at it directly would be a circular import. This class
forwards papermill's three class-method calls to the real engine, imported on first use.
"""

from __future__ import annotations

from typing import Any


def _engine() -> Any:
    from perfkit.batch.engine import PerfkitEngine

    return PerfkitEngine


class PerfkitEngine:
    """papermill engine ``perfkit`` (see :mod:`perfkit.batch.engine`)."""

    @classmethod
    def execute_notebook(cls, *args: Any, **kwargs: Any) -> Any:
        return _engine().execute_notebook(*args, **kwargs)

    @classmethod
    def nb_kernel_name(cls, *args: Any, **kwargs: Any) -> Any:
        return _engine().nb_kernel_name(*args, **kwargs)

    @classmethod
    def nb_language(cls, *args: Any, **kwargs: Any) -> Any:
        return _engine().nb_language(*args, **kwargs)
