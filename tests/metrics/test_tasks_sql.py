"""The task list labelled, masked and sorted inside DuckDB: the SQL masking is the Python masking,
write_tasks writes what tasks() returns, and the statistical tables' routine counts (aggregated in
SQL) count the task list's rows. Tiny store of conftest.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perfkit.metrics.tables import stat_tables
from perfkit.metrics.tasks import (
    mask_id,
    mask_id_sql,
    mask_phone,
    mask_phone_sql,
    tasks,
    write_tasks,
)

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
MONTH = "2026-10"
ODD = ["13812345678", "1381234567", "12345678", "1234567", "", "1", "+86 138 1234 5678", "电话号码一二三四五",
       "138\n1234\n5678", "11010119800101123X", "110101198001011", "1101011980", "ＡＢＣＤＥＦＧＨＩＪＫ",
       "12345678901234567890", "𠀀𠀁𠀂𠀃𠀄𠀅𠀆𠀇𠀈𠀉𠀊", None]


def test_the_sql_masks_are_the_python_masks() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(ODD)))
    got = con.execute(f"SELECT {mask_phone_sql('v')} AS p, {mask_id_sql('v')} AS d FROM t "
                      "ORDER BY i").df()
    want_p, want_d = mask_phone(pd.Series(ODD)), mask_id(pd.Series(ODD))
    for i, value in enumerate(ODD):
        for got_v, want in ((got["p"][i], want_p[i]), (got["d"][i], want_d[i])):
            assert (None if pd.isna(want) else want) == (None if got_v is None else got_v), value


def test_write_tasks_writes_what_tasks_returns(tiny_store: Path, tmp_path: Path) -> None:
    direct = tasks(tiny_store, MONTH, level="company", params=PARAMS)
    file = tmp_path / "tasks.parquet"
    n = write_tasks(tiny_store, MONTH, file, params=PARAMS, order_by=("branch_id", "employee_id"))
    written = pd.read_parquet(file).astype({"phone": "string", "id_no": "string"})
    assert n == len(direct) == len(written) > 20
    pd.testing.assert_frame_equal(written, direct)
    assert direct["phone"].str.contains(r"\*\*\*\*").all()  # masked


@pytest.mark.parametrize("level, entity", [("company", None), ("branch", "B01")])
def test_routine_counts_count_the_task_list(tiny_store: Path, level: str, entity: str | None) -> None:
    tables = stat_tables(tiny_store, MONTH, level, entity=entity, params=PARAMS)
    routine = tables["常态化工作情况统计表"]
    listing = tasks(tiny_store, MONTH, level="company", params=PARAMS)
    due = listing[listing["due_in_month"]]
    if entity is not None:
        due = due[due["branch_id"] == entity]
    total = routine[routine.iloc[:, 0] == "合计"].iloc[0]
    assert total["到期任务合计"] == len(due)
    assert total["按时完成"] == (due["status"] == "已完成").sum()
    assert total["逾期完成"] == (due["status"] == "逾期完成").sum()
    assert total["未完成"] == (due["status"] == "未完成").sum()
    assert total["潜在客户跟进(应完成)"] == (due["rule_id"] == "lead_followup").sum()
