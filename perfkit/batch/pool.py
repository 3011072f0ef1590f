"""A pool of local worker processes that are recycled: the ``local`` executor's engine room.

``concurrent.futures.ProcessPoolExecutor`` cannot replace a worker safely on Python 3.11
(``max_tasks_per_child`` deadlocks) and breaks the whole pool when one worker dies. Here the parent
owns every worker (``spawn``ed, one job at a time over a pipe) and:

- replaces a worker after ``max_jobs`` jobs, or when the worker reports more than ``max_rss`` bytes
  resident after a job (its fork server and kernels go with it);
- replaces a worker that died (killed, out of memory): only the job it was running fails, with a
  ``worker`` error; the other jobs go on. Workers that keep dying before finishing any job stop the
  run (every remaining job fails with the reason) instead of being restarted forever;
- on Ctrl-C (KeyboardInterrupt in the parent) sends SIGTERM to every worker (each kills its kernels
  and temporary files), waits, and re-raises.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger(__name__)

#: workers in a row that die before finishing a job before the pool gives up
MAX_EARLY_DEATHS = 3


def _worker_main(conn: Connection, initializer: Callable[..., None] | None,
                 initargs: tuple[Any, ...], func: Callable[..., Any]) -> None:
    """In the worker: run ``func(*args)`` for every ``args`` received; reply ``(result, rss)``;
    stop on ``None`` or when the parent is gone."""
    from perfkit.batch.forkserver import memory_of

    if initializer is not None:
        initializer(*initargs)
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            try:
                result: Any = ("ok", func(*msg))
            except Exception as exc:  # noqa: BLE001 - sent to the parent as the job's failure
                result = ("error", exc)
            try:
                conn.send((result, memory_of(os.getpid())))
            except (OSError, ValueError):  # the parent is gone, or the error does not pickle
                if result[0] == "ok":
                    break
                conn.send((("error", RuntimeError(repr(result[1]))), memory_of(os.getpid())))
    finally:
        from perfkit.batch import forkserver

        if forkserver._SERVER is not None:  # noqa: SLF001 - this process's own server
            forkserver._SERVER.close()  # noqa: SLF001


class _Worker:
    def __init__(self, ctx: Any, initializer: Any, initargs: tuple[Any, ...], func: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, initializer, initargs, func),
                                name="perfkit-worker")
        self.proc.start()
        child.close()
        self.job: Any = None  # the job in flight
        self.done = 0  # jobs finished

    def stop(self, timeout: float = 30) -> None:
        """Ask the worker to exit (it closes its fork server); kill it if it does not."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class RecyclingPool:
    """Run ``func(job, *args)`` for each job on ``workers`` local processes; see the module
    docstring. ``on_result(job, result)`` is called in this process as each job finishes; a job
    whose worker raised or died gets ``on_error(job, exception)`` instead."""

    def __init__(self, workers: int, func: Callable[..., Any], *,
                 initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                 max_jobs: int = 0, max_rss: int = 0) -> None:
        self.workers, self.func = max(1, workers), func
        self.initializer, self.initargs = initializer, initargs
        self.max_jobs, self.max_rss = max_jobs, max_rss
        self.ctx = mp.get_context("spawn")
        self.started = 0  # worker processes started (replacements included)
        self.recycled = 0  # workers replaced after max_jobs or above max_rss

    def _start(self) -> _Worker:
        self.started += 1
        return _Worker(self.ctx, self.initializer, self.initargs, self.func)

    def _reason(self, w: _Worker, rss: int) -> str | None:
        if self.max_jobs and w.done >= self.max_jobs:
            return f"{w.done} jobs done"
        if self.max_rss and rss > self.max_rss:
            return f"{rss / 2**20:.0f} MB resident"
        return None

    def run(self, jobs: Sequence[Any], args: tuple[Any, ...],
            on_result: Callable[[Any, Any], None],
            on_error: Callable[[Any, BaseException], None]) -> None:
        todo = deque(jobs)
        pool: list[_Worker] = [self._start() for _ in range(min(self.workers, len(todo)))]
        early_deaths = 0
        try:
            while pool:
                for w in list(pool):
                    if w.job is None and todo:
                        w.job = todo.popleft()
                        with contextlib.suppress(OSError, ValueError):  # dead: see its sentinel
                            w.conn.send((w.job, *args))
                    elif w.job is None:  # nothing left to give it
                        w.stop()
                        pool.remove(w)
                if not pool:
                    break
                busy = [w.conn for w in pool if w.job is not None]
                ready = set(wait(busy + [w.proc.sentinel for w in pool]))
                for w in list(pool):
                    if w.job is not None and w.conn in ready:
                        try:
                            (kind, value), rss = w.conn.recv()
                        except (EOFError, OSError):
                            pass  # died while sending: handled with the sentinel
                        else:
                            job, w.job = w.job, None
                            w.done += 1
                            early_deaths = 0
                            (on_result if kind == "ok" else on_error)(job, value)
                            reason = self._reason(w, rss)
                            if reason is not None:
                                log.info("recycling worker %s: %s", w.proc.pid, reason)
                                self.recycled += 1
                                w.stop()
                                pool.remove(w)
                                if todo:
                                    pool.append(self._start())
                                continue
                    if w.proc.sentinel in ready or not w.proc.is_alive():
                        w.proc.join(1)
                        if w.proc.is_alive():
                            continue
                        code = w.proc.exitcode
                        pool.remove(w)
                        w.conn.close()
                        if w.job is not None:
                            log.warning("worker %s died (exit code %s) running %s", w.proc.pid,
                                        code, getattr(w.job, "key", w.job))
                            on_error(w.job, RuntimeError(
                                f"worker process {w.proc.pid} died (exit code {code}) while "
                                "running this job"))
                            w.job = None
                        if w.done == 0:
                            early_deaths += 1
                        if early_deaths > MAX_EARLY_DEATHS:
                            exc = RuntimeError(f"{early_deaths} worker processes in a row died "
                                               f"before finishing a job (last exit code {code})")
                            while todo:
                                on_error(todo.popleft(), exc)
                        if todo and len(pool) < self.workers:
                            pool.append(self._start())
        except BaseException:
            self.terminate(pool)
            raise

    @staticmethod
    def terminate(pool: list[_Worker]) -> None:
        """SIGTERM every worker (it kills its kernels and temporary files), then wait; SIGKILL
        what is left."""
        for w in pool:
            with contextlib.suppress(Exception):
                w.proc.terminate()
        for w in pool:
            w.proc.join(10)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            with contextlib.suppress(Exception):
                w.conn.close()
