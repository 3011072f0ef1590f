"""The entities a month is reported for — the company, its branches, their employees — and who
counts as employed in a month.

One rule, used everywhere: an employee is **employed during month M** when hired by M's last day
and not gone before M's first day (no ``leave_date``, or one in M or later). :func:`employed` applies
it to a frame of employees, :func:`active_employees` in SQL with the branch's region.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from perfkit.data.store import month_bounds
from perfkit.errors import RequestError

LEVELS = ("company", "branch", "employee")
COMPANY_ID = "company"
COMPANY_NAME = "全公司"


def check_level(level: str) -> None:
    """RequestError unless ``level`` is company, branch or employee."""
    if level not in LEVELS:
        raise RequestError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


def employees_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every employee with his branch: employee_id, employee_name, branch_id, branch_name,
    position, level, hire_date, leave_date (ordered by id)."""
    return con.execute(
        "SELECT e.employee_id, e.employee_name, e.branch_id, b.branch_name, e.position, e.level, "
        "e.hire_date, e.leave_date FROM employees AS e LEFT JOIN branches AS b USING (branch_id) "
        "ORDER BY e.employee_id"
    ).df()


def employed(people: pd.DataFrame, month: str, branch: str | None = None) -> set[str]:
    """Ids of the employees of ``people`` (hire_date, leave_date, branch_id) employed during
    ``month``, of branch ``branch`` when given."""
    start = pd.Timestamp(f"{month}-01")
    end = start + pd.offsets.MonthEnd(0)
    left = pd.to_datetime(people["leave_date"])
    ok = (pd.to_datetime(people["hire_date"]) <= end) & (left.isna() | (left >= start))
    if branch is not None:
        ok &= people["branch_id"] == branch
    return set(people.loc[ok, "employee_id"])


def not_employed(people: pd.DataFrame, month: str, employee_id: str) -> str | None:
    """Why ``employee_id`` is not employed during ``month`` — ``E00012 王芳 left on 2026-09-15,
    before 2026-10`` or ``… was hired on 2026-11-03, after 2026-10`` — or None when he is (or is
    unknown: that is the caller's error)."""
    row = people[people["employee_id"] == employee_id]
    if row.empty or employee_id in employed(row, month):
        return None
    r = row.iloc[0]
    who = f"{employee_id} {r['employee_name']}"
    start = pd.Timestamp(f"{month}-01")
    if pd.notna(r["leave_date"]) and pd.Timestamp(r["leave_date"]) < start:
        return f"{who} left on {pd.Timestamp(r['leave_date']):%Y-%m-%d}, before {month}"
    return f"{who} was hired on {pd.Timestamp(r['hire_date']):%Y-%m-%d}, after {month}"


def active_employees(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """The employees employed during ``month``: employee_id, employee_name, branch_id, position,
    level, region, region_class (ordered by id)."""
    first, last = month_bounds(month)
    return con.execute(
        """SELECT e.employee_id, e.employee_name, e.branch_id, e.position, e.level,
                  b.region, b.region_class
           FROM employees e JOIN branches b USING (branch_id)
           WHERE e.hire_date <= ? AND (e.leave_date IS NULL OR e.leave_date >= ?)
           ORDER BY e.employee_id""",
        [last, first],
    ).df()


def staff(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """:func:`active_employees` as the appraisal frames list them: employee_id, employee_name,
    branch_id, position."""
    return active_employees(con, month)[["employee_id", "employee_name", "branch_id", "position"]]
