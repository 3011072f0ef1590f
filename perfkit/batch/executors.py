"""Executors: where jobs run. A registry, so a faster executor can replace these later.

- ``local``: a pool of ``spawn``ed worker processes on this machine (default; ``workers`` = cores).
- ``dask``: a Dask distributed cluster (``--scheduler tcp://host:8786``). Workers need perfkit
  installed and the same paths to the store, the parameters, the notebooks and the output folder.

With the ``perfkit`` engine each local worker starts its fork server when it starts; a Dask worker
process creates its fork server on its first job (a module-level singleton,
:func:`perfkit.batch.forkserver.get_server`). Either way the fork server is replaced after
``recycle_after`` kernels or above ``recycle_mb`` (server and worker together). Local worker
processes are themselves replaced after ``recycle_after`` jobs or above ``recycle_mb`` resident
(:mod:`perfkit.batch.pool`; the exporter runs in them), and a local worker that dies fails only the
job it was running. Dask workers are Dask's to recycle (``dask worker --lifetime``).

``executor.run(jobs, opts, on_result)`` calls ``on_result(job, record)`` in the calling process as
each job finishes. On Ctrl-C (KeyboardInterrupt) it stops what is running and re-raises.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from perfkit.batch.execute import (
    ExecOptions,
    _error,
    execute_job,
    now,
    worker_init,
    worker_init_fast,
)
from perfkit.batch.plan import Job, file_stem
from perfkit.batch.pool import RecyclingPool
from perfkit.errors import RequestError

log = logging.getLogger(__name__)

OnResult = Callable[[Job, dict[str, Any]], None]


class Executor(Protocol):
    name: str

    def run(self, jobs: Sequence[Job], opts: ExecOptions, on_result: OnResult) -> None: ...


def crashed(job: Job, exc: BaseException) -> dict[str, Any]:
    """Result record of a job whose worker was lost (the job itself never reported)."""
    return {"key": job.key, "status": "failed", "error": _error("worker", exc), "attempts": 1,
            "started_at": None, "finished_at": now(), "seconds": None, "output": None,
            "executed_notebook": None, "worker": None}


def default_workers() -> int:
    """CPU cores available to this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalPool:
    """Worker processes on this machine (:class:`perfkit.batch.pool.RecyclingPool`): a worker is
    replaced after ``recycle_after`` jobs or above ``recycle_mb``, a worker that dies fails only its
    job; Ctrl-C terminates them, and each kills its kernels."""

    name = "local"

    def __init__(self, workers: int | None = None, **_: Any) -> None:
        self.workers = workers or default_workers()
        self.pool: RecyclingPool | None = None  # the last run's pool (its counters)

    def run(self, jobs: Sequence[Job], opts: ExecOptions, on_result: OnResult) -> None:
        if not jobs:
            return
        extra: dict[str, Any] = {"initializer": worker_init}
        if opts.engine == "perfkit":  # a fork server per worker, started with the worker
            extra = {"initializer": worker_init_fast, "initargs": (opts,)}
        self.pool = RecyclingPool(min(self.workers, len(jobs)), execute_job,
                                  max_jobs=opts.recycle_after,
                                  max_rss=int(opts.recycle_mb * 2**20), **extra)
        self.pool.run(jobs, (opts,), on_result,
                      lambda job, exc: on_result(job, crashed(job, exc)))


class DaskCluster:
    """Jobs as tasks on a Dask distributed cluster (``address`` or an existing ``Client``)."""

    name = "dask"

    def __init__(self, scheduler: Any = None, workers: int | None = None) -> None:
        self.scheduler = scheduler  # None: a LocalCluster that Dask starts for this run

    def run(self, jobs: Sequence[Job], opts: ExecOptions, on_result: OnResult) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise RequestError(
                "--scheduler needs Dask distributed: pip install 'dask[distributed]'"
            ) from None
        own = not isinstance(self.scheduler, Client)
        try:
            client = Client(self.scheduler, set_as_default=False, timeout=30) if own else self.scheduler
        except (OSError, TimeoutError) as exc:
            raise RequestError(f"cannot reach the Dask scheduler {self.scheduler}: {exc}") from None
        tag = uuid.uuid4().hex[:8]
        futures = {
            client.submit(execute_job, job, opts, pure=False, retries=0,
                          key=f"perfkit-{job.month}-{job.role}-{file_stem(job.entity_id)}-{tag}"): job
            for job in jobs
        }
        try:
            for fut in as_completed(list(futures), loop=client.loop):
                job = futures[fut]
                try:
                    record = fut.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, cancelled …
                    record = crashed(job, exc)
                on_result(job, record)
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(list(futures))
            raise
        finally:
            if own:
                client.close()


_EXECUTORS: dict[str, Callable[..., Executor]] = {"local": LocalPool, "dask": DaskCluster}


def register(name: str, factory: Callable[..., Executor]) -> None:
    """Register an executor factory under ``name``; it is called as ``factory(workers=N)``."""
    _EXECUTORS[name] = factory


def get_executor(scheduler: Any = None, workers: int | None = None) -> Executor:
    """``None`` / ``"local"`` → :class:`LocalPool`; an address (``tcp://…``) or a Dask ``Client`` →
    :class:`DaskCluster`; another registered name → that executor. The error lists the known ones."""
    if scheduler is None or scheduler == "local":
        return LocalPool(workers)
    if not isinstance(scheduler, str) or "://" in scheduler:
        return DaskCluster(scheduler)
    if scheduler in _EXECUTORS:
        return _EXECUTORS[scheduler](workers=workers)
    raise RequestError(f"unknown scheduler {scheduler!r}; give an address like tcp://host:8786 "
                       f"or one of: {', '.join(_EXECUTORS)}")
