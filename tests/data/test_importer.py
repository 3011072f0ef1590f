"""perfkit import: readers, validation messages, one transaction, replace-by-key, mappings, round trip.

Row numbers in messages are spreadsheet rows (header = row 1) for CSV/Excel, record numbers for
Parquet. Every failing import is checked to leave the store's checksums unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import build_tiny_store

from perfkit.cli import main
from perfkit.data.importer import import_paths, plan_files
from perfkit.data.mapping import get_mapping, load_spec
from perfkit.data.schema import LOAD_ORDER, TABLES
from perfkit.data.store import create_store, open_store, store_checksums
from perfkit.errors import (
    DataError,
    ImportFileError,
    ImportProblems,
    MappingError,
    SpecError,
    StoreError,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "parameters"
HS_CRM = Path(__file__).parents[1] / "fixtures" / "hs_crm"


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
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
    """A fresh copy of the tiny store (branches B01/B02, employees E1–E4, clients C01–C12 …)."""
    return build_tiny_store(tmp_path / "crm.duckdb")


def fails(db: Path, files, error: type[Exception], match: str, **kw) -> Exception:
    """Import must raise ``error`` matching ``match`` and leave every table unchanged."""
    before = checksums(db)
    with pytest.raises(error, match=match) as info:
        import_paths(db, files, params_dir=PARAMS, **kw)
    assert checksums(db) == before
    return info.value


SURVEY_HEADER = ["survey_id", "client_id", "employee_id", "survey_date", "score"]


# --------------------------------------------------------------------------- happy paths


def test_import_a_table_and_reimport_is_idempotent(store, tmp_path):
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER,
                  [[101, "C01", "E1", "2026-10-01", 5], [102, "C07", "E3", "2026/10/2", 1]])
    assert import_paths(store, [f]) == {"surveys": 2}
    once = checksums(store)
    assert import_paths(store, [f]) == {"surveys": 2}
    assert checksums(store) == once
    con = open_store(store)
    rows = con.execute("SELECT survey_id, survey_date, score FROM surveys WHERE survey_id > 100 "
                       "ORDER BY 1").fetchall()
    total = con.execute("SELECT count(*) FROM surveys").fetchone()[0]
    con.close()
    assert rows == [(101, dt.date(2026, 10, 1), 5), (102, dt.date(2026, 10, 2), 1)]
    assert total == 4 + 2  # the tiny store's four surveys plus ours, nothing duplicated


def test_reimport_replaces_rows_by_key(store, tmp_path):
    f = write_csv(tmp_path / "x.csv", SURVEY_HEADER, [[1, "C07", "E3", "2026-10-20", 2]])
    assert import_paths(store, [f], table="surveys") == {"surveys": 1}
    con = open_store(store)
    assert con.execute("SELECT score FROM surveys WHERE survey_id = 1").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM surveys").fetchone() == (4,)
    con.close()


def test_accepted_spellings_are_normalized(store, tmp_path):
    f = write_csv(tmp_path / "client_months_202611.csv",
                  ["client_id", "month", "employee_id", "assets_begin", "assets_end", "net_inflow",
                   "trade_amount", "trade_days", "commission", "pnl", "备注"],
                  [["C01", "202611", "E1", "1,230,000.50", "\u30005\t", "-3", "0", "12.0", "0", "0", "x"],
                   ["C07", "2026/12", "E3", "1", "1", "0", "0", "0", "0", "0", ""],
                   ["C08", "2027-01-01", "E3", "1", "1", "0", "0", "0", "0", "0", ""]])
    assert import_paths(store, [f]) == {"client_months": 3}
    con = open_store(store)
    got = con.execute("SELECT client_id, month, assets_begin, assets_end, trade_days FROM client_months "
                      "WHERE month > '2026-10' ORDER BY 1").fetchall()
    con.close()
    assert got == [("C01", "2026-11", 1230000.5, 5.0, 12), ("C07", "2026-12", 1.0, 1.0, 0),
                   ("C08", "2027-01", 1.0, 1.0, 0)]


def test_date_formats(tmp_path):
    db = tmp_path / "new.duckdb"
    b = write_csv(tmp_path / "branches.csv", ["branch_id", "branch_name", "region", "city", "region_class"],
                  [["B9", "测试营业部", "华东", "上海", "一类"]])
    e = write_csv(tmp_path / "employees.csv",
                  ["employee_id", "employee_name", "branch_id", "position", "hire_date", "leave_date"],
                  [["E91", "甲", "B9", "客户经理", "20240105", ""],
                   ["E92", "乙", "B9", "理财顾问", "2024/1/6", "2024-02-01 00:00:00"],
                   ["E93", "丙", "B9", "投资顾问", "2024.01.07", None]])
    # branches.csv and employees.csv in one call: the foreign key is met by the same import
    assert import_paths(db, [e, b]) == {"branches": 1, "employees": 3}
    con = open_store(db)
    got = con.execute("SELECT employee_id, hire_date, leave_date, level FROM employees ORDER BY 1").fetchall()
    con.close()
    assert got == [("E91", dt.date(2024, 1, 5), None, None),
                   ("E92", dt.date(2024, 1, 6), dt.date(2024, 2, 1), None),
                   ("E93", dt.date(2024, 1, 7), None, None)]


def test_folder_is_planned_in_load_order(tmp_path):
    for name in ("surveys.csv", "clients_2026.xlsx", "client_months_10.parquet", "branches.csv",
                 "README.md", "~$clients.xlsx"):
        (tmp_path / name).write_text("x")
    plan = [(p.name, t) for p, t in plan_files([tmp_path])]
    assert plan == [("branches.csv", "branches"), ("clients_2026.xlsx", "clients"),
                    ("client_months_10.parquet", "client_months"), ("surveys.csv", "surveys")]


def test_excel_cells_and_sheet(store, tmp_path):
    f = tmp_path / "s.xlsx"
    df = pd.DataFrame({"survey_id": [201, 202], "client_id": ["C01", "C02"], "employee_id": ["E1", "E1"],
                       "survey_date": [dt.datetime(2026, 10, 3), dt.datetime(2026, 10, 4)],
                       "score": [4.0, 3.0]})
    with pd.ExcelWriter(f) as xw:
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="说明", index=False)
        df.to_excel(xw, sheet_name="问卷", index=False)
    assert import_paths(store, [f], table="surveys", sheet="问卷") == {"surveys": 2}
    con = open_store(store)
    got = con.execute("SELECT survey_id, survey_date, score FROM surveys WHERE survey_id > 200 "
                      "ORDER BY 1").fetchall()
    con.close()
    assert got == [(201, dt.date(2026, 10, 3), 4), (202, dt.date(2026, 10, 4), 3)]
    fails(store, [f], ImportFileError, r"s\.xlsx: has no sheet '问卷2'; sheets: 说明, 问卷",
          table="surveys", sheet="问卷2")


def test_later_file_of_the_same_call_replaces_earlier_rows(store, tmp_path):
    a = write_csv(tmp_path / "surveys_a.csv", SURVEY_HEADER, [[900, "C01", "E1", "2026-10-01", 1]])
    b = write_csv(tmp_path / "surveys_b.csv", SURVEY_HEADER, [[900, "C01", "E1", "2026-10-01", 5],
                                                            [901, "C02", "E1", "2026-10-02", 4]])
    assert import_paths(store, [a, b]) == {"surveys": 3}
    con = open_store(store)
    assert con.execute("SELECT survey_id, score FROM surveys WHERE survey_id >= 900 ORDER BY 1"
                       ).fetchall() == [(900, 5), (901, 4)]
    con.close()


def test_bom_utf16_and_an_open_connection(store, tmp_path):
    text = "\r\n".join([",".join(SURVEY_HEADER), "950,C01,E1,2026-10-01,2", ""])
    bom = tmp_path / "surveys_bom.csv"
    bom.write_bytes(text.encode("utf-8-sig"))  # Excel's "CSV UTF-8" adds a BOM
    tabbed = tmp_path / "surveys_u16.csv"     # Excel's "Unicode text" is UTF-16, tab-separated
    tabbed.write_bytes(text.replace("950", "951").replace(",", "\t").encode("utf-16"))
    con = duckdb.connect(str(store))
    try:
        assert import_paths(con, [bom]) == {"surveys": 1}
        assert import_paths(con, [tabbed], encoding="utf-16") == {"surveys": 1}
        got = con.execute("SELECT survey_id, score FROM surveys WHERE survey_id >= 950 ORDER BY 1").fetchall()
    finally:
        con.close()
    assert got == [(950, 2), (951, 2)]


def test_excel_month_cells_that_excel_turned_into_dates(store, tmp_path):
    f = tmp_path / "market.xlsx"
    pd.DataFrame({"month": [dt.datetime(2026, 11, 1), "2026-12", 202701],
                  "index_return": [0.01, -0.02, 0.0], "risk_free_rate": [0.0015] * 3}).to_excel(f, index=False)
    assert import_paths(store, [f]) == {"market": 3}
    con = open_store(store)
    assert con.execute("SELECT month FROM market WHERE month > '2026-10' ORDER BY 1").fetchall() == [
        ("2026-11",), ("2026-12",), ("2027-01",)]
    con.close()


# --------------------------------------------------------------------------- validation errors


def test_missing_required_column(store, tmp_path):
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER[:-1], [[9, "C01", "E1", "2026-10-01"]])
    err = fails(store, [f], DataError, r"surveys\.csv, table surveys, column score: missing required "
                r"column; the file's headers: survey_id, client_id, employee_id, survey_date")
    assert err.field == "score" and err.table == "surveys"


def test_bad_dates_name_spreadsheet_rows_and_count_the_rest(store, tmp_path):
    rows = [[300 + i, "C01", "E1", "2026-10-01", 3] for i in range(8)]
    for i in (1, 3, 4, 6, 7):  # data rows 2, 4, 5, 7, 8 → spreadsheet rows 3, 5, 6, 8, 9
        rows[i][3] = "2026-02-30" if i == 1 else "10/01/2026"
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, rows)
    err = fails(store, [f], DataError,
                r"^.*surveys\.csv, table surveys, column survey_date: not a date \(accepted: "
                r"YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel date cell\), e\.g\. '2026-02-30' "
                r"\(row 3, 5, 6 and 2 more\)$")
    assert err.rows == [3, 5, 6] and err.count == 5


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("score", "6", r"column score: above the maximum 5, e\.g\. '6' \(row 2\)"),
        ("score", "0", r"column score: below the minimum 1, e\.g\. '0' \(row 2\)"),
        ("score", "4.5", r"column score: not a whole number, e\.g\. '4\.5' \(row 2\)"),
        ("score", "", r"column score: required value is empty \(row 2\)"),
        ("survey_id", "abc", r"column survey_id: not a whole number, e\.g\. 'abc' \(row 2\)"),
    ],
)
def test_type_range_and_required_values(store, tmp_path, column, value, message):
    row = dict(zip(SURVEY_HEADER, [400, "C01", "E1", "2026-10-01", 3], strict=True))
    row[column] = value
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, [list(row.values())])
    fails(store, [f], DataError, r"surveys\.csv, table surveys, " + message)


def test_negative_assets_and_bad_month_are_reported_together(store, tmp_path):
    header = ["client_id", "month", "employee_id", "assets_begin", "assets_end", "net_inflow",
              "trade_amount", "trade_days", "commission", "pnl"]
    f = write_csv(tmp_path / "client_months.csv", header,
                  [["C01", "2026-11", "E1", "-1", "0", "0", "0", "0", "0", "0"],
                   ["C01", "2026-13", "E1", "1", "0", "0", "0", "0", "0", "x"]])
    err = fails(store, [f], ImportProblems, r"^3 problems in 1 file; nothing was imported:\n")
    assert [str(p).split("column ")[1] for p in err.problems] == [
        "month: not a month (accepted: YYYY-MM, YYYYMM, YYYY/MM), e.g. '2026-13' (row 3)",
        "assets_begin: below the minimum 0, e.g. '-1' (row 2)", "pnl: not a number, e.g. 'x' (row 3)"]
    assert err.rows == [3] and err.field == "month"  # the first problem's context


def test_pattern_and_allowed_values(store, tmp_path):
    con = open_store(store)
    df = con.execute("SELECT * FROM clients WHERE client_id = 'C01'").df()
    con.close()
    df.loc[0, "phone"] = "12345"
    f = tmp_path / "clients.csv"
    df.to_csv(f, index=False)
    fails(store, [f], DataError, r"column phone: does not match the format \^1\[3-9\]\[0-9\]\{9\}\$, "
          r"e\.g\. '12345' \(row 2\)")
    df.loc[0, "phone"] = None
    df.loc[0, "lost_reason"] = "已销户"
    df.to_csv(f, index=False)
    fails(store, [f], DataError, r"column lost_reason: not an allowed value \(allowed: 销户, 转托管, "
          r"资产流出\), e\.g\. '已销户' \(row 2\)")


def test_duplicate_key_in_file(store, tmp_path):
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER,
                  [[500, "C01", "E1", "2026-10-01", 3], [501, "C01", "E1", "2026-10-01", 3],
                   [500, "C02", "E1", "2026-10-02", 4]])
    fails(store, [f], DataError, r"column survey_id: duplicate key \(survey_id\) within the file, "
          r"e\.g\. '500' \(row 2, 4\)")


def test_foreign_keys(store, tmp_path):
    f = write_csv(tmp_path / "employees.csv",
                  ["employee_id", "employee_name", "branch_id", "position", "hire_date"],
                  [["E9", "孙九", "B01", "客户经理", "2026-01-01"], ["E10", "周十", "B77", "客户经理", "2026-01-01"]])
    fails(store, [f], DataError, r"employees\.csv, table employees, column branch_id: unknown branch_id "
          r"'B77': not in table branches \(neither in the store nor in the files of this import\) \(row 3\)")
    con = open_store(store)
    df = con.execute("SELECT * FROM clients WHERE client_id IN ('C01', 'C02') ORDER BY 1").df()
    con.close()
    df.loc[1, "employee_id"] = "E404"
    df.to_csv(tmp_path / "clients.csv", index=False)
    fails(store, [tmp_path / "clients.csv"], DataError,
          r"column employee_id: unknown employee_id 'E404': not in table employees .* \(row 3\)")


def test_a_bad_later_file_rolls_back_the_earlier_ones(store, tmp_path):
    good = write_csv(tmp_path / "branches.csv", ["branch_id", "branch_name", "region", "city", "region_class"],
                     [["B03", "新营业部", "华南", "深圳", "一类"], ["B01", "改名营业部", "华东", "上海", "一类"]])
    bad = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, [[600, "C01", "E1", "2026-10-01", 9]])
    fails(store, [good, bad], DataError, r"surveys\.csv, table surveys, column score: above the maximum 5")


def test_failed_import_into_a_new_store_leaves_no_file(tmp_path):
    db = tmp_path / "new.duckdb"
    f = write_csv(tmp_path / "employees.csv",
                  ["employee_id", "employee_name", "branch_id", "position", "hire_date"],
                  [["E9", "孙九", "B01", "客户经理", "2026-01-01"]])
    with pytest.raises(DataError, match="unknown branch_id 'B01'"):
        import_paths(db, [f])
    assert not db.exists()


# --------------------------------------------------------------------------- unreadable files


def test_file_errors(store, tmp_path):
    empty = tmp_path / "surveys.csv"
    empty.write_bytes(b"")
    fails(store, [empty], ImportFileError, r"surveys\.csv: is empty \(no header, no rows\)")
    header_only = tmp_path / "surveys_h.csv"
    header_only.write_text(",".join(SURVEY_HEADER) + "\r\n", encoding="utf-8")
    fails(store, [header_only], ImportFileError, r"surveys_h\.csv: has a header but no data rows")
    nul = tmp_path / "surveys_nul.csv"
    nul.write_bytes(b"survey_id,score\x00\x00\n1,2\n")
    fails(store, [nul], ImportFileError, r"surveys_nul\.csv: contains NUL bytes: not a text CSV file")
    ragged = tmp_path / "surveys_r.csv"
    ragged.write_text(",".join(SURVEY_HEADER) + "\n700,C01,E1,2026-10-01,3,extra\n", encoding="utf-8")
    fails(store, [ragged], ImportFileError, r"surveys_r\.csv: cannot be parsed as CSV: line 2 has 6 "
          r"fields, the header has 5 \(separator ','\)")
    ragged.write_text(",".join(SURVEY_HEADER) + '\n700,"C01,E1,2026-10-01,3\n', encoding="utf-8")
    fails(store, [ragged], ImportFileError, r"cannot be parsed as CSV: line 2 has a quoted value that "
          r"is never closed")
    fails(store, [tmp_path / "nope.csv"], ImportFileError, r"nope\.csv: file not found")
    odd = tmp_path / "surveys.xls"
    odd.write_bytes(b"\xd0\xcf\x11\xe0junk")
    fails(store, [odd], ImportFileError, r"surveys\.xls: unsupported file type '\.xls' \(old Excel format: "
          r"save it as \.xlsx\); supported: \.csv, \.parquet, \.xlsm, \.xlsx")
    unknown = write_csv(tmp_path / "客户.csv", ["a"], [[1]])
    fails(store, [unknown], ImportFileError, r"客户\.csv: cannot tell which table this file is for: pass "
          r"--table or name the file after a table \(branches, employees")


def test_wrong_encoding_suggests_gbk(store, tmp_path):
    f = write_csv(tmp_path / "employees.csv",
                  ["employee_id", "employee_name", "branch_id", "position", "hire_date"],
                  [["E9", "孙九", "B01", "客户经理", "2026-01-01"]], encoding="gbk")
    fails(store, [f], ImportFileError, r"employees\.csv: is not valid utf-8 text \(undecodable bytes on "
          r"line 2\); the bytes decode as GBK .*: try --encoding gbk")
    assert import_paths(store, [f], encoding="gbk") == {"employees": 1}
    con = open_store(store)
    assert con.execute("SELECT employee_name FROM employees WHERE employee_id = 'E9'").fetchone() == ("孙九",)
    con.close()
    fails(store, [f], ImportFileError, r"unknown encoding 'klingon'", encoding="klingon")
    utf8 = write_csv(tmp_path / "surveys.csv", ["客户号"], [["C01"]])
    fails(store, [utf8], ImportFileError, r"surveys\.csv: is not valid gbk text \(undecodable bytes on "
          r"line 1\); the bytes are valid UTF-8: try --encoding utf-8", encoding="gbk")


def test_files_that_are_not_what_their_extension_says(store, tmp_path):
    text = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, [[1, "C01", "E1", "2026-10-01", 3]])
    xlsx = tmp_path / "surveys.xlsx"
    shutil.copy(text, xlsx)
    fails(store, [xlsx], ImportFileError, r"surveys\.xlsx: is not an \.xlsx workbook \(not a zip archive; "
          r"a CSV file renamed to \.xlsx\?\)")
    parquet = tmp_path / "surveys.parquet"
    shutil.copy(text, parquet)
    fails(store, [parquet], ImportFileError, r"surveys\.parquet: is not a Parquet file \(no PAR1 magic\)")
    real_xlsx = tmp_path / "real.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(real_xlsx, index=False)
    fake_csv = tmp_path / "surveys_2.csv"
    shutil.copy(real_xlsx, fake_csv)
    fails(store, [fake_csv], ImportFileError, r"surveys_2\.csv: is not a CSV text file: it looks like an "
          r"Excel \.xlsx \(zip\) file")


def test_empty_workbooks_and_parquet_files(store, tmp_path):
    header_only = tmp_path / "surveys.xlsx"
    pd.DataFrame(columns=SURVEY_HEADER).to_excel(header_only, index=False, sheet_name="问卷")
    fails(store, [header_only], ImportFileError, r"surveys\.xlsx: sheet '问卷' has a header but no data rows")
    zipped = tmp_path / "surveys_zip.xlsx"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    fails(store, [zipped], ImportFileError, r"surveys_zip\.xlsx: is not a readable \.xlsx workbook")
    no_rows = tmp_path / "surveys.parquet"
    pd.DataFrame({c: pd.Series([], dtype="string") for c in SURVEY_HEADER}).to_parquet(no_rows)
    fails(store, [no_rows], ImportFileError, r"surveys\.parquet: has no rows")


def test_parquet_rows_are_record_numbers(store, tmp_path):
    f = tmp_path / "surveys.parquet"
    pd.DataFrame({"survey_id": [801, 802, 803], "client_id": ["C01", "C01", "C01"],
                  "employee_id": ["E1", "E1", "E1"],
                  "survey_date": [dt.date(2026, 10, 1)] * 3, "score": [3, 7, 2]}).to_parquet(f)
    fails(store, [f], DataError, r"surveys\.parquet, table surveys, column score: above the maximum 5, "
          r"e\.g\. '7' \(row 2\)")


# --------------------------------------------------------------------------- mappings


def hs_crm_frame(name: str) -> pd.DataFrame:
    return pd.read_csv(HS_CRM / f"{name}.csv", encoding="gbk", dtype=str, keep_default_na=False)


def test_hs_crm_sample_imports_with_its_mapping(tmp_path):
    db = tmp_path / "hs.duckdb"
    counts = import_paths(db, [HS_CRM], mapping="hs_crm", encoding="gbk", params_dir=PARAMS)
    expected = {t: len(hs_crm_frame(n)) for t, n in [
        ("branches", "营业部信息"), ("employees", "员工信息"), ("clients", "客户信息"),
        ("client_months", "客户资产月报"), ("contacts", "服务记录")]}
    assert counts == expected
    con = open_store(db)
    # codes → store values, computed independently from the source file
    src = hs_crm_frame("客户信息")
    reasons = {"01": "销户", "02": "转托管", "03": "资产流出"}
    want = sorted((r.客户号, reasons[r.流失原因代码]) for r in src.itertuples() if r.流失原因代码)
    got = con.execute("SELECT client_id, lost_reason FROM clients WHERE lost_reason IS NOT NULL "
                      "ORDER BY 1").fetchall()
    assert got == want
    # YYYY/MM/DD and YYYYMMDD dates, YYYYMM months
    first = src.iloc[0]
    row = con.execute("SELECT lead_date, open_date FROM clients WHERE client_id = ?",
                      [first.客户号]).fetchone()
    assert row == (dt.datetime.strptime(first.登记日期, "%Y%m%d").date(),
                   dt.datetime.strptime(first.开户日期, "%Y/%m/%d").date())
    months = hs_crm_frame("客户资产月报").统计月份
    assert con.execute("SELECT DISTINCT month FROM client_months ORDER BY 1").fetchall() == [
        (f"{m[:4]}-{m[4:]}",) for m in sorted(set(months))]
    assert con.execute("SELECT region_class FROM branches ORDER BY branch_id").fetchall() == [
        ("一类",), ("二类",)]
    staff = hs_crm_frame("员工信息")  # 电子邮箱 → employees.email (empty stays empty)
    assert con.execute("SELECT employee_id, email FROM employees ORDER BY 1").fetchall() == sorted(
        (r.员工编号, r.电子邮箱 or None) for r in staff.itertuples())
    assets = hs_crm_frame("客户资产月报").期末资产.astype(float).sum()
    assert con.execute("SELECT sum(assets_end) FROM client_months").fetchone()[0] == pytest.approx(assets)
    once = store_checksums(con)
    con.close()
    import_paths(db, [HS_CRM], mapping="hs_crm", encoding="gbk", params_dir=PARAMS)
    assert checksums(db) == once


def test_unknown_code_names_the_header(store, tmp_path):
    src = hs_crm_frame("员工信息")
    src.loc[2, "岗位代码"] = "XXX"
    src.loc[2, "营业部代码"] = "B01"
    src = src.assign(营业部代码="B01")
    f = tmp_path / "员工信息.csv"
    src.to_csv(f, index=False, encoding="gbk")
    err = fails(store, [f], MappingError,
                r"员工信息\.csv, table employees, column 岗位代码 \(position\): unknown code 'XXX' "
                r"\(mapping hs_crm knows KHJL=客户经理, LCGW=理财顾问, TZGW=投资顾问, "
                r"YYBFZR=营业部负责人\) \(row 4\)", mapping="hs_crm", encoding="gbk")
    assert err.field == "岗位代码 (position)"


def test_missing_mapped_header_is_named(store, tmp_path):
    src = hs_crm_frame("员工信息").drop(columns=["入职日期"]).assign(营业部代码="B01")
    f = tmp_path / "员工信息_202610.csv"
    src.to_csv(f, index=False)
    fails(store, [f], MappingError, r"员工信息_202610\.csv, table employees, column 入职日期: missing "
          r"column '入职日期' \(mapped to required column hire_date by mapping hs_crm\)", mapping="hs_crm")


def test_required_column_without_a_mapped_header(store, tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    (params / "import.yaml").write_text(
        "mappings:\n  mini:\n    tables:\n      surveys:\n        file_names: [满意度]\n"
        "        columns: {问卷编号: survey_id, 客户号: client_id, 员工编号: employee_id, 评分: score}\n",
        encoding="utf-8")
    f = write_csv(tmp_path / "满意度.csv", ["问卷编号", "客户号", "员工编号", "评分"], [[1, "C01", "E1", 5]])
    before = checksums(store)
    with pytest.raises(MappingError, match=r"满意度\.csv, table surveys, column survey_date: required "
                       r"column survey_date has no source header in mapping mini"):
        import_paths(store, [f], mapping="mini", params_dir=params)
    assert checksums(store) == before


def test_defaults_and_headers_already_named_like_store_columns(tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    (params / "import.yaml").write_text(
        "mappings:\n  mini:\n    tables:\n      branches:\n        file_names: [网点]\n"
        "        columns: {网点编号: branch_id, 网点名称: branch_name, 区域: region}\n"
        "        codes: {region: {'E': 华东}}\n"
        "        defaults: {region_class: 三四类, city: 未知}\n", encoding="utf-8")
    a = write_csv(tmp_path / "网点.csv", ["网点编号", "网点名称", "区域", "city"],
                  [["B1", "甲营业部", "E", "上海"], ["B2", "乙营业部", "E", ""]])
    db = tmp_path / "m.duckdb"
    assert import_paths(db, [a], mapping="mini", params_dir=params) == {"branches": 2}
    b = write_csv(tmp_path / "branches.csv", ["branch_id", "branch_name", "region", "city",
                                              "region_class"], [["B3", "丙营业部", "华南", "深圳", "一类"]])
    assert import_paths(db, [b], mapping="mini", params_dir=params) == {"branches": 1}
    con = open_store(db)
    assert con.execute("SELECT * FROM branches ORDER BY 1").fetchall() == [
        ("B1", "甲营业部", "华东", "上海", "三四类"), ("B2", "乙营业部", "华东", "未知", "三四类"),
        ("B3", "丙营业部", "华南", "深圳", "一类")]
    con.close()


def test_unknown_mapping_name(store, tmp_path):
    with pytest.raises(MappingError, match=r"import\.yaml: unknown mapping 'sap'; mappings in this "
                       r"file: hs_crm"):
        import_paths(store, [tmp_path], mapping="sap", params_dir=PARAMS)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("mappings:\n  m:\n    tables:\n      clients:\n        codes: {lost_reason: {01: 销户}}\n",
         r"import\.yaml, entry m\.tables\.clients, field codes\.lost_reason\.1\.\[key\]: Input should "
         r"be a valid string \(quote codes and headers in YAML"),
        ("mappings:\n  m:\n    tables:\n      clients:\n        columns: {客户号: customer_no}\n",
         r"import\.yaml, table clients, entry m, column customer_no: header '客户号' names unknown "
         r"column 'customer_no'; columns of clients: client_id"),
        ("mappings:\n  m:\n    tables:\n      clients:\n        codes: {lost_reason: {'9': 跑路}}\n",
         r"table clients, entry m, column lost_reason: code '9' maps to '跑路', which is not allowed"),
        ("mappings:\n  m:\n    tables:\n      clients:\n        columns: {客户号: client_id, 客户编号: client_id}\n",
         r"column client_id: headers '客户号' and '客户编号' both map to client_id"),
        ("mappings:\n  m:\n    tables:\n      customers: {}\n",
         r"table customers, entry m: unknown table 'customers'"),
        ("mappings:\n  m:\n    tables:\n      clients:\n        colums: {}\n",
         r"import\.yaml, entry m\.tables\.clients, field colums: Extra inputs are not permitted"),
        ("mappings: [\n", r"import\.yaml: not valid YAML"),
    ],
)
def test_bad_mapping_file(tmp_path, yaml_text, message):
    (tmp_path / "import.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load_spec(tmp_path)


def test_shipped_mapping_loads():
    m = get_mapping("hs_crm", PARAMS)
    assert m.tables["clients"].columns["客户号"] == "client_id"
    assert m.tables["clients"].codes["lost_reason"]["01"] == "销户"


# --------------------------------------------------------------------------- CLI


def test_cli_reports_the_error_and_exits_nonzero(store, tmp_path, capsys):
    f = write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, [[1, "C01", "E1", "2026-10-01", 9]])
    rc = main(["-q", "import", "--db", str(store), str(f)])
    assert rc == DataError.exit_code
    assert "surveys.csv, table surveys, column score: above the maximum 5, e.g. '9' (row 2)" in (
        capsys.readouterr().err)
    rc = main(["-q", "import", "--db", str(store), "--table", "nope", str(f)])
    assert rc == StoreError.exit_code
    assert "unknown table 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------- round trip


def _export(con: duckdb.DuckDBPyConnection, folder: Path, kind: str) -> None:
    folder.mkdir()
    for t in TABLES:
        if kind == "csv":
            con.execute(f"COPY {t.name} TO '{folder / (t.name + '.csv')}' (HEADER, DELIMITER ',')")
        elif kind == "parquet":
            con.execute(f"COPY {t.name} TO '{folder / (t.name + '.parquet')}' (FORMAT parquet)")
        else:
            df = con.execute(f"SELECT * FROM {t.name}").df()
            if len(df):
                df.to_excel(folder / f"{t.name}.xlsx", index=False)


def _source_store(tmp_path: Path) -> Path:
    """The demo store when perfkit.data.demo is available, else the hand-built tiny store."""
    db = tmp_path / "source.duckdb"
    try:
        from perfkit.data.demo import generate
    except ImportError:
        return build_tiny_store(db)
    generate(db, branches=2, employees=12, clients=400, months=3, seed=1)
    return db


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_round_trip(tmp_path, kind):
    source = _source_store(tmp_path)
    con = open_store(source)
    want = store_checksums(con)
    assert all(n > 0 for n, _ in want.values())  # every table takes part
    _export(con, tmp_path / "export", kind)
    con.close()
    target = tmp_path / "target.duckdb"
    create_store(target).close()
    counts = import_paths(target, [tmp_path / "export"])
    assert counts == {t: want[t][0] for t in LOAD_ORDER if want[t][0]}
    assert checksums(target) == want
