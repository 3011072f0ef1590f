"""Every command that reads the parameters validates them before it opens a store or a kernel:
exit 2 in well under a second, one line, entries named by their id."""

from __future__ import annotations

import shutil
import time

import pytest

from perfkit.cli import main
from perfkit.errors import SpecError


@pytest.fixture
def broken(tmp_path, params_dir):
    dst = tmp_path / "parameters"
    shutil.copytree(params_dir, dst)
    sc = dst / "scorecard.yaml"
    text = sc.read_text(encoding="utf-8")
    old = "      - {id: lead_conversion_rate, weight: 20, method: linear, params: {floor: 0}}"
    assert old in text
    sc.write_text(text.replace(old, "      - {id: lead_conversion_rate, wieght: 20, method: linear, "
                               "params: {floor: 0}}"), encoding="utf-8")
    return dst


@pytest.mark.parametrize("argv", [
    ["render", "--month", "2026-10", "--role", "company", "--out", "x.html"],
    ["run", "--month", "2026-10"],
    ["scores", "--month", "2026-10", "--level", "employee"],
    ["snapshot", "--month", "2026-10"],
])
def test_broken_parameters_stop_a_command_before_any_work(broken, tiny_store, tmp_path, argv,
                                                          monkeypatch, capsys):
    import perfkit.batch.execute as execute
    import perfkit.data.store as store

    def no_work(*a, **k):
        raise AssertionError("the command went on with broken parameters")

    monkeypatch.setattr(execute, "execute_job", no_work)
    monkeypatch.setattr(store, "open_store", no_work)
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code = main([*argv, "--db", str(tiny_store), "--params", str(broken)])
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert code == SpecError.exit_code
    assert len(err) == 1, err
    assert err[0].startswith("perfkit: error: ") and "scorecard.yaml" in err[0]
    assert "families.potential.indicators[lead_conversion_rate]" in err[0], err[0]
    assert "wieght" in err[0] or "weight" in err[0]


def test_a_yaml_syntax_error_is_one_line_and_debug_shows_the_parser(tmp_path, params_dir, capsys):
    dst = tmp_path / "parameters"
    shutil.copytree(params_dir, dst)
    (dst / "tasks.yaml").write_text("rules:\n  - id: x\n   name: [\n", encoding="utf-8")
    assert main(["check", "--params", str(dst)]) == SpecError.exit_code
    lines = [x for x in capsys.readouterr().err.splitlines() if "tasks.yaml" in x]
    assert lines and all("line " in x and "column " in x for x in lines)
    assert main(["tasks", "--month", "2026-10", "--params", str(dst)]) == SpecError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tasks.yaml: not valid YAML: line 3, column 4" in err[0], err
    # --debug adds the parser's own text (the line and a caret under the column) after that line
    assert main(["--debug", "tasks", "--month", "2026-10", "--params", str(dst)]) == SpecError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert "tasks.yaml: not valid YAML: line 3, column 4" in err[0] and len(err) > 3, err
    assert any("^" in line for line in err[1:]) and any("line 3, column 4" in x for x in err[1:])
