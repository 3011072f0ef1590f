"""One consistent store per run: while a run reads the store, import, publish, demo and
upgrade-store are refused naming the run (or wait with --wait); a run does not start while a
writer holds it; a killed holder releases the store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from perfkit.cli import main
from perfkit.data.lock import holders, reading, writing
from perfkit.errors import StoreError


@pytest.fixture
def store(tiny_store, tmp_path):
    path = tmp_path / "crm.duckdb"
    shutil.copyfile(tiny_store, path)
    return path


def _branches_csv(tmp_path):
    path = tmp_path / "branches.csv"
    path.write_text("branch_id,branch_name,region,city,region_class\nB09,新营业部,华东,上海,一类\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("argv", [
    ["import", "{csv}"],
    ["publish", "--month", "2026-10"],
    ["demo", "--branches", "1", "--employees", "2", "--clients", "10", "--months", "1"],
    ["upgrade-store"],
])
def test_writers_are_refused_while_a_run_reads_the_store(store, tmp_path, params_dir, argv, capsys):
    argv = [a.replace("{csv}", str(_branches_csv(tmp_path))) for a in argv]
    extra = ["--params", str(params_dir)] if argv[0] in ("import", "publish") else []
    with reading(store, "perfkit run 2026-10"):
        assert main([*argv, "--db", str(store), *extra]) == StoreError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in use by perfkit run 2026-10" in err[0] and "--wait" in err[0]
    assert f"pid {os.getpid()}" in err[0]


def test_wait_lets_the_writer_go_once_the_run_ends(store, tmp_path, params_dir):
    released = threading.Event()

    def run_for_a_second():
        with reading(store, "perfkit run 2026-10"):
            released.wait(5)
            time.sleep(0.5)

    holder = threading.Thread(target=run_for_a_second)
    holder.start()
    time.sleep(0.2)
    released.set()
    started = time.perf_counter()
    assert main(["import", str(_branches_csv(tmp_path)), "--db", str(store), "--wait"]) == 0
    assert time.perf_counter() - started >= 0.3
    holder.join()
    assert holders(store) == []


def test_a_run_does_not_start_while_a_writer_holds_the_store(store, params_dir, tmp_path):
    from perfkit.batch import run

    with writing(store, "perfkit import"), pytest.raises(StoreError, match="perfkit import"):
        run("2026-10", db=store, params=params_dir, out=tmp_path / "out", progress="off")


def test_a_killed_holder_releases_the_store(store, tmp_path):
    code = ("import sys, time; from perfkit.data.lock import reading\n"
            f"with reading({str(store)!r}, 'perfkit run 2026-10'):\n"
            "    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(StoreError, match=f"pid {proc.pid}"), writing(store, "perfkit import"):
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with writing(store, "perfkit import"):  # the kernel released the flock with the process
        assert [h["what"] for h in holders(store)] == ["perfkit import"]


def test_render_reads_the_store_under_the_same_rule(store, params_dir, tmp_path):
    from perfkit.batch.render import render

    with writing(store, "perfkit import"), pytest.raises(StoreError, match="perfkit import"):
        render("2026-10", "company", tmp_path / "c.html", db=store, params=params_dir)


def test_snapshot_reads_the_store_under_the_same_rule(store, params_dir, tmp_path, capsys):
    with writing(store, "perfkit import"):
        code = main(["snapshot", "--db", str(store), "--params", str(params_dir), "--month", "2026-10",
                     "--root", str(tmp_path / "snap")])
    assert code == 3 and "perfkit import" in capsys.readouterr().err
    assert not (tmp_path / "snap").exists() or not any((tmp_path / "snap").iterdir())
