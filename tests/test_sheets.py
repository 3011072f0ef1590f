"""No CSV or Excel file perfkit writes holds a cell a spreadsheet would run: hostile names through
every writer (the CLI's csv and xlsx exports, the reports' CSV links, distribution.csv), checked
with openpyxl for the cells' data type; the import warns about formula-like text."""

from __future__ import annotations

import base64
import csv
import io
import logging

import duckdb
import openpyxl
import pandas as pd
import pytest
from conftest import build_tiny_store

from perfkit.cli import main
from perfkit.sheets import frame_csv, looks_like_formula, neutralise, safe_rows, write_xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tTAB", "\rCR", "-e5"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_an_apostrophe(text):
    assert looks_like_formula(text) and neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["-12.5", "+86", "-1,234", "12%", "张伟", "", 3, -4.5, None])
def test_numbers_and_plain_text_stay(value):
    assert neutralise(value) == value or (value != value)


def test_xlsx_cells_are_strings_never_formulas(tmp_path):
    df = pd.DataFrame({"name": HOSTILE, "value": range(len(HOSTILE))})
    write_xlsx({"=sheet": df}, tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    names = [ws.cell(row=i + 2, column=1) for i in range(len(HOSTILE))]
    assert [c.value for c in names] == ["'" + t.replace("\r", "\n") for t in HOSTILE]  # xlsx: \r → \n
    assert all(c.data_type == "s" for c in names)
    assert [ws.cell(row=i + 2, column=2).data_type for i in range(len(HOSTILE))] == ["n"] * len(HOSTILE)


def test_csv_text_and_rows_are_neutralised():
    text = frame_csv(pd.DataFrame({"name": HOSTILE, "n": [1.5] * len(HOSTILE)}))
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [r[0] for r in rows] == ["'" + t for t in HOSTILE] and {r[1] for r in rows} == {"1.5"}
    assert safe_rows([{"recipient_name": "=1+1", "file": "a.html"}]) == [
        {"recipient_name": "'=1+1", "file": "a.html"}]


@pytest.fixture
def hostile_store(tmp_path):
    path = build_tiny_store(tmp_path / "hostile.duckdb")
    con = duckdb.connect(str(path))
    con.execute("UPDATE clients SET client_name = ? WHERE client_id = 'C01'", [HOSTILE[0]])
    con.execute("UPDATE employees SET employee_name = ? WHERE employee_id = 'E1'", [HOSTILE[2]])
    con.close()
    return path


@pytest.mark.parametrize("command", [
    ["tasks", "--level", "company"],
    ["indicators", "--level", "employee"],
    ["scores", "--level", "employee"],
])
def test_cli_exports_hold_no_formula(hostile_store, tmp_path, command, params_dir):
    base = [*command, "--db", str(hostile_store), "--params", str(params_dir), "--month", "2026-10"]
    assert main([*base, "--format", "xlsx", "--out", str(tmp_path / "out.xlsx")]) == 0
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert not any(looks_like_formula(t) for t in texts)
    assert any(t.startswith("'") and t[1:] in HOSTILE for t in texts), command
    assert main([*base, "--format", "csv", "--out", str(tmp_path / "out.csv")]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8-sig"))))
    assert not any(looks_like_formula(v) for row in rows for v in row)


def test_report_csv_links_hold_no_formula():
    from perfkit.report.widgets import csv_data_uri

    uri = csv_data_uri(pd.DataFrame({"客户": HOSTILE}))
    body = base64.b64decode(uri.split(",", 1)[1]).decode("utf-8-sig")
    assert not any(looks_like_formula(v) for row in csv.reader(io.StringIO(body, newline="")) for v in row)


def test_import_warns_about_formula_like_text(tmp_path, caplog):
    from perfkit.data.importer import import_paths

    path = tmp_path / "branches.csv"
    path.write_text("branch_id,branch_name,region,city,region_class\n"
                    "B1,正常营业部,华东,上海,一类\nB2,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",华东,上海,一类\n",
                    encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="perfkit")
    assert import_paths(tmp_path / "s.duckdb", [path]) == {"branches": 2}
    warned = [r.getMessage() for r in caplog.records if "formula" in r.getMessage()]
    assert len(warned) == 1 and "branches.branch_name" in warned[0] and "1 row(s)" in warned[0]
