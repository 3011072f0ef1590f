"""The report commands of the CLI (indicators, tasks, tables, scores, check) and the analyst notebook,
on the tiny hand-built store of conftest.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from perfkit.cli import main
from perfkit.metrics.indicators import indicators

ROOT = Path(__file__).resolve().parents[2]


def test_indicators_csv_matches_the_api(tiny_store, capsys):
    assert main(["indicators", "--db", str(tiny_store), "--month", "2026-10", "--level", "branch",
                 "--format", "csv"]) == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out))
    want = indicators(tiny_store, "2026-10", "branch")
    assert list(got["indicator_id"]) == list(want["indicator_id"])
    assert got["value"].round(6).equals(want["value"].round(6).reset_index(drop=True))


def test_indicators_xlsx_needs_out_and_writes_a_workbook(tiny_store, tmp_path, capsys):
    assert main(["indicators", "--db", str(tiny_store), "--month", "2026-10",
                 "--format", "xlsx"]) == 5
    assert "--format xlsx needs --out" in capsys.readouterr().err
    out = tmp_path / "company.xlsx"
    assert main(["indicators", "--db", str(tiny_store), "--month", "2026-10",
                 "--format", "xlsx", "--out", str(out)]) == 0
    sheet = pd.read_excel(out)
    assert len(sheet) == len(indicators(tiny_store, "2026-10", "company"))


def test_tasks_are_masked_in_the_cli(tiny_store, capsys):
    assert main(["tasks", "--db", str(tiny_store), "--month", "2026-10", "--level", "company",
                 "--format", "csv"]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str)
    assert len(out) > 0
    phones = out["phone"].dropna()
    assert phones.str.fullmatch(r"1\d\d\*{4}\d{4}").all()


def test_tables_by_name_and_unknown_name(tiny_store, capsys):
    assert main(["tables", "--db", str(tiny_store), "--month", "2026-10",
                 "--name", "流失客户情况统计表"]) == 0
    out = capsys.readouterr().out
    assert "合计" in out
    assert main(["tables", "--db", str(tiny_store), "--month", "2026-10", "--name", "nope"]) == 5
    assert "unknown table 'nope'; known: 潜在客户情况统计表" in capsys.readouterr().err


def test_scores_and_breakdown(tiny_store, capsys):
    assert main(["scores", "--db", str(tiny_store), "--month", "2026-10", "--format", "csv"]) == 0
    scores = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert {"entity_id", "composite", "grade", "stars"} <= set(scores.columns)
    assert main(["scores", "--db", str(tiny_store), "--month", "2026-10", "--breakdown",
                 "--format", "csv"]) == 0
    bd = pd.read_csv(io.StringIO(capsys.readouterr().out))
    sums = bd.groupby("entity_id")["points"].sum()
    merged = scores.set_index("entity_id")["kpi_score"].reindex(sums.index)
    assert (sums - merged).abs().max() < 1e-6


def test_month_outside_the_data_is_exit_5(tiny_store, capsys):
    assert main(["indicators", "--db", str(tiny_store), "--month", "2020-01"]) == 5
    assert "2020-01" in capsys.readouterr().err


def test_check_valid_and_broken(tmp_path, capsys):
    assert main(["check", "--params", str(ROOT / "parameters")]) == 0
    broken = tmp_path / "parameters"
    import shutil

    shutil.copytree(ROOT / "parameters", broken)
    text = (broken / "indicators.yaml").read_text(encoding="utf-8")
    (broken / "indicators.yaml").write_text(text.replace("family: lost", "family: gone", 1),
                                            encoding="utf-8")
    assert main(["check", "--params", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "indicators.yaml" in err and "gone" in err


def test_explore_notebook_runs_under_papermill(tiny_store, tmp_path):
    out = tmp_path / "explore.ipynb"
    res = subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
         str(ROOT / "notebooks" / "explore.ipynb"), str(out), "-p", "month", "2026-10",
         "-p", "db", str(tiny_store), "-p", "params", str(ROOT / "parameters")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    nb = json.loads(out.read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
