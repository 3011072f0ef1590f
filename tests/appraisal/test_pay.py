"""Pay (perfkit.appraisal.pay) with the default parameters/pay.yaml: formulas computed by hand, the demotion
flag after three negative months in a row (not after two, not across a gap), the store path and CLI."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from perfkit.appraisal.pay import pay, pay_frame
from perfkit.appraisal.pay_rules import load_pay
from perfkit.errors import SpecError


@pytest.fixture(scope="module")
def rules(params_dir):
    return load_pay(params_dir)


def emp(level="中级", composite=86.5, conduct=100.0, points=0.0):
    return pd.DataFrame([{"employee_id": "E1", "employee_name": "张伟", "branch_id": "B01", "level": level,
                          "composite": composite, "conduct_score": conduct, "deduction_points": points}])


def months(rows):
    return pd.DataFrame([{"employee_id": "E1", "month": m, "level": lv, "commission": c, "accounts_active": n}
                         for m, lv, c, n in rows])


def test_formulas_hand_computed(rules):
    # 中级: tier 700, base 400, rate 60 %, client cost 1 元 per account, bonus standard 1,500
    out = pay_frame(emp(composite=86.54, conduct=95.0, points=5.0),
                    months([("2026-10", "中级", 3210.5, 120)]), rules, "2026-10").iloc[0]
    assert out["performance_pay"] == pytest.approx(700 * 0.865)            # 605.5
    assert out["performance_formula"] == "700 元 × 86.5% = 605.50 元"
    assert out["client_cost"] == 120 and out["client_cost_formula"] == "1 元 × 120 户 = 120 元"
    assert out["commission_net"] == pytest.approx(3210.5 - 400 - 120)       # 2,690.50
    assert out["commission_pay"] == pytest.approx(2690.5 * 0.6)             # 1,614.30
    assert out["commission_formula"] == "(佣金 3,210.50 元 − 基数 400 元 − 客户成本 120 元) × 60% = 1,614.30 元"
    assert out["bonus"] == pytest.approx(1500 * 0.95)
    assert out["bonus_formula"] == "1,500 元 × 95% = 1,425 元（扣 5 分）"
    assert out["total_pay"] == pytest.approx(605.5 + 1614.3 + 1425)
    assert not out["demotion_flag"]


@pytest.mark.parametrize(("level", "tier", "base", "rate", "standard"), [
    ("初级", 500, 200, 50, 1000), ("中级", 700, 400, 60, 1500), ("高级", 1000, 800, 70, 2000),
    ("资深", 1500, 2000, 80, 3000),
])
def test_amounts_by_level(rules, level, tier, base, rate, standard):
    out = pay_frame(emp(level=level, composite=80.0, conduct=70.0),
                    months([("2026-10", level, 10000.0, 100)]), rules, "2026-10").iloc[0]
    assert out["performance_pay"] == pytest.approx(tier * 0.8)
    assert out["commission_pay"] == pytest.approx((10000 - base - 100) * rate / 100)
    assert out["bonus"] == pytest.approx(standard * 0.7)


def test_negative_commission_is_paid_as_zero_and_shown(rules):
    out = pay_frame(emp(level="初级"), months([("2026-10", "初级", 150.0, 80)]), rules, "2026-10").iloc[0]
    assert out["commission_net"] == pytest.approx(150 - 200 - 80)
    assert out["commission_pay"] == 0
    assert out["commission_formula"] == ("佣金 150 元 − 基数 200 元 − 客户成本 80 元 = −130 元 < 0，按 0 元发放"
                                         "（连续第 1 个月为负）")
    assert out["negative_months"] == 1 and not out["demotion_flag"]


NEG, POS = 100.0, 5000.0   # 初级 with 50 accounts: 100 − 200 − 50 < 0; 5,000 − 250 > 0


@pytest.mark.parametrize(("history", "negatives", "flag"), [
    ([NEG, NEG, NEG], 3, True),
    ([POS, NEG, NEG], 2, False),               # two are not enough
    ([NEG, POS, NEG], 1, False),               # broken run
    ([NEG, NEG, POS], 0, False),               # this month positive
    ([NEG, None, NEG], 1, False),              # a month not employed breaks the run
    ([NEG, NEG, NEG, NEG], 4, True),
])
def test_demotion_flag_after_three_negative_months_in_a_row(rules, history, negatives, flag):
    labels = ["2026-07", "2026-08", "2026-09", "2026-10"][-len(history):]
    rows = [(m, "初级", c, 50) for m, c in zip(labels, history, strict=True) if c is not None]
    out = pay_frame(emp(level="初级"), months(rows), rules, "2026-10").iloc[0]
    assert out["negative_months"] == negatives
    assert out["demotion_flag"] == flag


def test_no_composite_no_performance_pay(rules):
    out = pay_frame(emp(composite=float("nan")), months([("2026-10", "中级", 0.0, 0)]), rules, "2026-10").iloc[0]
    assert pd.isna(out["performance_pay"]) and "当月无得分" in out["performance_formula"]


def test_store_and_cli(tiny_store, params_dir, tmp_path, capsys):
    from perfkit.appraisal.scorecard import scores
    from perfkit.cli import main
    from perfkit.project.check import check

    df = pay(tiny_store, "2026-10").set_index("employee_id")
    assert list(df.index) == ["E1", "E2", "E3", "E4"]
    # E1 中级: commission 150 元 in Oct (C01 120 + C02 30), 3 accounts → 150 − 400 − 3 < 0
    assert df.loc["E1", "commission"] == 150 and df.loc["E1", "active_accounts"] == 3
    assert df.loc["E1", "commission_pay"] == 0 and df.loc["E1", "commission_net"] == pytest.approx(-253)
    # E3 高级: 405 − 800 − 4 < 0; Aug (350 − 800 − 4) and Sep (200 − 800 − 4) too → flag
    assert df.loc["E3", "negative_months"] == 3 and df.loc["E3", "demotion_flag"]
    # E2's complaint (5 points): bonus 1,000 × 95 %
    assert df.loc["E2", "bonus"] == pytest.approx(950) and df.loc["E2", "deduction_points"] == 5
    comp = scores(tiny_store, "2026-10", "employee").set_index("entity_id")["composite"]
    assert df.loc["E1", "performance_pay"] == pytest.approx(700 * round(comp["E1"], 1) / 100)
    assert main(["pay", "--db", str(tiny_store), "--month", "2026-10", "--entity", "E2", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "1,000 元 × 95% = 950 元（扣 5 分）" in out and "E1" not in out

    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    (params / "pay.yaml").write_text((params_dir / "pay.yaml").read_text(encoding="utf-8").replace(
        "rate: {初级: 50,", "rate: {初级: 150,"), encoding="utf-8")
    problems = check(params)
    assert any(p.file.endswith("pay.yaml") and p.field == "rate" and "percentages" in p.message
               for p in problems), problems
    with pytest.raises(SpecError, match="commission_share"):
        load_pay(params)
