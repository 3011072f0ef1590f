"""The months a computation asks for, and their checks.

- :func:`check_month_format` — a month is ``'YYYY-MM'``;
- :func:`check_month` — a month must be in the store (the error names the months there are);
- :func:`previous_month` — calendar arithmetic on ``'YYYY-MM'``;
- :func:`create_report_months` — the temporary table ``report_months`` every measure file and task
  rule reads (one row per requested month with its first and last day, its quarter and an index);
- :func:`window_start` — the first day of the store's data, where task windows start;
- :func:`drop_temp` — drop ``report_months`` and the ``task_list`` view again.
"""

from __future__ import annotations

import re

import duckdb

from perfkit.data.schema import MONTH_PATTERN
from perfkit.data.store import months as store_months
from perfkit.errors import RequestError

REPORT_MONTHS = "report_months"
TASK_LIST = "task_list"


def check_month_format(month: str) -> None:
    """RequestError unless ``month`` is a ``'YYYY-MM'`` string."""
    if not isinstance(month, str) or not re.match(MONTH_PATTERN, month):
        raise RequestError(f"month must be YYYY-MM, got {month!r}")


def check_month(con: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    """The store's months; RequestError naming ``month`` and the available range if it is absent."""
    available = store_months(con)
    if month not in available:
        span = f"{available[0]} … {available[-1]}" if available else "none (the store is empty)"
        raise RequestError(f"month {month} is not in the data; available months: {span}")
    return available


def previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def create_report_months(con: duckdb.DuckDBPyConnection, months: list[str]) -> None:
    """(Re)create the temporary table ``report_months`` holding ``months`` ('YYYY-MM').

    Also turns DuckDB's progress bar off on ``con`` (it would print into notebooks and reports).
    """
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {REPORT_MONTHS} AS
        SELECT month,
               CAST(month || '-01' AS DATE)                                     AS month_start,
               CAST(last_day(CAST(month || '-01' AS DATE)) AS DATE)             AS month_end,
               CAST(date_trunc('quarter', CAST(month || '-01' AS DATE)) AS DATE) AS quarter_start,
               CAST(date_trunc('quarter', CAST(month || '-01' AS DATE))
                    + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE)                AS quarter_end,
               CAST(substr(month, 1, 4) AS INTEGER) * 12
                 + CAST(substr(month, 6, 2) AS INTEGER) - 1                     AS month_idx
        FROM (SELECT unnest(?::VARCHAR[]) AS month)
        """,
        [sorted(set(months))],
    )


def drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables perfkit created on ``con``."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = 'temp' AND table_name = ?", [TASK_LIST]).fetchone()
    if kind is not None:
        con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} temp.{TASK_LIST}")
    con.execute(f"DROP TABLE IF EXISTS temp.{REPORT_MONTHS}")


def window_start(con: duckdb.DuckDBPyConnection) -> str | None:
    """First day ('YYYY-MM-01') of the first month with snapshots, or None for an empty store."""
    first = con.execute("SELECT min(month) FROM client_months").fetchone()[0]
    return f"{first}-01" if first else None
