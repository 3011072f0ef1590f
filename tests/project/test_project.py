"""perfkit projects: ``perfkit init``, finding the project from any folder inside it (or
``--project``), the one-line error outside any, ``check``'s differences from the installed
defaults, ``--month latest|previous``, and ``perfkit lab``'s command line."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
import yaml

from perfkit.cli import main
from perfkit.data.store import resolve_month
from perfkit.errors import RequestError, StoreError
from perfkit.project.init import init_project
from perfkit.project.lab import lab_command
from perfkit.project.upgrade import NEW, UNREAD, differences
from perfkit.projectfile import MARKER, find_project, installed_defaults, load_project
from perfkit.version import __version__

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """A working folder outside any project (and no $PERFKIT_DB / $PERFKIT_PROJECT)."""
    monkeypatch.delenv("PERFKIT_DB", raising=False)
    monkeypatch.delenv("PERFKIT_PROJECT", raising=False)
    here = tmp_path / "elsewhere"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def project(tmp_path, outside, tiny_store) -> Path:
    """A project made by ``perfkit init``, with the tiny store as its store."""
    root = tmp_path / "firm"
    assert main(["init", str(root)]) == 0
    shutil.copyfile(tiny_store, root / "data" / "crm.duckdb")
    return root


def test_init_writes_a_project(project):
    assert (project / MARKER).is_file() and (project / ".gitignore").is_file()
    assert "/data/" in (project / ".gitignore").read_text()
    assert "/output/" in (project / ".gitignore").read_text()
    assert (project / "README.md").read_text(encoding="utf-8").count("perfkit") > 2
    for name in ("company", "branch", "employee"):
        assert (project / "notebooks" / f"{name}.ipynb").is_file()
    defaults = installed_defaults() / "parameters"
    for path in defaults.rglob("*.*"):
        copy = project / "parameters" / path.relative_to(defaults)
        assert copy.read_bytes() == path.read_bytes(), copy
    marker = yaml.safe_load((project / MARKER).read_text())
    assert marker["perfkit_version"] == __version__ and marker["store"] == "data/crm.duckdb"
    loaded = load_project(project)
    assert loaded.store == (project / "data" / "crm.duckdb").resolve()
    assert loaded.output == (project / "output").resolve()


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, outside, capsys):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["init", str(target)]) == RequestError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not empty" in err[0]
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    # --force adds the project's files and keeps the ones already there
    (target / "parameters").mkdir()
    (target / "parameters" / "scorecard.yaml").write_text("# the firm's own\n")
    init_project(target, force=True)
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "parameters" / "scorecard.yaml").read_text() == "# the firm's own\n"
    assert (target / MARKER).is_file() and (target / "parameters" / "indicators.yaml").is_file()


def test_commands_find_the_project_from_a_subfolder(project, monkeypatch, capsys):
    deep = project / "notebooks" / "drafts"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert find_project().root == project.resolve()
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert str((project / "data" / "crm.duckdb").resolve()) in out and "2026-10" in out
    assert main(["indicators", "--month", "2026-10", "--level", "company", "--format", "csv"]) == 0
    assert "leads_new" in capsys.readouterr().out


def test_project_option_points_elsewhere(project, outside, capsys):
    assert main(["--project", str(project), "info"]) == 0
    assert str((project / "data" / "crm.duckdb").resolve()) in capsys.readouterr().out


def test_outside_a_project_one_line_names_init(outside, capsys):
    for argv in (["info"], ["run", "--month", "2026-10"], ["check"], ["lab"]):
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == RequestError.exit_code, argv
        assert len(err) == 1 and "not inside a perfkit project" in err[0], (argv, err)
        assert "perfkit init" in err[0]
    assert main(["--project", str(outside), "info"]) == RequestError.exit_code
    assert "perfkit init" in capsys.readouterr().err


def test_project_paths_come_from_perfkit_yaml(tmp_path, outside, tiny_store, capsys):
    root = tmp_path / "custom"
    init_project(root)
    (root / "store").mkdir()
    shutil.copyfile(tiny_store, root / "store" / "month.duckdb")
    text = (root / MARKER).read_text().replace("store: data/crm.duckdb", "store: store/month.duckdb")
    (root / MARKER).write_text(text)
    assert main(["--project", str(root), "info"]) == 0
    assert "month.duckdb" in capsys.readouterr().out
    (root / MARKER).write_text(text + "colour: blue\n")
    assert main(["--project", str(root), "info"]) == 2
    err = capsys.readouterr().err
    assert MARKER in err and "colour" in err


def test_check_lists_how_the_parameters_differ_from_the_defaults(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["check"]) == 0
    assert "difference" not in capsys.readouterr().out
    sc = project / "parameters" / "scorecard.yaml"
    sc.write_text(sc.read_text(encoding="utf-8").replace("missing: renormalise\n", ""),
                  encoding="utf-8")
    run = project / "parameters" / "run.yaml"
    run.write_text(run.read_text(encoding="utf-8") + "old_setting: 3\n", encoding="utf-8")
    diffs = {(d.file, d.field, d.kind) for d in differences(project / "parameters")}
    assert diffs == {("scorecard.yaml", "missing", NEW), ("run.yaml", "old_setting", UNREAD)}
    main(["check"])
    out = capsys.readouterr().out
    assert "scorecard.yaml: missing: in the installed defaults, not set here" in out
    assert "run.yaml: old_setting: not in the installed defaults" in out


def test_differences_match_entries_by_id(tmp_path):
    defaults = tmp_path / "defaults"
    mine = tmp_path / "mine"
    for folder, entries in ((defaults, [{"id": "a", "weight": 1, "params": {"cap": 1}},
                                        {"id": "b", "weight": 2}]),
                            (mine, [{"id": "a", "weight": 1}, {"id": "c", "weight": 1}])):
        (folder / "measures").mkdir(parents=True)
        (folder / "x.yaml").write_text(yaml.safe_dump({"indicators": entries, "grades": [
            {"name": "A", "min": 90}]}))
    (defaults / "measures" / "new.sql").write_text("select 1")
    found = {(d.file, d.field, d.kind) for d in differences(mine, defaults)}
    assert found == {("measures/new.sql", None, NEW), ("x.yaml", "indicators[a].params", NEW),
                     ("x.yaml", "indicators[b]", NEW), ("x.yaml", "indicators[c]", UNREAD)}


def test_month_words_resolve_to_complete_months(tiny_store):
    assert resolve_month(tiny_store, None, today=dt.date(2026, 12, 4)) == "2026-10"
    assert resolve_month(tiny_store, "latest", today=dt.date(2026, 12, 4)) == "2026-10"
    assert resolve_month(tiny_store, "previous", today=dt.date(2026, 12, 4)) == "2026-09"
    # on 2026-10-20 October's data is still coming in
    assert resolve_month(tiny_store, "latest", today=dt.date(2026, 10, 20)) == "2026-09"
    assert resolve_month(tiny_store, "2026-08") == "2026-08"
    with pytest.raises(StoreError, match="no complete month"):
        resolve_month(tiny_store, "latest", today=dt.date(2026, 8, 31))


def test_month_latest_is_accepted_by_the_commands(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    argv = ["indicators", "--level", "company", "--format", "csv", "--month"]
    assert main([*argv, "previous"]) == 0
    captured = capsys.readouterr()
    assert "month 2026-09 (previous complete month" in captured.err
    assert main([*argv, "2026-09"]) == 0
    assert capsys.readouterr().out == captured.out
    assert main([*argv, "latest"]) == 0
    assert capsys.readouterr().out != captured.out


def test_lab_command_line_sets_the_store_and_allows_root(project, monkeypatch):
    monkeypatch.chdir(project / "notebooks")
    argv, env = lab_command(find_project(), ["--no-browser"])
    assert argv[1:4] == ["-m", "jupyter", "lab"]
    assert f"--notebook-dir={(project / 'notebooks').resolve()}" in argv
    assert argv[-1] == "--no-browser"
    assert ("--allow-root" in argv) == (os.geteuid() == 0)
    assert env["PERFKIT_DB"] == str((project / "data" / "crm.duckdb").resolve())


def test_lab_starts_jupyterlab_on_the_notebooks(project, monkeypatch):
    """``perfkit lab`` really serves the project's notebooks (as root too: --allow-root)."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HOME": str(project.parent / "home")}
    env.pop("PERFKIT_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit.cli", "lab", "--", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--IdentityProvider.token=perfkit-test"],
        cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/api/contents?token=perfkit-test"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    listing = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer in 90 s"
                time.sleep(0.5)
        names = {item["name"] for item in listing["content"]}
        assert {"company.ipynb", "branch.ipynb", "employee.ipynb"} <= names
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    # stopping perfkit lab stops JupyterLab: nothing is left serving the port
    import psutil

    left = [p for p in psutil.process_iter(["cmdline"])
            if f"--port={port}" in (p.info["cmdline"] or [])]
    for p in left:
        p.kill()
    assert not left, "JupyterLab outlived perfkit lab"
