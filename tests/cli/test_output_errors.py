"""Operator errors are one line: an output folder that cannot be written is found before any work
(exit 8, the path named), a write failing mid-run (a full disk) still leaves a manifest or says
in one line what it could not write, and no traceback reaches the terminal without --debug."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import time

import pytest

from perfkit.cli import main
from perfkit.errors import OutputError

DROP = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]  # root obeys chmod then


@pytest.fixture
def read_only(tmp_path):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's DAC override")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("argv", [
    ["run", "--month", "2026-10", "--out", "{ro}"],
    ["render", "--month", "2026-10", "--role", "company", "--out", "{ro}/company.html"],
    ["indicators", "--month", "2026-10", "--level", "company", "--format", "xlsx",
     "--out", "{ro}/x.xlsx"],
])
def test_an_unwritable_output_is_one_line_before_any_work(read_only, tiny_store, params_dir, argv):
    argv = [a.replace("{ro}", str(read_only)) for a in argv]
    started = time.perf_counter()
    done = subprocess.run([*DROP, sys.executable, "-m", "perfkit.cli", "-q", *argv, "--db",
                           str(tiny_store), "--params", str(params_dir)],
                          capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - started < 20  # no kernel was started
    err = done.stderr.strip().splitlines()
    assert done.returncode == OutputError.exit_code, done.stderr
    assert err == [f"perfkit: error: {read_only}: cannot write here: Permission denied"]
    assert list(read_only.iterdir()) == []


def test_a_full_disk_mid_run_keeps_going_and_says_what_it_could_not_write(
        tiny_store, params_dir, tmp_path, monkeypatch, capsys):
    from perfkit.batch import index, runner
    from perfkit.batch.manifest import Manifest

    real = Manifest.save
    calls = []

    def full(self):
        calls.append(1)
        if len(calls) > 1:  # the planning save works, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real(self)

    monkeypatch.setattr(Manifest, "save", full)
    out = tmp_path / "out"
    summary = runner.run("2026-10", only=["company", "B01"], db=tiny_store, out=out,
                         params=params_dir, exporter="plain", progress="off", workers=1)
    assert summary.ok == 2 and (out / "2026-10" / "index.html").is_file()

    argv = ["-q", "run", "--month", "2026-10", "--only", "company", "--db", str(tiny_store),
            "--params", str(params_dir), "--out", str(out), "--exporter", "plain", "--force",
            "--progress", "off", "--workers", "1"]
    assert main(argv) == OutputError.exit_code  # full from the start: the manifest, in one line
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"perfkit: error: {out / '2026-10' / 'manifest.json'}: No space left on device"]

    def no_index(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Manifest, "save", real)
    monkeypatch.setattr(runner, "write_outputs", no_index)
    monkeypatch.setattr(index, "write_outputs", no_index)
    assert main(argv) == OutputError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "index could not be written" in err[0], err
    assert "No space left on device" in err[0]


def test_an_unexpected_error_is_one_line_unless_debug(monkeypatch, capsys):
    import perfkit.cli.store as store

    def boom(args):
        raise ValueError("something\nunexpected")

    monkeypatch.setattr(store, "cmd_schema", boom)
    assert main(["schema"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error ValueError: something unexpected" in err[0]
    assert "--debug" in err[0]
    with pytest.raises(ValueError):
        main(["--debug", "schema"])


def test_a_write_failing_inside_a_worker_fails_that_job_with_the_reason(
        read_only, tiny_store, params_dir, tmp_path):
    """EACCES for real, in the worker that writes an employee's report (root's DAC override
    dropped): that job fails naming the path and the reason; the other reports, the manifest and
    the index are written."""
    import json

    out = tmp_path / "out"
    (out / "2026-10").mkdir(parents=True)
    shutil.move(read_only, out / "2026-10" / "employees")  # a folder of 0555
    read_only.mkdir()  # for the fixture's clean-up
    done = subprocess.run(
        [*DROP, sys.executable, "-m", "perfkit.cli", "-q", "run", "--month", "2026-10", "--only",
         "company,E1", "--db", str(tiny_store), "--params", str(params_dir), "--out", str(out),
         "--exporter", "plain", "--progress", "off", "--workers", "1"],
        capture_output=True, text=True, timeout=300)
    (out / "2026-10" / "employees").chmod(0o755)
    assert "Traceback" not in done.stderr, done.stderr
    jobs = json.loads((out / "2026-10" / "manifest.json").read_text())["jobs"]
    assert jobs["company/company"]["status"] == "ok" and (out / "2026-10" / "company.html").is_file()
    failed = jobs["employee/E1"]
    assert failed["status"] == "failed" and failed["error"]["exception"] == "PermissionError"
    assert "Permission denied" in failed["error"]["message"]
    assert str(out / "2026-10" / "employees") in failed["error"]["message"]
    assert (out / "2026-10" / "index.html").is_file()
    assert done.returncode != 0 and "E1" in done.stderr
