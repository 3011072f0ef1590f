"""The fast execution engine (perfkit.batch.engine + perfkit.batch.forkserver): every notebook in a new
kernel forked from a warm per-worker fork server.

- a batch on ONE worker mixing a raising cell, a kernel killed once (retried), a kernel killed every
  time, a cell timeout and recycling after K notebooks (worker and fork server): the rest render,
  every notebook sees nothing of the earlier ones (probe notebook tests/notebooks/engine/probe.ipynb);
- worker processes recycled above the memory threshold, and a worker killed mid-notebook replaced
  (only its job fails);
- two employees of different branches rendered back to back on one worker with the real views and
  exporter: the second report holds nothing of the first, and equals the fresh engine's report in
  visible text and widget count;
- the fork server: recycling by count and memory, replacement after it is killed;
- ``papermill --engine perfkit`` (entry point) and the nbclient / jupyter_client / papermill
  internals the engine relies on, at the pinned versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import psutil
import pytest
from pagetext import unpack
from test_batch import MONTH, make_store  # the stand-in store: B01, B02; E01, E02, E04, E05

from perfkit.batch import run
from perfkit.batch.execute import is_retryable
from perfkit.batch.forkserver import ForkServer, ForkServerError

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "notebooks" / "engine" / "probe.ipynb"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def probe_world(tmp_path_factory):
    base = tmp_path_factory.mktemp("engine")
    params = base / "parameters"
    params.mkdir()
    # the employees the recycling below reasons about (E03, who left mid-month, is left out)
    (params / "run.yaml").write_text(
        "retries: 1\ncell_timeout: 3\nrecycle_after: 4\n"
        "entities: {employee: [E01, E02, E04, E05]}\n", encoding="utf-8")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for role in ("company", "branch", "employee"):
        shutil.copy(PROBE, notebooks / f"{role}.ipynb")
    return {"db": make_store(base / "crm.duckdb"), "params": params, "notebooks": notebooks}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_one_worker_survives_failures_recycles_and_isolates(probe_world, tmp_path, monkeypatch):
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("PROBE_DIR", str(probes))
    monkeypatch.setenv("CI", "true")
    # jobs run in this order on the one worker: company, B01, B02, E01, E02, E04, E05
    monkeypatch.setenv("PROBE_B02", "raise")
    monkeypatch.setenv("PROBE_E01", "die-once")  # kernel killed mid-notebook: retried, ok
    monkeypatch.setenv("PROBE_E02", "sleep")  # longer than cell_timeout
    monkeypatch.setenv("PROBE_E04", "die")  # killed on every attempt: failed, the rest go on
    s = run(MONTH, out=tmp_path / "out", db=probe_world["db"], params=probe_world["params"],
            notebooks_dir=probe_world["notebooks"], exporter="plain", progress="off",
            workers=1, engine="perfkit")
    month_dir = tmp_path / "out" / MONTH
    jobs = json.loads((month_dir / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    assert {k: r["status"] for k, r in jobs.items()} == {
        "company/company": "ok", "branch/B01": "ok", "branch/B02": "failed",
        "employee/E01": "ok", "employee/E02": "failed", "employee/E04": "failed",
        "employee/E05": "ok"}
    assert (s.ok, s.failed) == (4, 3)

    # a raising cell: reported with its cell, the executed notebook kept
    err = jobs["branch/B02"]["error"]
    assert (err["stage"], err["exception"]) == ("execute", "ValueError")
    nb = json.loads((month_dir / jobs["branch/B02"]["executed_notebook"]).read_text("utf-8"))
    cell = nb["cells"][err["cell_index"]]
    assert "raise ValueError" in "".join(cell["source"])
    assert any(o.get("ename") == "ValueError" for o in cell["outputs"])
    # killed once: replaced and retried; killed every time: failed after the retries
    assert jobs["employee/E01"]["attempts"] == 2
    assert jobs["employee/E04"]["attempts"] == 2
    assert jobs["employee/E04"]["error"]["stage"] == "kernel"
    assert jobs["employee/E04"]["error"]["exception"] == "DeadKernelError"
    # a timeout fails the job and kills its kernel
    assert jobs["employee/E02"]["error"]["exception"] == "CellTimeoutError"
    seen = {p.stem: json.loads(p.read_text("utf-8")) for p in probes.glob("*.json")}
    assert not _alive(seen["E02"]["pid"])
    # the notebooks after the failures still render
    for key in ("employee/E05", "employee/E01", "branch/B01"):
        html = (month_dir / jobs[key]["output"]["path"]).read_text(encoding="utf-8")
        assert f"done {key.split('/')[1]}" in html

    # isolation: no notebook saw anything an earlier one left behind
    assert set(seen) == {"company", "B01", "B02", "E01", "E02", "E04", "E05"}
    for entity, probe in seen.items():
        assert probe["secrets"] == [] and probe["widgets"] == 0 and probe["figures"] == [], entity
        assert probe["pd_max_rows"] == 60 and probe["rc_linewidth"] == 1.5, entity
        assert probe["env"] == [] and probe["sys_path"] == [] and probe["warnings"] == [], entity
        assert Path(probe["cwd"]) == probe_world["notebooks"].resolve(), entity
    assert len({p["pid"] for p in seen.values()}) == len(seen)  # a new kernel per notebook
    # recycle_after 4: the worker is replaced after 4 notebooks, its fork server (the kernels'
    # parent) after 4 kernels. Worker 1: company, B01, B02, E01; its server 1 forked company, B01,
    # B02 and E01's killed kernel, server 2 E01's retry. Worker 2 (server 3): E02, E04 twice, E05.
    worker = {k.split("/")[1]: r["worker"] for k, r in jobs.items()}
    assert worker["company"] == worker["B01"] == worker["B02"] == worker["E01"]
    assert worker["E02"] == worker["E04"] == worker["E05"] != worker["E01"]
    ppid = {e: p["ppid"] for e, p in seen.items()}
    assert ppid["company"] == ppid["B01"] == ppid["B02"] != ppid["E01"]
    assert ppid["E02"] == ppid["E04"] == ppid["E05"] not in (ppid["E01"], ppid["company"])
    worker_pids = {int(w.rsplit(":", 1)[1]) for w in worker.values()}
    assert not worker_pids & {p["ppid"] for p in seen.values()}  # forked by the servers
    assert not any(_alive(pid) for pid in worker_pids)  # recycled and finished workers exited


def test_workers_recycled_above_the_memory_threshold_and_replaced_when_killed(
        probe_world, tmp_path, monkeypatch):
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("PROBE_DIR", str(probes))
    params = tmp_path / "params"
    shutil.copytree(probe_world["params"], params)
    (params / "run.yaml").write_text("retries: 1\nrecycle_after: 0\nrecycle_mb: 1\n",
                                     encoding="utf-8")  # 1 MB: every worker is above it
    monkeypatch.setenv("PROBE_B01", "kill-worker")  # its worker dies mid-notebook
    s = run(MONTH, only=["company", "B01", "E01"], out=tmp_path / "out", db=probe_world["db"],
            params=params, notebooks_dir=probe_world["notebooks"], exporter="plain",
            progress="off", workers=1, engine="perfkit")
    jobs = json.loads(s.manifest.read_text(encoding="utf-8"))["jobs"]
    assert {k: r["status"] for k, r in jobs.items()} == {
        "company/company": "ok", "branch/B01": "failed", "employee/E01": "ok"}
    err = jobs["branch/B01"]["error"]
    assert err["stage"] == "worker" and "died" in err["message"], err
    assert jobs["branch/B01"]["attempts"] == 1
    seen = {p.stem: json.loads(p.read_text("utf-8")) for p in probes.glob("*.json")}
    # one worker per notebook: company's worker recycled (memory), B01's killed, E01 on a third
    assert jobs["company/company"]["worker"] != jobs["employee/E01"]["worker"]
    assert len({p["ppid"] for p in seen.values()}) == 3  # three workers, three fork servers
    assert not _alive(seen["B01"]["pid"])  # the dead worker's kernel went with it


def test_dask_worker_keeps_one_fork_server(probe_world, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    probes = tmp_path / "probes"
    probes.mkdir()
    monkeypatch.setenv("PROBE_DIR", str(probes))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        s = run(MONTH, only=["company", "B01", "E01"], out=tmp_path / "out", db=probe_world["db"],
                params=probe_world["params"], notebooks_dir=probe_world["notebooks"],
                exporter="plain", progress="off", scheduler=cluster.scheduler_address)
    assert (s.ok, s.failed) == (3, 0)
    jobs = json.loads(s.manifest.read_text(encoding="utf-8"))["jobs"]
    worker_pids = {int(r["worker"].rsplit(":", 1)[1]) for r in jobs.values()}
    assert len(worker_pids) == 1
    seen = [json.loads(p.read_text("utf-8")) for p in probes.glob("*.json")]
    assert len({p["pid"] for p in seen}) == 3  # a new kernel per notebook ...
    servers = {p["ppid"] for p in seen}
    assert len(servers) == 1  # ... from the one fork server of the one Dask worker process
    assert not servers & worker_pids


# ------------------------------------------------------------------- real reports, real exporter
def _visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    body = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?\S*", "<time>", unescape(body))
    return " ".join(body.split())


def _readable(html: str) -> str:
    """The page without the widget bundle, the CSS and data: URIs (base64 can spell anything), but
    with the saved widget state and every other text."""
    html = unpack(html)  # the widget state of a self-contained page is packed
    html = re.sub(r"<style\b.*?</style>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<script(?![^>]*json)[^>]*>.*?</script>", " ", html, flags=re.S | re.I)
    html = re.sub(r"data:[^\s\"'\\)]+", " ", html)  # stop before a JSON escape's backslash
    for escaped, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        html = html.replace(escaped, char)  # as the widget state holds its HTML
    return html


def _widget_state(html: str) -> dict:
    html = unpack(html)
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>',
                  html, re.S)
    return json.loads(m.group(1))["state"] if m else {}


def test_back_to_back_reports_are_isolated_and_equal_to_fresh(tiny_store, params_dir, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("CI", "true")
    common = {"roles": ("employee",), "db": tiny_store, "params": params_dir, "progress": "off",
              "workers": 1, "notebooks_dir": ROOT / "notebooks"}
    fast = run(MONTH, only=["E1", "E3"], out=tmp_path / "fast", engine="perfkit", **common)
    fresh = run(MONTH, only=["E3"], out=tmp_path / "fresh", engine="fresh", **common)
    assert (fast.ok, fresh.ok) == (2, 1)
    jobs = json.loads((fast.manifest).read_text(encoding="utf-8"))["jobs"]
    assert jobs["employee/E1"]["worker"] == jobs["employee/E3"]["worker"]  # one worker, E1 first
    assert jobs["employee/E1"]["finished_at"] <= jobs["employee/E3"]["started_at"]
    first = (fast.out_dir / "employees" / "E1.html").read_text(encoding="utf-8")
    second = (fast.out_dir / "employees" / "E3.html").read_text(encoding="utf-8")
    # E1 (B01) and its clients C01-C04; E3 is in B02 and shares none of them
    e1_marks = ["张伟", "C01", "C02", "C03", "C04", "赵一", "钱二", "孙三", "李四",
                "上海淮海中路证券营业部"]
    first, second = _readable(first), _readable(second)
    present = [m for m in e1_marks if re.search(rf"(?<![A-Za-z0-9]){m}(?![0-9])", first)]
    assert {"张伟", "C01", "钱二"} <= set(present), present
    assert [m for m in present if re.search(rf"(?<![A-Za-z0-9]){m}(?![0-9])", second)] == []
    assert "王芳" in second
    state_first, state_second = _widget_state(first), _widget_state(second)
    assert state_second and not set(state_first) & set(state_second)
    # same report from a kernel started from scratch: same text, same widgets
    other = _readable((fresh.out_dir / "employees" / "E3.html").read_text(encoding="utf-8"))
    assert _visible_text(second) == _visible_text(other)
    assert len(state_second) == len(_widget_state(other))
    view = 'type="application/vnd.jupyter.widget-view+json"'
    assert second.count(view) == other.count(view) > 0


# ----------------------------------------------------------------------------- the fork server
def test_fork_server_recycles_by_count_and_memory_and_survives_a_kill(tmp_path):
    server = ForkServer(max_kernels=2, max_memory=0)
    env = {**os.environ, "PROBE_DIR": str(tmp_path)}
    try:
        pids = [server.kernel(str(tmp_path), env, [])[0] for _ in range(2)]
        first = server.pid
        for pid in pids:
            assert psutil.Process(pid).ppid() == first  # forked by the server
            assert psutil.Process(pid).cwd() == str(tmp_path)
            os.kill(pid, signal.SIGKILL)
        assert server.maybe_recycle() and server.pid is None
        pid, info = server.kernel(str(tmp_path), env, [])
        second = server.pid
        assert second not in (None, first) and server.generation == 2
        assert {"shell_port", "iopub_port", "key"} <= set(info)
        assert not server.maybe_recycle()  # one kernel served, below the count
        server.max_memory = 1  # bytes: any server is above it
        assert server.maybe_recycle()
        server.kernel(str(tmp_path), env, [])
        os.kill(server.pid, signal.SIGKILL)  # the server dies: the next request gets a new one
        time.sleep(0.2)
        pid, _ = server.kernel(str(tmp_path), env, [])
        assert server.generation == 4 and psutil.Process(pid).ppid() == server.pid
    finally:
        server.close()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:  # kernels die with their server
        time.sleep(0.05)
    assert not _alive(pid)
    assert is_retryable(ForkServerError("fork server exited (code -9)"))  # the job is retried


# ------------------------------------------------------------ papermill entry point and pinning
def test_papermill_cli_engine_entry_point(tmp_path):
    out = tmp_path / "out.ipynb"
    env = {**os.environ, "PROBE_DIR": str(tmp_path), "PROBE_company": "raise"}
    res = subprocess.run([str(BIN / "papermill"), "--engine", "perfkit", str(PROBE), str(out),
                          "--cwd", str(tmp_path), "-k", "python3", "--no-progress-bar"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "probe raises for company" in res.stderr
    probe = json.loads((tmp_path / "company.json").read_text(encoding="utf-8"))
    assert probe["cwd"] == str(tmp_path)
    nb = json.loads(out.read_text(encoding="utf-8"))
    assert nb["metadata"]["papermill"]["exception"] is True


def test_pinned_internals_the_engine_relies_on():
    """The engine plugs into these; a new version that changes them must fail here first."""
    import inspect
    import tomllib
    from importlib.metadata import version

    import papermill
    from jupyter_client.client import KernelClient
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from packaging.requirements import Requirement
    from papermill.engines import NotebookExecutionManager, papermill_engines

    from perfkit.batch import pmentry

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = {Requirement(d).name.replace("-", "_"): Requirement(d) for d in deps["dependencies"]}
    for name in ("nbclient", "jupyter_client", "ipykernel", "papermill"):
        assert name in reqs, f"{name} is not pinned in pyproject.toml"
        assert reqs[name].specifier.contains(version(name)), (name, version(name))
    assert papermill_engines.get_engine("perfkit") is pmentry.PerfkitEngine  # the entry point
    assert pmentry._engine().__mro__[1].__name__ == "NBClientEngine"
    assert "request_save_on_cell_execute" in inspect.signature(papermill.execute_notebook).parameters
    assert {"save", "autosave_cell", "notebook_complete"} <= set(vars(NotebookExecutionManager))
    src = inspect.getsource(AsyncKernelManager._async_pre_start_kernel)
    assert "if self.provisioner is None" in src and "pre_launch" in src
    assert "flush" in inspect.getsource(KernelClient._async_wait_for_ready).lower()
    # the kill waits through _async_wait(pollinterval), which ForkKernelManager polls faster
    assert "self._async_wait()" in inspect.getsource(AsyncKernelManager._async_kill_kernel)
    assert "pollinterval" in inspect.signature(AsyncKernelManager._async_wait).parameters
    assert {"kernel_manager_class", "shutdown_kernel"} <= set(NotebookClient.class_trait_names())
