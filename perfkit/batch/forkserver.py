"""The fork server's client: :class:`ForkServer` starts one fork server process
(:mod:`perfkit.batch.forkproc`: the heavy imports done once, a new kernel forked per notebook) and
asks it for kernels; :func:`get_server` keeps one per process (a batch worker or a Dask worker
process), created lazily. Used by :mod:`perfkit.batch.engine`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

from perfkit.batch.forkproc import (  # noqa: F401 - the names callers import from here
    INLINE_BACKEND,
    KERNEL_DIR_PREFIX,
    ensure_importable,
    remove_stale_kernel_dirs,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------ the client
class ForkServerError(RuntimeError):
    """The fork server could not start or answer; the message says why."""


class ForkServer:
    """Client of one fork server process, started on first use.

    ``max_kernels``: the server is replaced after serving that many kernels (0: never);
    ``max_memory``: ... or when it and this process together hold more than that many resident bytes
    (0: never); checked by :meth:`maybe_recycle` after each notebook. Thread-safe:
    requests from several threads (a Dask worker with threads) are served one at a time.
    """

    def __init__(self, max_kernels: int = 500, max_memory: int = 2 << 30,
                 start_timeout: float = 120) -> None:
        self.max_kernels, self.max_memory, self.start_timeout = max_kernels, max_memory, start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.served = 0  # kernels handed out by the current server
        self.generation = 0  # servers started so far
        self._buf = b""
        self._preloaded: dict[str, int] = {}  # snapshot → bytes the current server holds
        self._lock = threading.RLock()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> None:
        """Start the server (if not running) and wait until it has imported the heavy modules."""
        with self._lock:
            if self.pid is not None:
                return
            self.close()
            ensure_importable()
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "perfkit.batch.forkproc"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
                env={**os.environ, "MPLBACKEND": os.environ.get("MPLBACKEND", INLINE_BACKEND)},
            )
            self._buf = b""
            self.served = 0
            self._preloaded = {}
            self.generation += 1
            hello = self._read(self.start_timeout)
            if hello.get("threads", 1) != 1:
                log.warning("fork server %s has %s threads after its imports; forking it is unsafe",
                            self.proc.pid, hello["threads"])
            if hello.get("preload_failed"):
                log.info("fork server could not preload %s", ", ".join(hello["preload_failed"]))
            log.info("fork server %s ready in %.2fs", self.proc.pid, time.perf_counter() - t0)

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                pid = self.proc.pid
                self.close()
                raise ForkServerError(f"fork server {pid} did not answer in {timeout:.0f}s")
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.poll()
                self.close()
                raise ForkServerError(f"fork server exited (code {code})")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def _ask(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise ForkServerError(f"fork server is gone ({exc})") from None
        return self._read(timeout)

    def kernel(self, cwd: str, env: dict[str, str], argv: list[str],
               timeout: float = 60) -> tuple[int, dict[str, Any]]:
        """A new kernel process: ``(pid, connection info)``. A server that died is restarted once."""
        req = {"op": "kernel", "cwd": cwd, "env": env, "argv": argv, "timeout": timeout}
        with self._lock:
            for attempt in (1, 2):
                self.start()
                try:
                    reply = self._ask(req, timeout + 5)
                except ForkServerError:
                    if attempt == 2:
                        raise
                    log.warning("fork server lost; starting a new one")
                    continue
                break
            if "error" in reply:
                raise ForkServerError(f"fork server could not start a kernel: {reply['error']}")
            self.served += 1
            return int(reply["pid"]), reply["connection"]

    def preload(self, snapshot: str) -> int:
        """Have the server hold the month snapshot at ``snapshot`` in memory (once per server;
        see the module docstring); bytes held, 0 when it is too big. Errors are logged, not
        raised: the kernels then read the files."""
        with self._lock:
            self.start()
            if snapshot in self._preloaded:
                return self._preloaded[snapshot]
            try:
                reply = self._ask({"op": "preload", "snapshot": snapshot}, 120)
            except ForkServerError as exc:
                log.warning("fork server could not preload %s: %s", snapshot, exc)
                return 0
            if "error" in reply:
                log.warning("fork server could not preload %s: %s", snapshot, reply["error"])
            held = int(reply.get("bytes", 0))
            self._preloaded[snapshot] = held
            log.info("fork server %s holds snapshot %s (%d MB)", self.pid, snapshot, held >> 20)
            return held

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self.start()
            return self._ask({"op": "stats"}, 10)

    def maybe_recycle(self) -> bool:
        """Replace the server (on next use) after ``max_kernels`` kernels or above ``max_memory``;
        True when it was stopped."""
        with self._lock:
            if self.pid is None:
                return False
            reason = None
            if self.max_kernels and self.served >= self.max_kernels:
                reason = f"{self.served} kernels served"
            elif self.max_memory:
                rss = memory_of(self.proc.pid) + memory_of(os.getpid())  # type: ignore[union-attr]
                if rss > self.max_memory:
                    reason = f"{rss / 2**20:.0f} MB resident (server and worker)"
            if reason is None:
                return False
            log.info("recycling fork server %s: %s", self.pid, reason)
            self.close()
            return True

    def close(self) -> None:
        """Stop the server and its spare kernel (kernels in use die with it: PDEATHSIG)."""
        with self._lock:
            proc, self.proc = self.proc, None
            if proc is None:
                return
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            with contextlib.suppress(OSError):
                proc.stdout.close()  # type: ignore[union-attr]


_SERVER: ForkServer | None = None
_SERVER_LOCK = threading.Lock()


def memory_of(pid: int) -> int:
    """Resident bytes of process ``pid`` (0 when it is gone)."""
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def get_server() -> ForkServer:
    """This process's fork server (created on first use; one per batch worker or Dask worker)."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None:
            _SERVER = ForkServer()
            import atexit

            atexit.register(_SERVER.close)
        return _SERVER
