"""The entities a month is reported for — the company, its branches, their employees — and the one
rule for who is **appraised** (参评) in a month.

An employee is appraised in month M when he was employed on at least ``appraised.min_days`` of M's
days (scorecard.yaml; default 1: any day), counting from ``hire_date`` to ``leave_date``, both
included. Every listing, ranking, ``--entity`` query, batch plan and report uses this rule:
:func:`appraised` on a frame of employees, :func:`active_employees` in SQL; :func:`not_appraised`
says in one line why somebody is not. Whether an appraised employee with no client in the month is
scored (or 不参评) is ``appraised.without_clients`` (:class:`AppraisedSpec`), applied by the
scorecard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfkit.data.store import month_bounds
from perfkit.errors import RequestError, loc_entry, spec_error
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

LEVELS = ("company", "branch", "employee")
COMPANY_ID = "company"
COMPANY_NAME = "全公司"
SCORECARD_FILE = "scorecard.yaml"
NOT_SCORED = "不参评"


class AppraisedSpec(BaseModel):
    """``appraised:`` of scorecard.yaml: who is appraised in a month, and who of them is scored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: employed on at least this many days of the month (hire and leave day included)
    min_days: int = Field(default=1, ge=1, le=31)
    #: an appraised employee with no client in the month: not_scored (不参评: listed, not scored,
    #: graded, starred or ranked) or scored like everybody else
    without_clients: Literal["not_scored", "scored"] = "not_scored"
    #: the measures that count an employee's clients in a month (accounts on his books, his leads)
    clients: tuple[str, ...] = Field(default=("accounts_active", "leads_pool"), min_length=1)


def load_appraised(params: str | Path | None = None) -> AppraisedSpec:
    """The ``appraised:`` section of ``<params>/scorecard.yaml`` (the defaults when the file or the
    section is missing); a wrong field is a SpecError naming file, entry and field."""
    path = find_params(params) / SCORECARD_FILE
    raw = read_yaml(path, required=False, expect="a mapping of sections") or {}
    try:
        return AppraisedSpec.model_validate(raw.get("appraised") or {})
    except ValidationError as exc:
        e = exc.errors()[0]
        entry, field = loc_entry(("appraised", *e["loc"]), {"appraised": raw.get("appraised")})
        raise spec_error(str(path), entry, field, "unknown field" if e["type"] == "extra_forbidden"
                         else e["msg"]) from None


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


def employed_days(people: pd.DataFrame, month: str) -> pd.Series:
    """employee_id → the days of ``month`` he was employed (hire_date … leave_date, both days
    counted; 0 when not at all): 17 for a hire on 10-15."""
    start = pd.Timestamp(f"{month}-01")
    end = start + pd.offsets.MonthEnd(0)
    first = pd.to_datetime(people["hire_date"]).clip(lower=start)
    last = pd.to_datetime(people["leave_date"]).fillna(end).clip(upper=end)
    days = ((last - first).dt.days + 1).clip(lower=0)
    return pd.Series(days.to_numpy(), index=people["employee_id"].to_numpy())


def appraised(people: pd.DataFrame, month: str, min_days: int = 1,
              branch: str | None = None) -> set[str]:
    """Ids of the employees of ``people`` (employee_id, hire_date, leave_date, branch_id) appraised
    in ``month`` — employed on at least ``min_days`` of its days — of branch ``branch`` when given."""
    ok = employed_days(people, month).to_numpy() >= min_days
    if branch is not None:
        ok &= (people["branch_id"] == branch).to_numpy()
    return set(people.loc[ok, "employee_id"])


def not_appraised(people: pd.DataFrame, month: str, employee_id: str,
                  min_days: int = 1) -> str | None:
    """Why ``employee_id`` is not appraised in ``month``, in one line — ``E00012 王芳 left on
    2026-09-15, before 2026-10: not appraised in 2026-10``, ``… was hired on 2026-11-03, after
    2026-10: …`` or ``… was employed 3 days of 2026-10 (hired on 2026-10-29), fewer than the 5
    appraisal needs: …`` — or None when he is (or is unknown: that is the caller's error)."""
    row = people[people["employee_id"] == employee_id]
    if row.empty:
        return None
    days = int(employed_days(row, month).iloc[0])
    if days >= min_days:
        return None
    r = row.iloc[0]
    who = f"{employee_id} {r['employee_name']}"
    hired, left = pd.Timestamp(r["hire_date"]), pd.Timestamp(r["leave_date"])
    start = pd.Timestamp(f"{month}-01")
    if days > 0:
        dates = ", ".join(f"{w} on {d:%Y-%m-%d}" for w, d in (("hired", hired), ("left", left))
                          if pd.notna(d) and d.strftime("%Y-%m") == month)
        why = (f"{who} was employed {days} day{'s' * (days > 1)} of {month} ({dates}), fewer than "
               f"the {min_days} appraisal needs (scorecard.yaml appraised.min_days)")
    elif pd.notna(left) and left < start:
        why = f"{who} left on {left:%Y-%m-%d}, before {month}"
    else:
        why = f"{who} was hired on {hired:%Y-%m-%d}, after {month}"
    return f"{why}: not appraised in {month}"


def require_appraised(people: pd.DataFrame, month: str, employee_id: str, min_days: int) -> None:
    """RequestError with :func:`not_appraised`'s line when ``employee_id`` is not appraised."""
    why = not_appraised(people, month, employee_id, min_days)
    if why is not None:
        raise RequestError(why)


def appraised_sql(min_days: int, alias: str = "e", first: str = "$first",
                  last: str = "$last") -> str:
    """The rule as a SQL condition on employees ``alias`` for the month ``first`` … ``last``
    (DATE expressions or parameters)."""
    return (f"(date_diff('day', greatest({alias}.hire_date, {first}), "
            f"least(coalesce({alias}.leave_date, {last}), {last})) + 1 >= {int(min_days)})")


def active_employees(con: duckdb.DuckDBPyConnection, month: str,
                     params: str | Path | None = None) -> pd.DataFrame:
    """The employees appraised in ``month`` (the rule of ``params``' scorecard.yaml): employee_id,
    employee_name, branch_id, position, level, region, region_class (ordered by id)."""
    first, last = month_bounds(month)
    return con.execute(
        f"""SELECT e.employee_id, e.employee_name, e.branch_id, e.position, e.level,
                  b.region, b.region_class
           FROM employees e JOIN branches b USING (branch_id)
           WHERE {appraised_sql(load_appraised(params).min_days)}
           ORDER BY e.employee_id""",
        {"first": first, "last": last},
    ).df()


def staff(con: duckdb.DuckDBPyConnection, month: str,
          params: str | Path | None = None) -> pd.DataFrame:
    """:func:`active_employees` as the appraisal frames list them: employee_id, employee_name,
    branch_id, position."""
    return active_employees(con, month, params)[["employee_id", "employee_name", "branch_id",
                                                 "position"]]
