"""One job, end to end, in a worker: papermill executes the role notebook, the exporter writes HTML.

Runs in a local worker process or on a Dask worker, so it never raises: it returns a result record
(status ``ok`` / ``failed``, error, seconds, output size and sha256). Every file is written to a
temporary name and renamed. A notebook that raises keeps its executed copy (with the error) and gets
no HTML; a stale HTML from an earlier run of the same job is removed so it cannot be sent by mistake.
Kernel start races (ZMQ ``Address already in use``) and dead kernels are retried ``retries`` times.

``engine``: ``perfkit`` (default) runs each notebook in a new kernel forked from this worker's fork
server (:mod:`perfkit.batch.engine`); ``fresh`` starts a kernel from scratch per notebook (papermill's
own engine), for comparison and debugging.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit.batch.export import Exporter, get_exporter
from perfkit.batch.forkserver import ForkServerError, ensure_importable, get_server
from perfkit.batch.plan import Job
from perfkit.digest import sha256_file
from perfkit.files import atomic_path

log = logging.getLogger(__name__)

KERNEL_NAME = "python3"
ENGINES = ("perfkit", "fresh")

# Temporary files of the job running in this process, removed if the worker is stopped.
_TEMPS: set[Path] = set()


@dataclass(frozen=True)
class ExecOptions:
    """How to run jobs. ``out_dir`` is the month folder (absolute); times are seconds."""

    out_dir: str
    exporter: str | Exporter | None = None
    assets: str = "inline"
    retries: int = 2
    start_timeout: float = 60
    cell_timeout: float | None = 600
    cwd: str | None = None  # kernel working folder; None = the notebook's folder
    engine: str = "perfkit"  # see ENGINES
    recycle_after: int = 200  # new local worker after this many jobs, new fork server after this
    recycle_mb: float = 2048  # many kernels (0: never); or above this many MB resident (worker;
    #                           fork server and worker together)


def now() -> str:
    """UTC timestamp, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def is_retryable(exc: BaseException) -> bool:
    """Kernel start races, dead kernels and a fork server that could not give a kernel — worth
    another attempt with a fresh kernel."""
    from nbclient.exceptions import DeadKernelError

    if isinstance(exc, DeadKernelError | ForkServerError):
        return True
    text = str(exc)
    if getattr(exc, "errno", None) == errno.EADDRINUSE or "Address already in use" in text:
        return True
    return isinstance(exc, RuntimeError) and (
        "Kernel died before replying" in text or "Kernel didn't respond" in text
    )


def _papermill(job: Job, out: Path, opts: ExecOptions) -> dict[str, Any] | None:
    """Execute once into ``out``; return an error record for a raising cell, else None."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    fast = opts.engine == "perfkit"
    cwd = opts.cwd or str(job.notebook.parent)
    extra: dict[str, Any] = {}
    if fast:
        server = configure_server(opts)
        if job.parameters.get("snapshot"):  # its kernels slice the month in memory
            server.preload(str(job.parameters["snapshot"]))
        # the kernel's folder given to nbclient, not read from this process's cwd (which papermill
        # changes, and which Dask worker threads share)
        extra["resources"] = {"metadata": {"path": cwd}}
    try:
        pm.execute_notebook(
            str(job.notebook),
            str(out),
            parameters=dict(job.parameters),
            engine_name="perfkit" if fast else None,
            request_save_on_cell_execute=not fast,  # fast: written once, at the end
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            cwd=cwd,
            start_timeout=opts.start_timeout,
            execution_timeout=opts.cell_timeout,
            # no start-up chatter per job; no input history (a SQLite file every kernel would open)
            extra_arguments=["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"],
            **extra,
        )
    except PapermillExecutionError as exc:
        return {
            "stage": "execute",
            "cell_index": _error_cell(out, exc.cell_index),
            "execution_count": exc.exec_count,
            "exception": exc.ename,
            "message": str(exc.evalue),
        }
    return None


def configure_server(opts: ExecOptions) -> Any:
    """This process's fork server with the recycling limits of ``opts``."""
    server = get_server()
    server.max_kernels = opts.recycle_after
    server.max_memory = int(opts.recycle_mb * 2**20)
    return server


def _error_cell(path: Path, fallback: int) -> int:
    """Index of the first cell with an error output in the saved executed notebook (papermill puts a
    banner cell on top, so its own index is one off); ``fallback`` when none is found."""
    import json

    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return fallback
    for i, cell in enumerate(cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return fallback


def _error(stage: str, exc: BaseException) -> dict[str, Any]:
    return {"stage": stage, "cell_index": None, "execution_count": None,
            "exception": type(exc).__name__, "message": str(exc)}


def execute_job(job: Job, opts: ExecOptions) -> dict[str, Any]:
    """Run ``job``; return its result record (never raises except on interruption)."""
    ensure_importable()
    t0 = time.perf_counter()
    started = now()
    month_dir = Path(opts.out_dir)
    nb_final, html_final = month_dir / job.executed, month_dir / job.html
    error: dict[str, Any] | None = None
    attempts = 0
    while True:
        attempts += 1
        try:
            with atomic_path(nb_final) as tmp:
                _TEMPS.add(tmp)
                error = _papermill(job, tmp, opts)  # a raising cell still keeps the notebook
                tmp.chmod(0o644)  # readable by others, like every report file
            break
        except Exception as exc:  # noqa: BLE001 - recorded in the manifest
            if is_retryable(exc) and attempts <= opts.retries:
                log.warning("%s: kernel problem (%s: %s), retry %d of %d", job.key,
                            type(exc).__name__, exc, attempts, opts.retries)
                time.sleep(0.5 * attempts + random.random())
                continue
            error = _error("kernel" if is_retryable(exc) else "execute", exc)
            nb_final.unlink(missing_ok=True)  # an executed notebook of an earlier run would mislead
            break
        finally:
            _TEMPS.clear()
    output = None
    if error is None:
        try:
            exporter = get_exporter(opts.exporter)
            meta = {  # keys as perfkit.report.export labels them (月份, 角色, 对象, 数据指纹)
                "month": job.month,
                "role": job.role,
                "entity": f"{job.entity.name}（{job.entity_id}）",
                "fingerprint": job.fingerprint[:12],
            }
            with atomic_path(html_final) as tmp:
                _TEMPS.add(tmp)
                exporter(
                    nb_final,
                    tmp,
                    title=job.title,
                    meta=meta,
                    assets=opts.assets,
                    assets_dir=month_dir / "assets" if opts.assets == "shared" else None,
                )
                tmp.chmod(0o644)
            output = {
                "path": job.html,
                "bytes": html_final.stat().st_size,
                "sha256": sha256_file(html_final),
            }
        except Exception as exc:  # noqa: BLE001 - recorded in the manifest
            error = _error("export", exc)
        finally:
            _TEMPS.clear()
    if error is not None:
        html_final.unlink(missing_ok=True)  # never leave an outdated report for a failed job
    return {
        "key": job.key,
        "status": "failed" if error else "ok",
        "error": error,
        "attempts": attempts,
        "started_at": started,
        "finished_at": now(),
        "seconds": round(time.perf_counter() - t0, 3),
        "output": output,
        "executed_notebook": job.executed if nb_final.exists() else None,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def kill_children() -> None:
    """Kill every process this process started (the kernels) and remove the running job's temporary
    files. Used when a worker is stopped."""
    import psutil

    with contextlib.suppress(psutil.Error):
        procs = psutil.Process().children(recursive=True)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(procs, timeout=5)
    for tmp in list(_TEMPS):
        tmp.unlink(missing_ok=True)


def _on_term(signum: int, frame: object) -> None:
    kill_children()
    os._exit(128 + signum)


def worker_init() -> None:
    """Initializer of local worker processes: Ctrl-C is handled by the parent only; SIGTERM (sent by
    the parent on Ctrl-C, or by the kernel when the parent dies) kills this worker's kernels first.

    It also keeps ``jsonschema`` from importing ``rfc3987_syntax`` (which builds a grammar for
    seconds at import, only to check IRI formats that notebook validation never uses)."""
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import → ImportError
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: parent gone → SIGTERM to us
        if os.getppid() == 1:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    ensure_importable()


def worker_init_fast(opts: ExecOptions) -> None:
    """:func:`worker_init`, then start this worker's fork server at once (its imports overlap the
    other workers'); a server that cannot start is reported by the first job instead."""
    worker_init()
    try:
        configure_server(opts).start()
    except Exception as exc:  # noqa: BLE001 - the jobs report it
        log.warning("fork server did not start: %s", exc)
