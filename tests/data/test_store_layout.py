"""Physical row order of client_months in the demo store: month by month, as a warehouse loads it.

A measure for one month then reads only that month's row groups (DuckDB skips the others by their
min/max of ``month``); the values are the same in any order, so only the order is checked here.
"""

from __future__ import annotations

from pathlib import Path

from perfkit.data import demo
from perfkit.data.store import open_store


def stored_months(db: Path, where: str = "TRUE") -> list[str]:
    con = open_store(db)
    try:
        return [r[0] for r in con.execute(
            f"SELECT month FROM client_months WHERE {where} ORDER BY rowid").fetchall()]
    finally:
        con.close()


def test_demo_writes_client_months_month_by_month(tmp_path):
    db = tmp_path / "crm.duckdb"
    demo.generate(db, branches=2, employees=6, clients=400, months=4, end_month="2026-10", seed=3)
    months = stored_months(db)
    assert len(set(months)) == 4
    assert months == sorted(months)
