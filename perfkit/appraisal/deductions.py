"""行为扣分 (百分制倒扣): conduct incidents (``incidents``) in a window of months take points off 100,
down to a floor; the bonus (绩效奖金 = 奖励标准金 × 剩余积分 %, seed 003) follows from it.

Rules, window, floor and how the composite uses the conduct score are scorecard.yaml's
``deductions``; the bonus standard is pay.yaml's ``bonus``
(:func:`perfkit.appraisal.pay_rules.bonus_standards`).
:func:`conduct_scores` feeds the composite score; :func:`conduct_frame` and :func:`incident_frame`
are the report frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.pay_rules import FILE_NAME as PAY_FILE
from perfkit.appraisal.pay_rules import bonus_standards, load_pay
from perfkit.appraisal.spec import DeductionSpec, load_scorecard
from perfkit.data.store import connect, month_bounds
from perfkit.metrics.catalog import find_params
from perfkit.metrics.entities import staff


def incident_rows(con, month: str, spec: DeductionSpec) -> pd.DataFrame:
    """The incidents behind the 百分制倒扣 of ``month``: every incident in the ``window_months``
    months ending with ``month``, with the points it counts (YAML rule points, else its own) and
    the rule's name. Columns employee_id, incident_id, incident_date, rule_code, rule_name, points,
    note; ordered by employee and date."""
    first = str(pd.Period(month, freq="M") - (spec.window_months - 1))
    inc = con.execute(
        """SELECT employee_id, incident_id, incident_date, rule_code, points, note FROM incidents
           WHERE incident_date BETWEEN ? AND ?
           ORDER BY employee_id, incident_date, incident_id""",
        [month_bounds(first)[0], month_bounds(month)[1]],
    ).df()
    inc["points"] = inc["rule_code"].map({k: r.points for k, r in spec.rules.items()}
                                         ).fillna(inc["points"]).astype(float)
    inc.insert(4, "rule_name", inc["rule_code"].map({k: r.name for k, r in spec.rules.items()}))
    return inc


def deduction_bonus(conduct_score: pd.Series, standard: pd.Series) -> pd.Series:
    """绩效奖金 = 奖励标准金 × 剩余积分 % (seed 003): ``standard`` (元) × ``conduct_score`` / 100.
    A missing conduct score counts as 100 (no incidents); a missing standard gives no bonus (NaN)."""
    return standard * conduct_score.fillna(100.0) / 100.0


def conduct_scores(con, month: str, spec: DeductionSpec) -> pd.DataFrame:
    """百分制倒扣: per employee, deduction_points = Σ points of incidents in the ``window_months``
    months ending with ``month`` (a rule code listed in scorecard.yaml uses its YAML points, else the
    incident's own points; :func:`incident_rows`) and conduct_score = max(floor, 100 −
    deduction_points). Employees without incidents are absent (0 points, conduct 100).
    """
    return _conduct(incident_rows(con, month, spec), spec)


def _conduct(inc: pd.DataFrame, spec: DeductionSpec) -> pd.DataFrame:
    """Pure: :func:`incident_rows` → employee_id, deduction_points, conduct_score."""
    res = inc.groupby("employee_id")["points"].sum().rename("deduction_points").reset_index()
    res["conduct_score"] = np.maximum(spec.floor, 100.0 - res["deduction_points"])
    return res


def conduct_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """百分制倒扣 per employee employed in ``month``: employee_id, employee_name, branch_id,
    position, incidents (count), deduction_points, conduct_score (max(floor, 100 − points); 100
    without incidents), bonus_standard (元: pay.yaml ``bonus`` — by level for the positions paid by
    pay.yaml, else ``bonus.by_position``; NaN when there is none) and bonus (= bonus_standard ×
    conduct_score %; for 客户经理 the 奖金 of :func:`perfkit.appraisal.pay.pay`)."""
    params = find_params(params)
    spec = load_scorecard(params).deductions
    rules = load_pay(params) if (find_params(params) / PAY_FILE).exists() else None
    with connect(store) as con:
        emps = staff(con, month, params)
        inc = incident_rows(con, month, spec)
        standard = bonus_standards(con, month, emps, rules)
    cd = _conduct(inc, spec).set_index("employee_id")
    out = emps.copy()
    out["incidents"] = out["employee_id"].map(inc.groupby("employee_id").size()).fillna(0).astype(int)
    out["deduction_points"] = out["employee_id"].map(cd["deduction_points"]).fillna(0.0)
    out["conduct_score"] = out["employee_id"].map(cd["conduct_score"]).fillna(100.0)
    out["bonus_standard"] = standard.astype(float)
    out["bonus"] = deduction_bonus(out["conduct_score"], out["bonus_standard"])
    return out


def incident_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """The incidents behind :func:`conduct_frame`: employee_id, branch_id, incident_id,
    incident_date, rule_code, rule_name, points (as counted), note."""
    spec = load_scorecard(find_params(params)).deductions
    with connect(store) as con:
        inc = incident_rows(con, month, spec)
        br = dict(con.execute("SELECT employee_id, branch_id FROM employees").fetchall())
    inc.insert(1, "branch_id", inc["employee_id"].map(br))
    return inc
