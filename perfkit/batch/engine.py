"""The ``perfkit`` papermill engine: every notebook runs in a brand-new kernel process forked from a
warm fork server (:mod:`perfkit.batch.forkserver`) instead of a kernel started from scratch.

``papermill --engine perfkit in.ipynb out.ipynb`` uses it (registered through the
``papermill.engine`` entry point in pyproject.toml), and so does ``perfkit run`` unless
``--engine fresh``. The pieces plug into nbclient and jupyter_client through public extension
points: a kernel provisioner (:class:`ForkProvisioner`) that asks the fork server for a kernel, a
kernel manager that uses it (:class:`ForkKernelManager`) and a kernel client whose
``wait_for_ready`` drains IOPub for 20 ms instead of a fixed 200 ms (the kernel is already
listening). The kernel is killed as soon as the notebook is done (``shutdown_kernel="immediate"``),
its end polled every 5 ms instead of 100 ms: it is never reused. Versions of nbclient, jupyter_client, ipykernel and papermill are pinned in
pyproject.toml; ``tests/test_engine.py`` guards the internals relied on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from papermill.engines import NBClientEngine, NotebookExecutionManager
from traitlets import DottedObjectName, Type

from perfkit.batch.forkserver import get_server

PLACEHOLDER_CMD = ["perfkit-forkserver-kernel"]  # never executed: the server forks instead


class ForkProvisioner(KernelProvisionerBase):
    """A kernel that is a child of this process's fork server (not of this process)."""

    pid: int | None = None
    connection_info: dict[str, Any] = {}  # noqa: RUF012 - replaced per instance
    _argv: list[str] = []  # noqa: RUF012
    _conn_file: str | None = None

    @property
    def has_process(self) -> bool:
        return self.pid is not None

    def _alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie (not reaped yet) is dead
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True

    async def poll(self) -> int | None:
        return None if self._alive() else 0

    async def wait(self) -> int | None:
        while self._alive():
            await asyncio.sleep(0.01)
        self.pid = None
        return 0

    async def send_signal(self, signum: int) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signum)  # the kernel leads its own session
        except OSError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self._argv = list(kwargs.pop("extra_arguments", []) or [])
        kwargs = await super().pre_launch(**kwargs)
        kwargs["cmd"] = PLACEHOLDER_CMD
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict[str, Any]:
        cwd = str(kwargs.get("cwd") or os.getcwd())
        env = {k: v for k, v in (kwargs.get("env") or os.environ).items() if isinstance(v, str)}
        timeout = float(getattr(self.parent, "start_timeout", None) or 60)
        pid, info = get_server().kernel(cwd, env, self._argv, timeout=timeout)
        self.pid = pid
        self._conn_file = info.pop("connection_file", None)  # the kernel's own copy
        info["key"] = info["key"].encode() if isinstance(info.get("key"), str) else info["key"]
        self.connection_info = info
        return info

    async def cleanup(self, restart: bool = False) -> None:
        if self._conn_file:
            with contextlib.suppress(OSError):
                os.unlink(self._conn_file)
            self._conn_file = None
        self.pid = None


class ForkKernelClient(AsyncKernelClient):
    """Kernel client whose readiness check does not wait 200 ms of IOPub silence."""

    async def _wait_ready(self, timeout: float | None = None) -> None:
        """Like jupyter_client's ``wait_for_ready``: a ``kernel_info`` reply on shell and a message
        on IOPub (so the subscription is live), then drain IOPub until 20 ms of silence."""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.02)
            except Empty:
                break

    wait_for_ready = _wait_ready


class ForkKernelManager(AsyncKernelManager):
    """Kernel manager whose kernels come from the fork server (see :class:`ForkProvisioner`)."""

    client_class = DottedObjectName("perfkit.batch.engine.ForkKernelClient")
    client_factory = Type(klass="perfkit.batch.engine.ForkKernelClient")
    start_timeout: float = 60

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """Wait for the killed kernel to be gone, polling every 5 ms (jupyter_client's 100 ms was
        a tenth of a second of every report): a forked kernel dies within milliseconds of SIGKILL."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


class _SaveAtEnd(NotebookExecutionManager):
    """papermill writes the whole notebook at every cell start and end (30 writes of a report with
    megabytes of widget state); this writes it when the notebook completes, and on papermill's
    periodic autosave of long cells."""

    _final = False
    _autosave = False

    def save(self, **kwargs: Any) -> None:
        if self._final or self._autosave or not self.output_path:
            super().save(**kwargs)
        else:
            if kwargs.get("nb"):
                self.nb = kwargs["nb"]
            self.last_save_time = self.now()

    def autosave_cell(self) -> None:
        self._autosave = True
        try:
            super().autosave_cell()
        finally:
            self._autosave = False

    def notebook_complete(self, **kwargs: Any) -> None:
        self._final = True
        super().notebook_complete(**kwargs)


class PerfkitEngine(NBClientEngine):
    """papermill engine: nbclient with a fresh forked kernel per notebook, killed right after; the
    output notebook is written once, at the end."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: Any = None,
                         progress_bar: bool = True, log_output: bool = False,
                         autosave_cell_every: int = 30, **kwargs: Any) -> Any:
        nb_man = _SaveAtEnd(nb, output_path=output_path, progress_bar=progress_bar,
                            log_output=log_output, autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("kernel_manager_class", ForkKernelManager)
        kwargs.setdefault("shutdown_kernel", "immediate")
        ForkKernelManager.start_timeout = float(kwargs.get("start_timeout") or 60)
        try:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        finally:
            get_server().maybe_recycle()
