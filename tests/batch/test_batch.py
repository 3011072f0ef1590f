"""The monthly batch (perfkit.batch): planning, execution, manifest, rerun rules, index,
distribution list, fault tolerance (failing notebook, dead kernel, kill -9, Ctrl-C) and Dask.

Jobs run stand-in role notebooks (tests/notebooks/batch_roles/) on a hand-made store of 2 branches
and 6 employees, exported with the ``plain`` exporter, so these tests do not depend on the real
views or the offline HTML template.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from perfkit.batch import run
from perfkit.batch.config import load_run_config
from perfkit.batch.execute import is_retryable
from perfkit.batch.index import render_index
from perfkit.batch.plan import entities, file_stem, select
from perfkit.cli.run import add_commands
from perfkit.data.store import create_store, open_store, store_fingerprint
from perfkit.errors import RequestError, SpecError

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "notebooks" / "batch_roles"
MONTH = "2026-10"
ALL_KEYS = {"company/company", "branch/B01", "branch/B02", "employee/E01", "employee/E02",
            "employee/E03", "employee/E04", "employee/E05"}
TEST_ENV = ("PERFKIT_TEST_POISON", "PERFKIT_TEST_DIE_ONCE", "PERFKIT_TEST_DIE_IDS",
            "PERFKIT_TEST_SLEEP")


def make_store(path: Path) -> Path:
    """2 branches; E03 left during the month (appraised: his report), E06 joins next month (none)."""
    con = create_store(path, overwrite=True)
    con.execute("INSERT INTO branches VALUES ('B01','上海淮海路营业部','华东','上海','一类'),"
                "('B02','深圳福田营业部','华南','深圳','二类')")
    con.executemany("INSERT INTO employees (employee_id, employee_name, branch_id, position, level, "
                    "hire_date, leave_date) VALUES (?,?,?,?,?,?,?)", [
        ("E01", "张伟", "B01", "营业部负责人", None, dt.date(2020, 1, 1), None),
        ("E02", "王芳", "B01", "客户经理", "初级", dt.date(2021, 3, 1), None),
        ("E03", "李娜", "B01", "客户经理", "中级", dt.date(2021, 3, 1), dt.date(2026, 10, 15)),
        ("E04", "刘洋", "B02", "营业部负责人", None, dt.date(2019, 5, 1), None),
        ("E05", "陈静", "B02", "理财顾问", None, dt.date(2022, 7, 1), None),
        ("E06", "杨磊", "B02", "客户经理", "高级", dt.date(2026, 11, 2), None),
    ])
    con.execute("INSERT INTO clients (client_id, client_name, branch_id, employee_id, lead_date, "
                "open_date) VALUES ('C1','赵一','B01','E02','2025-01-05','2025-02-01'),"
                "('C2','钱二','B02','E05','2025-03-05','2025-04-01')")
    for m in ("2026-08", "2026-09", MONTH):
        con.execute("INSERT INTO client_months (client_id, month, employee_id, assets_begin, assets_end, net_inflow, trade_amount, trade_days, commission, pnl)"
                    " VALUES ('C1',?,'E02',100,110,5,1000,3,10,2),"
                    "('C2',?,'E05',200,190,-5,500,2,5,-3)", [m, m])
    con.close()
    return path


FIXED_VERSION = "0.0.0+test"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in TEST_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")


@pytest.fixture(autouse=True, scope="module")
def _fixed_version():
    """The real value digests perfkit's source: keep reruns comparable while the code is edited."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("perfkit.batch.runner.perfkit_fingerprint", lambda: FIXED_VERSION)
        yield


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Store, parameters (a run.yaml and one scoring file) and a copy of the stand-in notebooks."""
    base = tmp_path_factory.mktemp("batch")
    params = base / "parameters"
    params.mkdir()
    shutil.copy(ROOT / "parameters" / "run.yaml", params / "run.yaml")
    (params / "weights.yaml").write_text("weight: 1\n", encoding="utf-8")
    notebooks = base / "notebooks"
    shutil.copytree(STANDINS, notebooks)
    return {"base": base, "db": make_store(base / "crm.duckdb"), "params": params,
            "notebooks": notebooks}


def batch(world, out: Path, **kw):
    kw.setdefault("workers", 2)
    return run(MONTH, out=out, db=world["db"], params=kw.pop("params", world["params"]),
               notebooks_dir=kw.pop("notebooks_dir", world["notebooks"]), exporter="plain",
               progress="log", **kw)


@pytest.fixture(scope="module")
def full(world):
    """One complete run (all roles); tests that change things work on a copy of its output."""
    os.environ.pop("PERFKIT_TEST_POISON", None)
    out = world["base"] / "full"
    summary = batch(world, out)
    return {"summary": summary, "out": out, "dir": out / MONTH}


def manifest(month_dir: Path) -> dict:
    return json.loads((month_dir / "manifest.json").read_text(encoding="utf-8"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def html_files(month_dir: Path) -> set[str]:
    return {p.relative_to(month_dir).as_posix() for p in month_dir.rglob("*.html")
            if p.name != "index.html"}


def temp_files(month_dir: Path) -> list[Path]:
    return [p for p in month_dir.rglob(".*") if p.is_file()]


def copy_run(full, dest: Path) -> Path:
    shutil.copytree(full["out"], dest)
    return dest


# ---------------------------------------------------------------- planning (no kernels)


def test_entities_follow_the_employment_rule(world):
    con = open_store(world["db"])
    try:
        found = entities(con, MONTH, ("company", "branch", "employee"))
        strict = entities(con, MONTH, ("employee",), min_days=16)
        september = entities(con, "2026-09", ("employee",))
    finally:
        con.close()
    assert [f"{e.role}/{e.entity_id}" for e in found] == [
        "company/company", "branch/B01", "branch/B02",
        "employee/E01", "employee/E02", "employee/E03", "employee/E04", "employee/E05"]
    # E03 left on 2026-10-15: appraised (15 days), unless the month needs 16; E06 is hired in November
    assert [e.entity_id for e in strict] == ["E01", "E02", "E04", "E05"]
    assert "E03" in [e.entity_id for e in september]
    b01 = next(e for e in found if e.entity_id == "B01")
    assert b01.recipients == (("E01", "张伟"),)


def test_only_with_an_unknown_id_is_an_error(world):
    con = open_store(world["db"])
    try:
        found = entities(con, MONTH, ("branch",))
    finally:
        con.close()
    assert [e.entity_id for e in select(found, only=["B02"])] == ["B02"]
    with pytest.raises(RequestError, match=r"--only names ids with no report .*: E02, X9"):
        select(found, only=["B02", "E02", "X9"])


def test_month_without_data_is_a_request_error(world, tmp_path):
    with pytest.raises(RequestError, match=r"month 2025-01 has no data in .*crm.duckdb "
                                           r"\(months: 2026-08 … 2026-10\)"):
        run("2025-01", out=tmp_path, db=world["db"], params=world["params"],
            notebooks_dir=world["notebooks"], exporter="plain")


def test_run_yaml_errors_name_file_and_field(tmp_path):
    (tmp_path / "run.yaml").write_text("roles: [company]\nworkerz: 3\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"run.yaml, field workerz: Extra inputs are not permitted \(got 3\); allowed fields: roles, "):
        load_run_config(tmp_path)
    (tmp_path / "run.yaml").write_text("assets: web\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"field assets: .*'inline' or 'shared'.*got 'web'"):
        load_run_config(tmp_path)
    assert load_run_config(ROOT / "parameters").roles == ("company", "branch", "employee")


def test_store_fingerprint_ignores_later_months(tmp_path):
    db = make_store(tmp_path / "s.duckdb")
    con = open_store(db, read_only=False)
    try:
        before = store_fingerprint(con, MONTH)
        con.execute("INSERT INTO client_months (client_id, month, employee_id, assets_begin, assets_end, net_inflow, trade_amount, trade_days, commission, pnl)"
                    " VALUES ('C1','2026-11','E02',1,1,0,0,0,0,0)")
        assert store_fingerprint(con, MONTH) == before
        con.execute("UPDATE client_months SET commission = 11 WHERE client_id = 'C1' AND month = ?",
                    [MONTH])
        assert store_fingerprint(con, MONTH) != before
    finally:
        con.close()


def test_perfkit_fingerprint_is_version_plus_source_digest():
    from importlib.metadata import version

    from perfkit.digest import perfkit_fingerprint

    assert re.fullmatch(re.escape(version("perfkit")) + r"\+[0-9a-f]{12}", perfkit_fingerprint())


def test_file_names_are_safe_and_distinct():
    assert file_stem("E00012") == "E00012"
    a, b = file_stem("../x"), file_stem("..-x")
    assert "/" not in a and a != b and not a.startswith(".")


def test_retryable_errors():
    import zmq
    from nbclient.exceptions import DeadKernelError

    assert is_retryable(zmq.ZMQError(zmq.EADDRINUSE))
    assert is_retryable(DeadKernelError("Kernel died"))
    assert is_retryable(RuntimeError("Kernel died before replying to kernel_info"))
    assert not is_retryable(ValueError("bad value"))


def test_index_escapes_names_and_has_no_external_references():
    jobs = {
        "branch/B1": {"role": "branch", "entity_id": "B1", "entity_name": "<script>alert(1)</script>",
                      "branch_id": "B1", "branch_name": "<b>部</b>", "status": "ok",
                      "output": {"path": "branches/B1.html"}},
        "employee/E1": {"role": "employee", "entity_id": "E1", "entity_name": "<img src=x onerror=y>",
                        "branch_id": "B1", "status": "failed", "executed_notebook": "notebooks/e.ipynb",
                        "error": {"cell_index": 3, "exception": "ValueError", "message": "{{ bad }} <i>"}},
    }
    page = render_index(MONTH, jobs, {"branch": {"B1": (81.25, "良好")}})
    assert "<script>" not in page and "<img" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=y&gt;" in page
    assert "<td class='num'>81.2</td><td>良好</td>" in page  # composite and grade beside the link
    assert "成功 1" in page and "失败 1" in page and "ValueError" in page
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)


def test_cli_registers_every_flag_with_help():
    parser = argparse.ArgumentParser(prog="perfkit")
    sub = parser.add_subparsers(dest="command")
    add_commands(sub)
    p = sub.choices["run"]
    flags = {s for a in p._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    assert {"--month", "--role", "--only", "--workers", "--scheduler", "--force", "--out", "--db",
            "--assets"} <= flags
    assert all(a.help for a in p._actions)
    args = parser.parse_args(["run", "--month", MONTH, "--role", "all", "--only", "B01,E02"])
    assert args.func.__name__ == "cmd_run" and args.only == "B01,E02"


# ---------------------------------------------------------------- running


def test_full_batch_manifest_matches_files_on_disk(full, world):
    s, month_dir = full["summary"], full["dir"]
    assert (s.ok, s.failed, s.skipped, s.exit_code) == (8, 0, 0, 0)
    m = manifest(month_dir)
    assert m["month"] == MONTH and set(m["jobs"]) == ALL_KEYS
    expected_html = {"company.html", "branches/B01.html", "branches/B02.html", "employees/E01.html",
                     "employees/E02.html", "employees/E03.html", "employees/E04.html",
                     "employees/E05.html"}
    assert html_files(month_dir) == expected_html
    assert {r["output"]["path"] for r in m["jobs"].values()} == expected_html
    for key, r in m["jobs"].items():
        path = month_dir / r["output"]["path"]
        assert r["status"] == "ok" and r["error"] is None, key
        assert r["output"]["bytes"] == path.stat().st_size and r["output"]["sha256"] == sha(path)
        assert (month_dir / r["executed_notebook"]).exists()
        assert r["seconds"] > 0 and r["attempts"] == 1
        fp = r["fingerprint"]
        assert set(fp) == {"sha256", "notebook", "parameters_files", "store", "perfkit_version"}
        assert fp["perfkit_version"] == FIXED_VERSION
        assert set(fp["parameters_files"]) == {"weights.yaml"}  # run.yaml selects, it does not shape
        assert fp["notebook"] == sha(world["notebooks"] / f"{r['role']}.ipynb")
    e02 = m["jobs"]["employee/E02"]
    assert e02["parameters"] == {"month": MONTH, "employee_id": "E02", "db": str(world["db"]),
                                 "params": str(world["params"])}
    # the kernel found perfkit, read its parameters and the store, ran in the notebook folder
    text = (month_dir / "employees/E02.html").read_text(encoding="utf-8")
    assert "employee E02 王芳 2026-10 rows=2 perfkit=perfkit cwd=notebooks" in text
    assert (month_dir / "notebooks/employees/E02.ipynb").exists()
    assert temp_files(month_dir) == []
    index = (month_dir / "index.html").read_text(encoding="utf-8")
    assert "成功 8" in index and "失败 0" in index
    for f in expected_html:
        assert f"href='{f}'" in index
    assert index.index("上海淮海路营业部（B01）") < index.index("王芳（E02）") < index.index("深圳福田营业部")


def test_distribution_lists_each_file_once_with_its_recipient(full):
    month_dir = full["dir"]
    raw = (month_dir / "distribution.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese correctly
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    files = [r["file"] for r in rows]
    assert len(files) == len(set(files)) and set(files) == html_files(month_dir)
    got = {r["file"]: (r["recipient_role"], r["recipient_id"], r["recipient_name"], r["branch_id"])
           for r in rows}
    assert got == {
        "company.html": ("总部管理层", "HQ", "总部管理层", ""),
        "branches/B01.html": ("营业部负责人", "E01", "张伟", "B01"),
        "branches/B02.html": ("营业部负责人", "E04", "刘洋", "B02"),
        "employees/E01.html": ("员工", "E01", "张伟", "B01"),
        "employees/E02.html": ("员工", "E02", "王芳", "B01"),
        "employees/E03.html": ("员工", "E03", "李娜", "B01"),
        "employees/E04.html": ("员工", "E04", "刘洋", "B02"),
        "employees/E05.html": ("员工", "E05", "陈静", "B02"),
    }


def test_unchanged_rerun_skips_everything(full, world, tmp_path):
    out = copy_run(full, tmp_path / "out")
    month_dir = out / MONTH
    before = {f: (month_dir / f).stat().st_mtime_ns for f in html_files(month_dir)}
    s = batch(world, out)
    assert (s.ok, s.failed, s.skipped) == (0, 0, 8)
    assert {f: (month_dir / f).stat().st_mtime_ns for f in html_files(month_dir)} == before
    assert {r["status"] for r in manifest(month_dir)["jobs"].values()} == {"skipped"}
    # a missing file is redone, --force redoes all
    (month_dir / "employees/E05.html").unlink()
    s = batch(world, out, only=["E05", "E04"])
    assert (s.ok, s.skipped) == (1, 1)
    s = batch(world, out, only=["company"], force=True)
    assert (s.ok, s.skipped) == (1, 0)


def test_changed_inputs_rerun_what_they_affect(full, world, tmp_path):
    out = copy_run(full, tmp_path / "out")
    params = tmp_path / "parameters"
    notebooks = tmp_path / "notebooks"
    shutil.copytree(world["params"], params)
    shutil.copytree(world["notebooks"], notebooks)

    def again(**kw):
        """Run; return the summary and the keys whose record changed beyond its status."""
        before = manifest(out / MONTH)["jobs"]
        s = batch(world, out, params=params, notebooks_dir=notebooks, **kw)
        after = manifest(out / MONTH)["jobs"]
        plain = [{k: {**r, "status": None} for k, r in m.items()} for m in (before, after)]
        return s, {k for k in after if plain[0].get(k) != plain[1][k]}

    # the run matrix does not shape reports: nothing reruns
    (params / "run.yaml").write_text("retries: 1\n", encoding="utf-8")
    s, _ = again()
    assert (s.ok, s.skipped) == (0, 8)
    # the employee view changed: only employee reports rerun
    nb = json.loads((notebooks / "employee.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "id": "added", "metadata": {}, "source": "说明"})
    (notebooks / "employee.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    s, redone = again(only=["company", "B01", "E02"])
    assert (s.ok, s.skipped) == (1, 2) and redone == {"employee/E02"}
    # a scoring file changed: every report is affected (here: rerun two of them)
    (params / "weights.yaml").write_text("weight: 2\n", encoding="utf-8")
    s, redone = again(only=["B01", "E02"])
    assert (s.ok, s.skipped) == (2, 0) and redone == {"branch/B01", "employee/E02"}
    # the others are now out of date (they would rerun next time)
    jobs = manifest(out / MONTH)["jobs"]
    new = hashlib.sha256(b"weight: 2\n").hexdigest()
    assert {k for k, r in jobs.items() if r["fingerprint"]["parameters_files"]["weights.yaml"] != new} \
        == ALL_KEYS - {"branch/B01", "employee/E02"}


def test_failing_notebook_does_not_stop_the_others(world, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PERFKIT_TEST_POISON", "E02")
    # E05's kernel dies once (os._exit): retried with a fresh kernel
    monkeypatch.setenv("PERFKIT_TEST_DIE_ONCE", str(tmp_path))
    monkeypatch.setenv("PERFKIT_TEST_DIE_IDS", "E05")
    parser = argparse.ArgumentParser(prog="perfkit")
    add_commands(parser.add_subparsers(dest="command"))
    out = tmp_path / "out"
    args = parser.parse_args([
        "run", "--month", MONTH, "--only", "B01,E02,E05", "--workers", "2", "--out", str(out),
        "--db", str(world["db"]), "--params", str(world["params"]), "--notebooks",
        str(world["notebooks"]), "--exporter", "plain", "--progress", "off"])
    code = args.func(args)
    captured = capsys.readouterr()
    assert code == 6
    assert captured.out.startswith("perfkit run 2026-10: 2 ok, 1 failed, 0 skipped in ")
    err = captured.err.strip().splitlines()
    assert err[-1].startswith("perfkit: error: 1 report(s) failed: employee/E02; see ")
    month_dir = out / MONTH
    jobs = manifest(month_dir)["jobs"]
    assert {k: r["status"] for k, r in jobs.items()} == {
        "branch/B01": "ok", "employee/E02": "failed", "employee/E05": "ok"}
    assert jobs["employee/E05"]["attempts"] == 2
    error = jobs["employee/E02"]["error"]
    assert error["exception"] == "ValueError" and error["message"] == "poisoned entity E02"
    assert error["stage"] == "execute" and jobs["employee/E02"]["output"] is None
    # the executed notebook is kept and shows the error in the cell the manifest names
    nb = json.loads((month_dir / "notebooks/employees/E02.ipynb").read_text(encoding="utf-8"))
    failing = nb["cells"][error["cell_index"]]
    assert any(o.get("ename") == "ValueError" for o in failing.get("outputs", []))
    assert "poisoned entity" in "".join(failing["source"])
    assert not (month_dir / "employees/E02.html").exists()
    assert html_files(month_dir) == {"branches/B01.html", "employees/E05.html"}
    index = (month_dir / "index.html").read_text(encoding="utf-8")
    assert "失败 1" in index and "poisoned entity E02" in index
    # fixed: the rerun redoes only the failed job
    monkeypatch.delenv("PERFKIT_TEST_POISON")
    s = batch(world, out, only=["B01", "E02", "E05"])
    assert (s.ok, s.failed, s.skipped) == (1, 0, 2)


SCRIPT = textwrap.dedent("""
    import logging, sys
    from pathlib import Path
    import perfkit.batch.runner
    from perfkit.batch import run
    perfkit.batch.runner.perfkit_fingerprint = lambda: "0.0.0+test"
    logging.basicConfig(level=logging.INFO)
    db, params, notebooks, out = map(Path, sys.argv[1:5])
    ONLY = sys.argv[5].split(",")
    run("2026-10", out=out, db=db, params=params, notebooks_dir=notebooks, workers=2,
        only=ONLY, exporter="plain", progress="log")
""")


KILL_ONLY = ("company", "B01", "E02", "E05")


def _sigint_default() -> None:
    """In the child: SIGINT back to its default, so Python turns it into KeyboardInterrupt even when
    the test run itself ignores it (a suite started in the background by a non-interactive shell
    inherits SIGINT ignored, and so would the batch)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_batch(world, out: Path, sleep: float) -> subprocess.Popen:
    env = {**os.environ, "PERFKIT_TEST_SLEEP": str(sleep)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(world["db"]), str(world["params"]),
         str(world["notebooks"]), str(out), ",".join(KILL_ONLY)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
        preexec_fn=_sigint_default)  # noqa: PLW1509 - no threads that matter in the test process


def wait_for_first_job(proc: subprocess.Popen, month_dir: Path, timeout: float = 90) -> set:
    """Wait until one job is in the manifest; return the pids of every process below ``proc``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            if any(r["status"] == "ok" for r in manifest(month_dir)["jobs"].values()):
                return {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.1)
    raise AssertionError("no job finished in time")


def assert_all_gone(pids: set, timeout: float = 15) -> None:
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive


def test_kill_9_then_rerun_completes_the_set(world, tmp_path):
    out = tmp_path / "out"
    month_dir = out / MONTH
    proc = start_batch(world, out, sleep=2.5)
    children = wait_for_first_job(proc, month_dir)
    assert len(children) >= 2  # workers and their kernels
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert_all_gone(children)  # workers die with their parent, and kill their kernels
    # no partial file: every report on disk is complete
    done = {k for k, r in manifest(month_dir)["jobs"].items() if r["status"] == "ok"}
    assert 1 <= len(done) < 4
    for f in html_files(month_dir):
        assert (month_dir / f).read_text(encoding="utf-8").endswith("</html>\n"), f
    s = batch(world, out, only=list(KILL_ONLY))
    assert (s.ok, s.failed, s.skipped) == (4 - len(done), 0, len(done))
    assert len(html_files(month_dir)) == 4 and temp_files(month_dir) == []
    assert {r["status"] for r in manifest(month_dir)["jobs"].values()} <= {"ok", "skipped"}


def test_manifest_is_rewritten_at_most_every_few_seconds(world, tmp_path, monkeypatch):
    """The manifest is rewritten whole: once per result would be O(jobs²) for a 5,000-report month.
    After the planning save and the first result it is written only when MANIFEST_SAVE_SECONDS
    have passed; the final one still records every result."""
    from perfkit.batch import runner
    from perfkit.batch.manifest import Manifest

    saves = []
    real = Manifest.save
    monkeypatch.setattr(Manifest, "save", lambda self: saves.append(len(self.jobs)) or real(self))
    monkeypatch.setattr(runner, "MANIFEST_SAVE_SECONDS", 3600.0)
    s = batch(world, tmp_path / "out", only=list(KILL_ONLY), workers=1)
    assert s.ok == 4 and len(saves) == 3  # after planning, after the first result, at the end
    assert {r["status"] for r in manifest(tmp_path / "out" / MONTH)["jobs"].values()} == {"ok"}


def test_ctrl_c_stops_workers_and_kernels(world, tmp_path):
    out = tmp_path / "out"
    month_dir = out / MONTH
    proc = start_batch(world, out, sleep=2.5)
    children = wait_for_first_job(proc, month_dir)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    assert_all_gone(children, timeout=5)
    assert temp_files(month_dir) == []
    assert manifest(month_dir)["jobs"]  # readable, with what finished


def test_dask_local_cluster_gives_the_same_files(full, world, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    only = ["company", "B01", "E02"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        s = batch(world, out, only=only, scheduler=cluster.scheduler_address)
    assert (s.ok, s.failed) == (3, 0)
    month_dir = out / MONTH
    assert html_files(month_dir) == {"company.html", "branches/B01.html", "employees/E02.html"}
    for f in html_files(month_dir):
        assert sha(month_dir / f) == sha(full["dir"] / f), f
    assert {r["fingerprint"]["sha256"] for r in manifest(month_dir)["jobs"].values()} <= {
        r["fingerprint"]["sha256"] for r in manifest(full["dir"])["jobs"].values()}


def test_progress_logs_counts_failures_and_eta(caplog, monkeypatch):
    from perfkit.batch.progress import Progress, auto_mode, fmt_seconds

    assert auto_mode() == "log"  # CI=true (autouse fixture)
    monkeypatch.delenv("CI")
    assert auto_mode() == "log"  # standard error is not a terminal under pytest
    p = Progress(3, "log")
    with caplog.at_level("INFO", logger="perfkit.batch"):
        p.update("employee/E1", {"status": "ok", "seconds": 2.0})
        p.update("employee/E2", {"status": "failed", "seconds": 1.5,
                                 "error": {"exception": "ValueError", "message": "坏数据"}})
    lines = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"\[1/3\] ok employee/E1 in 2\.0s; 0 failed, ETA \d+s", lines[0])
    assert lines[1].startswith("[2/3] failed employee/E2 in 1.5s (ValueError: 坏数据); 1 failed, ETA ")
    assert (fmt_seconds(4), fmt_seconds(75), fmt_seconds(3725)) == ("4s", "1m15s", "1h02m")


def test_exporters_are_looked_up_lazily_by_name():
    from perfkit.batch.export import get_exporter, plain_export
    from perfkit.errors import RenderError

    assert get_exporter("plain") is plain_export
    assert get_exporter(plain_export) is plain_export
    assert get_exporter("perfkit.batch.export:plain_export") is plain_export
    with pytest.raises(RenderError, match=r"unknown exporter 'pdf'; known: perfkit, plain or "
                                          r"'module:function'"):
        get_exporter("pdf")
    default = get_exporter(None)  # perfkit.report.export.export, imported only now
    assert (default.__module__, default.__name__) == ("perfkit.report.export", "export")


def test_reports_of_entities_gone_from_the_store_are_removed(tmp_path):
    from perfkit.batch.manifest import Manifest

    month_dir = tmp_path / MONTH
    for rel in ("employees/E1.html", "notebooks/employees/E1.ipynb", "employees/E2.html",
                "branches/B1.html"):
        (month_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (month_dir / rel).write_text("x", encoding="utf-8")
    m = Manifest(month_dir, MONTH, {
        "employee/E1": {"role": "employee", "output": {"path": "employees/E1.html"},
                        "executed_notebook": "notebooks/employees/E1.ipynb"},
        "employee/E2": {"role": "employee", "output": {"path": "employees/E2.html"}},
        "branch/B1": {"role": "branch", "output": {"path": "branches/B1.html"}},
    })
    # only employees were planned; E1 is no longer employed this month; B1 is out of scope
    assert m.drop_obsolete(("employee",), {"employee/E2"}) == ["employee/E1"]
    assert set(m.jobs) == {"employee/E2", "branch/B1"}
    assert sorted(p.relative_to(month_dir).as_posix() for p in month_dir.rglob("*.*")) == [
        "branches/B1.html", "employees/E2.html"]
