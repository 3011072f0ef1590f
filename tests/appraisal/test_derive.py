"""Deriving scorecard weights (perfkit.appraisal.derive) and notebooks/weights.ipynb under papermill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from perfkit.appraisal import derive
from perfkit.appraisal import weights as W
from perfkit.appraisal.spec import validate_scorecard
from perfkit.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "parameters"
LOST = ["churn_rate", "lost_assets", "recall_rate", "recall_contact_rate"]
M4 = [[1, 3, 2, 4], [1 / 3, 1, 1 / 2, 2], [1 / 2, 2, 1, 3], [1 / 4, 1 / 2, 1 / 3, 1]]


def test_read_matrix_from_csv_with_fractions(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(",a,b,c\na,1,3,5\nb,1/3,1,3\nc,1/5,1/3,1\n", encoding="utf-8")
    m = derive.read_matrix(csv)
    assert list(m.index) == ["a", "b", "c"] and m.loc["b", "a"] == pytest.approx(1 / 3)
    csv.write_text(",a,b\nb,1,x\na,1,1\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"read_matrix: .*m.csv: 'x' is not a number or fraction"):
        derive.read_matrix(csv)
    csv.write_text(",a,b\nb,1,2\na,1/2,1\n", encoding="utf-8")
    with pytest.raises(SpecError, match="the first row and the first column must list the same "
                                        "items in the same order"):
        derive.read_matrix(csv)
    with pytest.raises(SpecError, match=r"read_matrix: 2 items but a matrix of shape \(3, 3\)"):
        derive.read_matrix(np.ones((3, 3)), ["a", "b"])


def test_saaty_to_fuzzy_is_complementary():
    f = derive.saaty_to_fuzzy([[1, 9, 3], [1 / 9, 1, 1 / 3], [1 / 3, 3, 1]])
    assert f[0, 1] == pytest.approx(1.0) and f[1, 0] == pytest.approx(0.0)
    assert f[0, 2] == pytest.approx(0.75) and np.allclose(f + f.T, 1)


def test_compare_methods_side_by_side():
    m = derive.read_matrix(M4, LOST)
    table, ahp = derive.compare_methods(m, [[4, 3, 3, 2], [4, 2, 3, 1]])
    assert list(table.columns) == ["ahp", "fuzzy_consistent", "expert", "equal"]
    assert np.allclose(table.sum(), 1)
    assert table["ahp"].to_numpy() == pytest.approx(W.ahp_weights(M4).weights)
    assert table["expert"].to_numpy() == pytest.approx(np.array([8, 5, 6, 3]) / 22)
    assert table["ahp"].idxmax() == table["fuzzy_consistent"].idxmax() == "churn_rate"
    assert ahp.consistent


def test_percent_weights_sum_to_exactly_100():
    p = derive.percent_weights({"a": 1, "b": 1, "c": 1})
    assert p == {"a": 33.4, "b": 33.3, "c": 33.3} and round(sum(p.values()), 6) == 100
    assert derive.percent_weights(pd.Series({"x": 0.4673, "y": 0.5327})) == {"x": 46.7, "y": 53.3}
    with pytest.raises(SpecError, match="percent_weights: weights must be ≥ 0 with a positive sum"):
        derive.percent_weights({"a": -1, "b": 2})


def test_snippet_is_the_exact_family_yaml_and_write_validates(tmp_path):
    w = dict(zip(LOST, [0.5, 0.2, 0.2, 0.1], strict=True))
    snippet = derive.scorecard_snippet(PARAMS, "lost", w)
    fam = yaml.safe_load("families:\n" + snippet)["families"]["lost"]
    assert [i["weight"] for i in fam["indicators"]] == [50, 20, 20, 10]
    orig = yaml.safe_load((PARAMS / "scorecard.yaml").read_text(encoding="utf-8"))
    assert fam["weight"] == orig["families"]["lost"]["weight"]
    assert [{k: v for k, v in i.items() if k != "weight"} for i in fam["indicators"]] == [
        {k: v for k, v in i.items() if k != "weight"} for i in orig["families"]["lost"]["indicators"]]
    out = derive.write_scorecard(PARAMS, "lost", w, tmp_path / "sc.yaml")
    sc, problems = validate_scorecard(yaml.safe_load(out.read_text(encoding="utf-8")))
    assert problems == [] and sc is not None
    with pytest.raises(SpecError, match=r"family 'lost' scores churn_rate, lost_assets, recall_rate, "
                                        r"recall_contact_rate; .*missing: recall_contact_rate; "
                                        r"unknown: churn"):
        derive.scorecard_snippet(PARAMS, "lost", {"churn": 1, "churn_rate": 1, "lost_assets": 1,
                                                  "recall_rate": 1})
    with pytest.raises(SpecError, match="no family 'gone'; families: potential, existing, lost, daily"):
        derive.scorecard_snippet(PARAMS, "gone", w)


def test_weights_notebook_runs_under_papermill(tmp_path):
    out_nb, out_yaml = tmp_path / "weights.ipynb", tmp_path / "scorecard.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
         str(ROOT / "notebooks" / "weights.ipynb"), str(out_nb), "-p", "params", str(PARAMS),
         "-p", "out", str(out_yaml), "-p", "chosen", "fuzzy_consistent"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    nb = json.loads(out_nb.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    assert [o for o in outputs if o["output_type"] == "error"] == []
    printed = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert "CR = 0.0115" in printed and "一致性可接受" in printed
    written = yaml.safe_load(out_yaml.read_text(encoding="utf-8"))["families"]["lost"]
    assert sum(i["weight"] for i in written["indicators"]) == pytest.approx(100)
    assert "      - {id: churn_rate, weight: " in printed   # the snippet to paste
