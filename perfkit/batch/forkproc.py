"""The fork server process: imports the heavy modules once and forks a brand-new kernel process per
notebook (its client is :mod:`perfkit.batch.forkserver`).

The server (``python -m perfkit.batch.forkproc``) imports pandas, numpy, duckdb, matplotlib (with the
kernel's inline backend), seaborn, ipywidgets, ipykernel and perfkit's reports, and nothing more: it
starts no thread, no ZMQ context and runs no notebook code, so a child forked from it is a clean
process. Each child becomes an ipykernel (``IPKernelApp`` binding random ports and writing its own
connection file) in the working folder and environment of the request. A kernel serves one
notebook and is killed after it, so notebook N+1 runs in a process that never saw notebook N:
isolation by construction. One spare kernel is forked ahead (for the same folder, environment and
arguments as the last request), so a request is answered with a kernel that is already listening.

Protocol: one JSON object per line on the server's stdin/stdout (the server moves them to other
descriptors at start and points fd 0 at /dev/null and fd 1 at stderr, which its kernels inherit).

- ``{"op": "kernel", "cwd": ..., "env": {...}, "argv": [...]}`` → ``{"pid": ..., "connection": {...}}``
  or ``{"error": "..."}``
- ``{"op": "stats"}`` → ``{"pid", "rss", "served", "spare_hits"}``
- ``{"op": "preload", "snapshot": path}`` → ``{"bytes": n}``: the month snapshot's files read into
  the server's memory (:func:`perfkit.month.snapshot.preload`, when it is at most
  :data:`PRELOAD_MAX_BYTES` on disk), so its kernels slice it without reading files, and the YAML
  of its parameters folder parsed; the spare kernel, forked before, is replaced

The server exits on end of input (its client closed the pipe or died) and kills its kernels; it also
gets SIGTERM when the process that started it dies (Linux ``PR_SET_PDEATHSIG``), and its kernels get
SIGKILL when the server dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

#: Modules the server imports once, so kernels forked from it need not (order matters a little:
#: the inline backend is chosen through MPLBACKEND before pyplot is imported).
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",  # a report reads its slice of the month snapshot with these
    "pyarrow.dataset",
    "pyarrow.pandas_compat",
    "pandas.io.formats.csvs",  # CSV downloads
    "duckdb",
    "yaml",
    "pydantic",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "seaborn",
    "ipywidgets",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",  # debugpy: 0.2 s of every kernel start otherwise
    "perfkit",
    "perfkit.report.company",
    "perfkit.report.branch",
    "perfkit.report.employee",
    "perfkit.metrics.effective",
)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


#: a month snapshot up to this size on disk is held in the fork server's memory (about 6× that in
#: memory, shared by its kernels); a larger one is read from its files by each report
PRELOAD_MAX_BYTES = 32 << 20
PR_SET_PDEATHSIG = 1


def ensure_importable() -> None:
    """Put the folder holding ``perfkit`` on ``PYTHONPATH`` so the kernels (forked or started from
    scratch) import the same perfkit as this process, installed or not."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])


def _prctl_deathsig(sig: int) -> None:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


KERNEL_DIR_PREFIX = "perfkit-kernels-"  # + the fork server's pid + "-" + random


def remove_stale_kernel_dirs(tmp: str | None = None) -> list[str]:
    """Remove the kernel connection folders of fork servers that are gone (killed with SIGKILL,
    they could not clean up); returns what was removed. A folder of a live server is kept."""
    import shutil

    removed = []
    root = tmp or tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            if not name.startswith(KERNEL_DIR_PREFIX):
                continue
            pid = name[len(KERNEL_DIR_PREFIX):].split("-", 1)[0]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` (those that fail are skipped and returned) and warm what a first chart
    would load (matplotlib's font list, the CJK font). Starts no thread."""
    import importlib

    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a kernel imports it itself (and reports the error)
            failed.append(name)
    with contextlib.suppress(Exception):
        from matplotlib import font_manager

        font_manager.fontManager  # noqa: B018 - loads the font list cache
        from perfkit.report.charts import _register, find_cjk_font

        _register(str(find_cjk_font()))
    return failed


def _parse_parameters(snapshot: str) -> None:
    """Parse the YAML files of the parameters folder the snapshot was built from, so the kernels
    forked from here find them parsed (:func:`perfkit.files.read_yaml`)."""
    from perfkit.files import read_yaml

    with contextlib.suppress(OSError, ValueError, KeyError):
        params = json.loads((Path(snapshot) / "snapshot.json").read_text(encoding="utf-8"))["params"]
        for path in sorted(Path(params).glob("*.yaml")):
            with contextlib.suppress(Exception):  # a broken file is the kernel's to report
                read_yaml(path, expect=None)


class _Kernel:
    """A forked child: ``pid`` and the read end of the pipe its connection info arrives on."""

    def __init__(self, pid: int, ready_fd: int, key: str) -> None:
        self.pid, self.ready_fd, self.key = pid, ready_fd, key

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def connection(self, timeout: float) -> dict[str, Any]:
        """Wait for the child's connection info (it sends it once its sockets are bound)."""
        deadline = time.monotonic() + timeout
        buf = b""
        try:
            while not buf.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.ready_fd], [], [], left)[0]:
                    raise TimeoutError(f"kernel {self.pid} not ready in {timeout:.0f}s")
                chunk = os.read(self.ready_fd, 65536)
                if not chunk:
                    raise RuntimeError(f"kernel {self.pid} died during start-up")
                buf += chunk
        finally:
            os.close(self.ready_fd)
            self.ready_fd = -1
        return json.loads(buf)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        if self.ready_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.ready_fd)
            self.ready_fd = -1


def _child(cwd: str, env: dict[str, str], argv: list[str], conn_dir: str, ready_w: int,
           close: list[int], server_pid: int) -> None:
    """In the forked child: become an ipykernel; never returns."""
    code = 1
    try:
        for fd in close:
            with contextlib.suppress(OSError):
                os.close(fd)
        os.setsid()  # Ctrl-C in a terminal reaches the batch, not the kernels
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # no start-up banner; outputs reach the notebook through ZMQ
        os.close(devnull)
        _prctl_deathsig(signal.SIGKILL)
        if os.getppid() != server_pid:  # the server died before prctl took effect
            os._exit(1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        from ipykernel.kernelapp import IPKernelApp

        conn_file = os.path.join(conn_dir, f"kernel-{os.getpid()}.json")
        app = IPKernelApp.instance()
        app.initialize(["-f", conn_file, *argv])
        info = json.loads(Path(conn_file).read_text(encoding="utf-8"))
        info["connection_file"] = conn_file
        os.write(ready_w, (json.dumps(info) + "\n").encode())
        os.close(ready_w)
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - printed to the server's stderr
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The server's main loop (see the module docstring)."""
    ctl_in, ctl_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)  # kernels' C-level stdout goes to stderr, never into the protocol
    _prctl_deathsig(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch decides; SIGTERM/EOF end us
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited kernels are reaped by the OS
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's import-time notice
    failed = preload()
    threads = threading.active_count()
    remove_stale_kernel_dirs()
    conn_dir = tempfile.mkdtemp(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-")
    out = os.fdopen(ctl_out, "w", buffering=1, encoding="utf-8")
    inp = os.fdopen(ctl_in, "r", encoding="utf-8")
    spare: _Kernel | None = None
    served = hits = 0
    server_pid = os.getpid()

    def fork(cwd: str, env: dict[str, str], argv: list[str], key: str) -> _Kernel:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child(cwd, env, argv, conn_dir, w, [r, ctl_in, ctl_out], server_pid)
        os.close(w)
        return _Kernel(pid, r, key)

    def shutdown(*_: Any) -> None:
        if spare is not None:
            spare.kill()
        with contextlib.suppress(OSError):
            for name in os.listdir(conn_dir):
                os.unlink(os.path.join(conn_dir, name))
            os.rmdir(conn_dir)
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    out.write(json.dumps({"ready": True, "pid": os.getpid(), "threads": threads,
                          "preload_failed": failed}) + "\n")
    for line in inp:
        try:
            req = json.loads(line)
        except ValueError:
            out.write(json.dumps({"error": f"bad request {line[:80]!r}"}) + "\n")
            continue
        op = req.get("op")
        if op == "stats":
            import psutil

            out.write(json.dumps({"pid": os.getpid(), "rss": psutil.Process().memory_info().rss,
                                  "served": served, "spare_hits": hits}) + "\n")
            continue
        if op == "preload":
            try:
                from perfkit.month.snapshot import preload as preload_snapshot

                held = preload_snapshot(str(req["snapshot"]), PRELOAD_MAX_BYTES)
                _parse_parameters(str(req["snapshot"]))
            except Exception as exc:  # noqa: BLE001 - reported; the kernels read the files
                out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
                continue
            if spare is not None:  # forked before: it would read and parse the files
                spare.kill()
                spare = None
            out.write(json.dumps({"bytes": held}) + "\n")
            continue
        if op != "kernel":
            out.write(json.dumps({"error": f"unknown op {op!r}"}) + "\n")
            continue
        cwd, env, argv = str(req["cwd"]), dict(req["env"]), list(req.get("argv", []))
        timeout = float(req.get("timeout", 60))
        key = json.dumps([cwd, sorted(env.items()), argv])
        kernel: _Kernel | None = None
        try:
            if spare is not None and spare.key == key and spare.alive():
                kernel, spare = spare, None
                hits += 1
            else:
                if spare is not None:
                    spare.kill()
                    spare = None
                kernel = fork(cwd, env, argv, key)
            info = kernel.connection(timeout)
        except Exception as exc:  # noqa: BLE001 - reported to the client
            if kernel is not None:
                kernel.kill()
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            continue
        served += 1
        out.write(json.dumps({"pid": kernel.pid, "connection": info}) + "\n")
        spare = fork(cwd, env, argv, key)  # ready by the next request
    shutdown()


if __name__ == "__main__":
    serve()
