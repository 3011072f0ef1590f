"""perfkit import finds every problem at once: all classes with counts and first rows, across files,
row rules between columns (dates in order, a client's branch = his manager's unless waived), and
Excel read by calamine with openpyxl as the fallback."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from conftest import build_tiny_store

from perfkit.cli import main
from perfkit.data import excel
from perfkit.data.importer import import_paths
from perfkit.data.readers import ReadOptions, read_file
from perfkit.data.store import open_store, store_checksums
from perfkit.errors import DataError, ImportFileError, ImportProblems, SpecError

ROOT = Path(__file__).resolve().parents[2]
EMP = ["employee_id", "employee_name", "branch_id", "position", "hire_date", "leave_date"]
CLI = ["client_id", "client_name", "branch_id", "employee_id", "lead_date", "open_date", "lost_date",
       "lost_reason", "recalled_date"]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def checksums(db: Path) -> dict:
    con = open_store(db)
    try:
        return store_checksums(con)
    finally:
        con.close()


@pytest.fixture
def store(tmp_path) -> Path:
    return build_tiny_store(tmp_path / "crm.duckdb")


def failing(db: Path, files, **kw) -> ImportProblems:
    before = checksums(db)
    with pytest.raises(ImportProblems) as info:
        import_paths(db, files, **kw)
    assert checksums(db) == before  # nothing written
    return info.value


def summary(err: ImportProblems) -> list[tuple[str, str | None, str, list[int], int]]:
    return [(Path(p.file).name, p.field, p.message.split(",")[0], p.rows, p.count)
            for p in err.problems]


def test_three_kinds_of_problems_in_two_files_are_reported_together(store, tmp_path):
    emp = write_csv(tmp_path / "employees.csv", EMP, [
        ["E9", "新人", "B01", "客户经理", "2026-13-01", ""],        # not a date
        ["E10", "调入", "B77", "客户经理", "2026-01-01", ""],       # unknown branch
        ["E11", "离职", "B02", "客户经理", "2026-05-01", "2026-04-30"],  # left before hired
        ["E12", "也离职", "B02", "客户经理", "2026-05-01", "2026-01-31"],
    ])
    cli = write_csv(tmp_path / "clients.csv", CLI, [
        ["C90", "甲", "B01", "E1", "2026-10-02", "2026-10-01", "", "", ""],   # opened before lead
        ["C91", "乙", "B02", "E1", "2026-09-01", "2026-09-02", "", "", ""],   # E1 is in B01
        ["C92", "丙", "B02", "E11", "2026-09-01", "", "2026-10-01", "销户", ""],  # lost, never opened
        ["C93", "丁", "B01", "E9", "2026-09-01", "", "", "", ""],  # E9's row has a problem: not unknown
        ["C93", "丁", "B01", "E9", "2026-09-01", "", "", "", ""],  # duplicate key
    ])
    err = failing(store, [cli, emp])
    assert summary(err) == [
        ("employees.csv", "hire_date", "not a date (accepted: YYYY-MM-DD", [2], 1),
        ("employees.csv", "branch_id", "unknown branch_id 'B77': not in table branches (neither in "
         "the store nor in the files of this import)", [3], 1),
        ("employees.csv", "leave_date", "leave_date is before hire_date (rule hired_before_leaving: "
         "hire_date ≤ leave_date)", [4, 5], 2),
        ("clients.csv", "client_id", "duplicate key (client_id) within the file", [5, 6], 2),
        ("clients.csv", "open_date", "open_date is before lead_date (rule lead_before_open: "
         "lead_date ≤ open_date)", [2], 1),
        ("clients.csv", "lost_date", "lost_date is set but open_date is empty (rule lost_after_opening)",
         [4], 1),
        ("clients.csv", "branch_id", "branch_id differs from the branch_id of the row's employee_id in "
         "employees (rule same_branch_as_employee; a source mapping where this is normal lists the "
         "rule under waive in import.yaml)", [3], 1),
    ]
    text = str(err)
    assert text.startswith("7 problems in 2 files; nothing was imported:\n")
    assert "e.g. 'B02 ≠ B01 of E1'" in text and "e.g. '2026-04-30 < 2026-05-01'" in text
    assert len(text.splitlines()) == 8  # the summary, then one line per problem


def test_an_unreadable_file_does_not_bury_the_others_in_foreign_key_noise(store, tmp_path):
    (tmp_path / "branches.csv").write_bytes(b"")
    emp = write_csv(tmp_path / "employees.csv", EMP, [["E9", "新人", "B09", "客户经理", "2026-13-01", ""]])
    err = failing(store, [tmp_path / "branches.csv", emp])
    assert [(Path(p.file).name, p.field) for p in err.problems] == [
        ("branches.csv", None), ("employees.csv", "hire_date")]  # no "unknown branch_id 'B09'"


def test_a_single_problem_is_raised_as_itself(store, tmp_path):
    f = write_csv(tmp_path / "employees.csv", EMP, [["E9", "新人", "B01", "客户经理", "2026-05-01",
                                                     "2026-04-01"]])
    with pytest.raises(DataError) as info:
        import_paths(store, [f])
    assert not isinstance(info.value, ImportProblems)
    assert info.value.rows == [2] and info.value.field == "leave_date"


def test_rules_hold_across_the_store_and_earlier_files(store, tmp_path):
    # E20 comes in this call (B02); his client in B02 is fine, in B01 it is not
    emp = write_csv(tmp_path / "employees.csv", EMP, [["E20", "新人", "B02", "客户经理", "2026-01-05", ""]])
    ok = write_csv(tmp_path / "clients.csv", CLI, [["C95", "甲", "B02", "E20", "2026-09-01", "", "", "", ""]])
    assert import_paths(store, [emp, ok]) == {"employees": 1, "clients": 1}
    bad = write_csv(tmp_path / "clients_x.csv", CLI,
                    [["C96", "乙", "B01", "E20", "2026-09-01", "", "", "", ""]])
    with pytest.raises(DataError, match=r"column branch_id: branch_id differs .* e\.g\. 'B01 ≠ B02 of "
                                        r"E20' \(row 2\)"):
        import_paths(store, [bad])


def _mapping(tmp_path: Path, waive: str) -> Path:
    params = tmp_path / "params"
    params.mkdir()
    (params / "import.yaml").write_text(
        "mappings:\n  crm:\n    tables:\n      clients:\n        file_names: [客户]\n"
        f"        waive: [{waive}]\n", encoding="utf-8")
    return params


def test_a_mapping_can_waive_a_rule_its_system_breaks_by_design(store, tmp_path):
    f = write_csv(tmp_path / "客户.csv", CLI, [["C91", "乙", "B02", "E1", "2026-09-01", "2026-09-02",
                                               "", "", ""]])
    params = _mapping(tmp_path, "same_branch_as_employee")
    assert import_paths(store, [f], mapping="crm", params_dir=params) == {"clients": 1}
    with pytest.raises(DataError, match="same_branch_as_employee"):
        import_paths(store, [f], table="clients")  # without the mapping the rule holds


def test_waiving_an_unknown_rule_is_a_spec_error(store, tmp_path):
    f = write_csv(tmp_path / "客户.csv", CLI, [["C91", "乙", "B01", "E1", "2026-09-01", "", "", "", ""]])
    with pytest.raises(SpecError, match=r"import\.yaml, table clients, entry crm, column waive: waive "
                                        r"names unknown rule 'transfers'; rules of clients: "
                                        r"lead_before_open, "):
        import_paths(store, [f], mapping="crm", params_dir=_mapping(tmp_path, "transfers"))


def test_cli_prints_every_problem_and_exits_4(store, tmp_path, capsys):
    f = write_csv(tmp_path / "employees.csv", EMP, [["E9", "新人", "B77", "客户经理", "x", ""]])
    assert main(["import", "--db", str(store), str(f)]) == 4
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "perfkit: error: 2 problems in 1 file; nothing was imported:"
    assert [line.split("column ")[1].split(":")[0] for line in err[1:]] == ["hire_date", "branch_id"]


def test_the_schema_reference_lists_the_row_rules():
    from perfkit.data.schema import markdown_reference

    text = markdown_reference()
    assert "Row rules: `lead_before_open`: lead_date ≤ open_date." in text
    assert "`same_branch_as_employee`: branch_id = employees.branch_id of employee_id." in text


# --------------------------------------------------------------------------- Excel engines


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws.append(["id", "when", "at", "n", "text", None])
    ws.append([1, dt.date(2026, 10, 1), dt.datetime(2026, 10, 1, 9, 30), 2.5, "甲", None])
    ws.append([None, None, None, None, None])  # an empty row: skipped, numbering kept
    ws.append([3, dt.datetime(2026, 10, 3), None, 1e20, "  乙 ", None])
    ws.append([4, "2026/10/04", None, 0.1, "=1+1", None])
    wb.create_sheet("other")["A1"] = "x"
    wb.save(path)
    return path


def _rows(path: Path, sheet: str | None = None) -> list[tuple]:
    import duckdb

    con = duckdb.connect()
    raw = read_file(path, con, "t", ReadOptions(sheet=sheet))
    return [raw.headers, *con.execute("SELECT * FROM t ORDER BY _row").fetchall()]


def test_calamine_and_openpyxl_read_the_same_cells(tmp_path, monkeypatch):
    pytest.importorskip("python_calamine")  # a dependency: installed wherever perfkit is
    path = _workbook(tmp_path / "t.xlsx")
    calls: list[str] = []
    real = excel._calamine_rows
    monkeypatch.setattr(excel, "_calamine_rows", lambda *a: calls.append("calamine") or real(*a))
    with_calamine = _rows(path)
    assert calls == ["calamine"]
    assert with_calamine == [
        ("id", "when", "at", "n", "text"),
        (2, "1", "2026-10-01", "2026-10-01 09:30:00", "2.5", "甲"),
        (4, "3", "2026-10-03", None, "1e+20", "  乙 "),
        (5, "4", "2026/10/04", None, "0.1", None),  # a formula without a cached value is empty
    ]

    def refuse(*_):
        raise excel._Unreadable("not for calamine")

    monkeypatch.setattr(excel, "_calamine_rows", refuse)
    assert _rows(path) == with_calamine  # the fallback gives the same cells
    with pytest.raises(ImportFileError, match=r"sheet 'other' has a header but no data rows"):
        _rows(path, "other")
