from __future__ import annotations

import re
import subprocess
import sys

import pytest

from perfkit.cli import build_parser, main
from perfkit.data.store import create_store


def _flags(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"}


@pytest.mark.parametrize("command", ["demo", "import", "indicators", "tasks", "tables", "scores", "render", "run", "check"])
def test_help_documents_every_flag(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in _flags(command):
        # every flag appears with a help text after it
        assert re.search(re.escape(flag) + r"[ A-Z_{},.]*\n?\s+\S", text), flag


def test_demo_flags_are_those_of_the_issue():
    assert {"--db", "--branches", "--employees", "--clients", "--months", "--end-month",
            "--seed"} <= _flags("demo")


def test_error_is_one_line_and_an_exit_code(tmp_path, capsys):
    code = main(["info", "--db", str(tmp_path / "missing.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert err[-1].startswith("perfkit: error: ") and "missing.duckdb: store not found" in err[-1]


def test_bad_month_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["indicators", "--month", "2026-13"])
    assert exc.value.code == 2
    assert "month must be YYYY-MM, latest or previous, got '2026-13'" in capsys.readouterr().err


def test_info_on_empty_store(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    create_store(db).close()
    assert main(["info", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "client_months" in out and "months: none" in out


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "perfkit.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "perfkit" in out and "demo" in out
