"""Level review (perfkit.appraisal.levels) with the default parameters/levels.yaml: table-driven over region
classes, the large-assets alternative, tenure, the two-quarter rule, flows and probation — on
hand-made measure frames (the pure review()), plus the store path, the CLI and check."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from perfkit.appraisal.level_rules import load_levels
from perfkit.appraisal.levels import level_review, review
from perfkit.errors import SpecError

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
W = 10000.0  # 1万元


@pytest.fixture(scope="module")
def rules(params_dir):
    return load_levels(params_dir)


def run(rules, *, level="初级", region="一类", since="2024-01-01", hire="2020-01-01", assets=900 * W,
        eff=12, inflow=25 * W, commission=0.0, month="2026-12", composite=75.0):
    """One employee; ``assets`` / ``eff`` a number or {month: value} overriding a constant
    (eff may also be a callable month index → value), ``inflow`` per month."""
    def val(x, m, i):
        if callable(x):
            return x(i)
        if isinstance(x, dict):
            return x.get(m, x["else"])
        return x
    frame = pd.DataFrame([
        {"employee_id": "E1", "month": m, "assets_end": val(assets, m, i), "effective_clients": val(eff, m, i),
         "net_inflow": val(inflow, m, i), "commission": val(commission, m, i)}
        for i, m in enumerate(MONTHS) if m <= month])
    emp = pd.DataFrame([{"employee_id": "E1", "employee_name": "张伟", "branch_id": "B01",
                         "branch_name": "上海淮海中路证券营业部", "region_class": region, "hire_date": hire,
                         "level": level, "level_since": since}]).set_index("employee_id")
    summary, cond = review(emp, frame, month, rules, composite=pd.Series({"E1": composite}))
    return summary.iloc[0], cond


def cond_row(cond, check, condition, period=None):
    c = cond[(cond["check"] == check) & (cond["condition"] == condition)]
    if period is not None:
        c = c[c["period"] == period]
    assert len(c) == 1, (check, condition, period, c)
    return c.iloc[0]


REGION_CASES = [
    # region, assets, monthly net inflow → recommendation of a 初级 (maintain: 400/300/200万, 20/16/12万)
    ("一类", 450 * W, 25 * W, "维持"),
    ("一类", 350 * W, 25 * W, "未达维持标准"),
    ("二类", 350 * W, 17 * W, "维持"),
    ("一类", 450 * W, 17 * W, "未达维持标准"),
    ("二类", 250 * W, 17 * W, "未达维持标准"),
    ("三四类", 250 * W, 13 * W, "维持"),
    ("三四类", 250 * W, 11 * W, "未达维持标准"),
]


@pytest.mark.parametrize(("region", "assets", "inflow", "expected"), REGION_CASES)
def test_maintain_thresholds_depend_on_region_class(rules, region, assets, inflow, expected):
    s, cond = run(rules, region=region, assets=assets, inflow=inflow)
    assert s["recommendation"] == expected
    th = {"一类": 400, "二类": 300, "三四类": 200}[region] * W
    assert cond_row(cond, "维持标准", "托管资产")["threshold"] == th
    assert cond_row(cond, "维持标准", "月均净增资产")["value"] == pytest.approx(inflow)


@pytest.mark.parametrize(("level", "assets", "eff", "expected", "threshold"), [
    ("初级", 1200 * W, 6, "维持", 5),            # assets > 1,000万: 5 effective clients suffice
    ("初级", 900 * W, 6, "未达维持标准", 10),     # below 1,000万: 10 are needed
    ("中级", 2100 * W, 12, "维持", 10),           # 中级: 10 above about 2,000万
    ("中级", 1900 * W, 12, "降级", 20),
])
def test_large_assets_alternative_for_effective_clients(rules, level, assets, eff, expected, threshold):
    s, cond = run(rules, level=level, assets=assets, eff=eff)
    assert s["recommendation"] == expected
    row = cond_row(cond, "维持标准", "有效户")
    assert row["threshold"] == threshold and row["value"] == eff
    assert ("适用大额门槛" in row["note"]) == (threshold in (5,) or (level == "中级" and threshold == 10))


def test_flow_is_either_net_new_effective_clients_or_net_new_assets(rules):
    # no inflow, but 2 more effective clients every month (10 in Jun → 22 in Dec): met
    s, cond = run(rules, assets=450 * W, inflow=0.0, eff=lambda i: 10 + 2 * max(i - 5, 0))
    assert s["recommendation"] == "维持"
    assert cond_row(cond, "维持标准", "月均净增有效户")["value"] == pytest.approx(2.0)
    assert not cond_row(cond, "维持标准", "月均净增资产")["met"]
    # one more per month: both flows missed
    s, _ = run(rules, assets=450 * W, inflow=0.0, eff=lambda i: 10 + max(i - 5, 0))
    assert s["recommendation"] == "未达维持标准"
    assert "月均净增有效户 1户 < 2户" in s["reason"] and "月均净增资产 0万元 < 20万元" in s["reason"]


@pytest.mark.parametrize(("since", "months_at", "expected"), [
    ("2025-01-01", 24, "晋级"),
    ("2026-07-01", 6, "晋级"),       # a start on the 1st counts its month: Jul–Dec = 6
    ("2026-07-02", 5, "维持"),       # started after the 1st: 5 full months
    ("2026-08-01", 5, "维持"),
])
def test_promotion_needs_six_months_at_level(rules, since, months_at, expected):
    s, cond = run(rules, since=since, eff=25)       # meets 中级: 800万, 20 户, 20万/month
    assert s["months_at_level"] == months_at
    assert s["recommendation"] == expected
    assert cond_row(cond, "晋级标准", "在级月数")["met"] == (months_at >= 6)
    if expected == "晋级":
        assert s["recommended_level"] == "中级"


@pytest.mark.parametrize(("assets", "expected", "q3_met", "q4_met"), [
    (900 * W, "晋级", True, True),
    ({"2026-09": 700 * W, "else": 900 * W}, "维持", False, True),     # Q3 end below 800万
    ({"2026-12": 700 * W, "else": 900 * W}, "维持", True, False),     # Q4 end below
])
def test_promotion_needs_two_consecutive_quarters(rules, assets, expected, q3_met, q4_met):
    s, cond = run(rules, eff=25, assets=assets)
    assert s["recommendation"] == expected
    assert cond_row(cond, "晋级标准", "托管资产", "2026-09 月末")["met"] == q3_met
    assert cond_row(cond, "晋级标准", "托管资产", "2026-12 月末")["met"] == q4_met
    assert set(cond.loc[cond["check"] == "晋级标准", "period"]) >= {"2026Q3", "2026Q4"}


@pytest.mark.parametrize(("composite", "expected"), [(75.0, "晋级"), (60.0, "晋级"), (59.9, "维持"),
                                                    (float("nan"), "维持")])
def test_promotion_needs_a_passing_appraisal(rules, composite, expected):
    s, cond = run(rules, eff=25, composite=composite)      # every other promotion condition met
    assert s["recommendation"] == expected
    row = cond_row(cond, "晋级标准", "综合得分")
    assert row["threshold"] == 60 and row["met"] == (expected == "晋级")


def test_quarters_are_the_last_complete_ones_and_review_months_half_yearly(rules):
    s, cond = run(rules, eff=25, month="2026-11")
    assert not s["review_month"] and s["next_review"] == "2026-12"
    assert {"2026Q3", "2026Q2"} <= set(cond["period"]) and "2026Q4" not in set(cond["period"])
    s, _ = run(rules, eff=25, month="2026-12")
    assert s["review_month"] and s["next_review"] == "2027-06"


def test_demotion_and_top_level(rules):
    s, _ = run(rules, level="中级", eff=25, inflow=5 * W, assets=900 * W)
    assert (s["recommendation"], s["recommended_level"]) == ("降级", "初级")
    s, cond = run(rules, level="资深", eff=80, assets=5000 * W, inflow=50 * W)
    assert s["recommendation"] == "维持" and pd.isna(s["promotion_met"])
    assert not (cond["check"] == "晋级标准").any()


PROBATION = [
    # hire, eff at month end, monthly inflow, monthly commission → status, review_month, recommendation
    ("2026-07-10", 26, 70 * W, 1100.0, "试用期", True, "维持"),
    ("2026-07-10", 20, 70 * W, 1100.0, "试用期", True, "试用期未达标"),     # 20 < 25 new 有效户
    ("2026-07-10", 26, 60 * W, 1100.0, "试用期", True, "试用期未达标"),     # 360万 < 400万
    ("2026-07-10", 26, 70 * W, 900.0, "试用期", True, "试用期未达标"),      # 5,400 < 6,000 元
    ("2026-09-01", 26, 110 * W, 1600.0, "试用期", False, "维持"),           # met early, reviewed in Feb
    ("2026-06-10", 26, 70 * W, 1100.0, "正式", True, "晋级"),   # 7th month: regular review, 6 months at 初级
]


@pytest.mark.parametrize(("hire", "eff", "inflow", "comm", "status", "review_month", "expected"), PROBATION)
def test_probation_rule_for_new_hires(rules, hire, eff, inflow, comm, status, review_month, expected):
    hired = hire[:7]
    s, cond = run(rules, hire=hire, since=hire, assets=900 * W,
                  eff={m: eff for m in MONTHS if m >= hired} | {"else": 0},
                  inflow={m: inflow for m in MONTHS if m >= hired} | {"else": 0.0},
                  commission={m: comm for m in MONTHS if m >= hired} | {"else": 0.0})
    assert s["status"] == status and s["review_month"] == review_month
    assert s["recommendation"] == expected
    if status == "试用期":
        n = 12 - int(hire[5:7]) + 1
        assert cond_row(cond, "试用期标准", "新增客户净资产")["value"] == pytest.approx(inflow * n)
        assert cond_row(cond, "试用期标准", "创收")["value"] == pytest.approx(comm * n)
        assert not (cond["check"] == "维持标准").any()
        if not review_month:
            assert s["next_review"] == "2027-02"


def test_store_cli_and_check(tiny_store, params_dir, tmp_path, capsys):
    from perfkit.cli import main
    from perfkit.project.check import check

    summary, cond = level_review(tiny_store, "2026-10")
    # E1 中级 一类, E2 初级 一类, E3 高级 二类, E4 初级 hired 2026-10-08 (probation)
    assert list(summary["employee_id"]) == ["E1", "E2", "E3", "E4"]
    got = summary.set_index("employee_id")
    assert got.loc["E4", "status"] == "试用期" and got.loc["E4", "recommendation"] == "试用期未达标"
    assert got.loc["E3", "region_class"] == "二类"
    assert cond_row(cond[cond.employee_id == "E3"], "维持标准", "托管资产")["threshold"] == 1600 * W
    # E1: custody assets at Oct end = C01 23万 + C02 5万 + C04 0
    assert cond_row(cond[cond.employee_id == "E1"], "维持标准", "托管资产")["value"] == 280000
    assert main(["levels", "--db", str(tiny_store), "--month", "2026-10", "--entity", "B02",
                 "--format", "csv", "--conditions"]) == 0
    out = capsys.readouterr().out
    assert "E3" in out and "E1" not in out and "托管资产" in out

    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    (params / "levels.yaml").write_text(
        (params_dir / "levels.yaml").read_text(encoding="utf-8").replace("二类: 3000000", "四类: 3000000"),
        encoding="utf-8")
    problems = check(params)
    assert any(p.file.endswith("levels.yaml") and "standards.初级" in (p.entry or "") and p.field == "assets"
               and "四类" in p.message for p in problems), problems
    with pytest.raises(SpecError, match="levels.yaml"):
        load_levels(params)
