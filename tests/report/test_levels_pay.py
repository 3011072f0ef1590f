"""Report sections for the level review and pay (perfkit.report) on the tiny store: content and
scoping — an employee sees only his own data, a branch only its employees, the company only counts."""

from __future__ import annotations

import base64
import re

import ipywidgets as widgets
import pandas as pd
import pytest

from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport
from perfkit.report.widgets import Html

MONTH = "2026-10"
NAMES = {"E1": "张伟", "E2": "李娜", "E3": "王芳", "E4": "刘洋"}


def html(w: widgets.Widget) -> str:
    """Every HTML value inside ``w`` plus the decoded CSV download links and drop-down labels."""
    out: list[str] = []

    def walk(x):
        if isinstance(x, widgets.HTML | Html):
            out.append(x.value)
            for b64 in re.findall(r"base64,([A-Za-z0-9+/=]+)", x.value):
                out.append(base64.b64decode(b64).decode("utf-8-sig"))
        if hasattr(x, "options"):
            out.extend(str(o) for o in x.options)
        for c in getattr(x, "children", ()):
            walk(c)
    walk(w)
    return "\n".join(out)


@pytest.fixture(scope="module")
def params(params_dir):
    return params_dir


def test_employee_sees_his_level_conditions_and_pay_formulas(tiny_store, params):
    r = EmployeeReport(MONTH, db=tiny_store, params=params, employee_id="E2")
    level, pay = html(r.level_status()), html(r.pay_and_bonus())
    assert "当前职级 初级" in level and "托管资产" in level and "门槛" in level and "非评定月" in level
    assert "500 元 ×" in pay and "1,000 元 × 95% = 950 元（扣 5 分）" in pay
    shown = re.sub(r'href="data:[^"]*;base64,([^"]*)"',  # a CSV link: its decoded text
                   lambda m: base64.b64decode(m.group(1)).decode("utf-8-sig"), level + pay)
    for other in ("张伟", "王芳", "刘洋", "E1", "E3", "E4"):
        assert other not in shown


def test_branch_lists_only_its_employees(tiny_store, params):
    r = BranchReport(MONTH, db=tiny_store, params=params, branch_id="B02")
    text = html(r.level_changes()) + html(r.pay_table())
    assert "王芳" in text and "刘洋" in text and "试用期未达标" in text
    assert "提成连续为负月数" in text and "降级提示" in text
    assert "张伟" not in text and "李娜" not in text


def test_company_counts_by_branch_and_region_class_without_employees(tiny_store, params):
    r = CompanyReport(MONTH, db=tiny_store, params=params)
    text = html(r.level_summary())
    assert "上海淮海中路证券营业部" in text and "成都人民南路证券营业部" in text and "二类" in text
    assert "试用期未达标" in text and "参评人数" in text
    for name in NAMES.values():
        assert name not in text
    assert not re.search(r"\bE[0-9]\b", text)


def test_level_counts_order_branches_by_id_and_region_classes_by_rank():
    from perfkit.report.levels_pay import level_counts

    summary = pd.DataFrame({
        "branch_id": ["B10", "B02", "B02", "B03"],
        "branch_name": ["上海分公司", "重庆营业部", "重庆营业部", "北京营业部"],
        "region_class": ["一类", "三四类", "三四类", "二类"],
        "recommendation": ["晋级", "降级", "维持", "维持"],
    })
    by_branch, by_class = level_counts(summary)
    assert list(by_branch["营业部"]) == ["重庆营业部", "北京营业部", "上海分公司"]
    assert list(by_branch["参评人数"]) == [2, 1, 1]
    assert list(by_class["地区类别"]) == ["一类", "二类", "三四类"]
    assert list(by_class["降级"]) == [0, 0, 1] and list(by_class["维持"]) == [0, 1, 1]


def test_a_branch_without_client_managers_gets_notes_not_errors(tmp_path, params):
    from perfkit.data import demo

    db = tmp_path / "one.duckdb"
    demo.generate(db, branches=1, employees=1, clients=10, months=2)   # only the 营业部负责人
    b = BranchReport(MONTH, db=db, params=params, branch_id="B001")
    assert "无参加职级评定的员工" in html(b.level_changes())
    assert "无适用本办法的员工" in html(b.pay_table())
    c = CompanyReport(MONTH, db=db, params=params)
    assert "本月无参评人员" in html(c.level_summary())


def test_ranking_reference_lines_are_means_for_counts_and_the_aggregate_for_ratios(tiny_store,
                                                                                  params):
    from perfkit.metrics.indicators import indicators

    emp = indicators(tiny_store, MONTH, "employee", branch="B01", params=params)
    branch = indicators(tiny_store, MONTH, "branch", entity="B01", params=params).set_index(
        "indicator_id")
    text = html(BranchReport(MONTH, db=tiny_store, params=params, branch_id="B01").indicators())
    # a count (no denominator): the branch total would sit right of every bar; the per-employee mean
    mean = emp[emp.indicator_id == "service_count"]["value"].mean()
    assert branch.loc["service_count", "value"] > emp[emp.indicator_id == "service_count"]["value"].max()
    assert "客户服务次数：本营业部员工本月值（升序），虚线为本营业部人均值" in text
    from perfkit.formatting import format_number
    from perfkit.report.sections import DECIMALS

    assert f"本营业部人均 {format_number(mean, DECIMALS.get('次', 2))}</text>" in text, mean
    # a ratio keeps the branch's own value
    assert "潜在客户及时跟进率：本营业部员工本月值（升序），虚线为本营业部值" in text
    company = html(CompanyReport(MONTH, db=tiny_store, params=params).indicators())
    assert "客户服务次数：各营业部本月值（升序），虚线为营业部平均值" in company
