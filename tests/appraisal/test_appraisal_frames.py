"""appraisal.yaml, the 360 / deduction frames and the frame registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from perfkit.appraisal import ability, deductions, frames, options
from perfkit.appraisal.ability import relation_weighted
from perfkit.appraisal.deductions import deduction_bonus
from perfkit.appraisal.pay import pay
from perfkit.appraisal.pay_rules import load_pay
from perfkit.appraisal.spec import AbilitySpec, DeductionSpec
from perfkit.errors import SpecError

PARAMS = Path(__file__).resolve().parents[2] / "parameters"


def _rows(*rows):
    return pd.DataFrame(rows, columns=["employee_id", "relation", "score"])


def test_360_relation_weights_renormalise_over_present_relations():
    spec = AbilitySpec(relations={"superior": 50, "peer": 20, "subordinate": 20, "self": 10})
    full = _rows(("E", "superior", 80), ("E", "peer", 70), ("E", "subordinate", 90), ("E", "self", 100))
    assert relation_weighted(full, spec, ["employee_id"])["score"].item() == pytest.approx(
        0.5 * 80 + 0.2 * 70 + 0.2 * 90 + 0.1 * 100)
    # no subordinates (a 客户经理 leads nobody): 50/20/10 renormalised over 80
    part = full[full["relation"] != "subordinate"]
    got = relation_weighted(part, spec, ["employee_id"]).iloc[0]
    assert got["score"] == pytest.approx((50 * 80 + 20 * 70 + 10 * 100) / 80)
    assert got["relations"] == "superior+peer+self"
    # configurable: a zero weight leaves the relation out entirely
    no_self = AbilitySpec(relations={"superior": 60, "peer": 40, "subordinate": 0, "self": 0})
    assert relation_weighted(full, no_self, ["employee_id"])["score"].item() == pytest.approx(76)
    only_self = _rows(("F", "self", 90))
    assert relation_weighted(only_self, no_self, ["employee_id"]).empty


def test_ability_frames_on_the_tiny_store(tiny_store):
    ab = ability.ability_frame(tiny_store, "2026-10", PARAMS).set_index("employee_id")
    # E1: self 85 (10) and peer 80 (20) → 81.67; E2 superior only; E4 has no reviews
    assert ab.loc["E1", "ability_score"] == pytest.approx((85 * 10 + 80 * 20) / 30)
    assert ab.loc["E2", "ability_score"] == 75 and ab.loc["E1", "review_period"] == "2026H1"
    assert pd.isna(ab.loc["E4", "ability_score"])
    dims = ability.ability_dimension_frame(tiny_store, "2026-10", PARAMS)
    assert dims[["employee_id", "dimension", "score"]].values.tolist() == [
        ["E1", "专业能力", pytest.approx(81.6666667)], ["E2", "服务态度", 75.0],
        ["E3", "问题解决", 90.0]]


def test_deduction_floor_and_bonus():
    conduct = pd.Series([100.0, 95.0, 70.0, None])
    assert deduction_bonus(conduct, pd.Series([700.0, 700.0, 1500.0, 1000.0])).tolist() == [
        700.0, 665.0, 1050.0, 1000.0]
    # one bonus standard (pay.yaml bonus): by level for 客户经理, by position for the others
    rules = load_pay(PARAMS)
    assert rules.bonus.standard_for("客户经理", "中级", rules.positions) == 1500
    assert rules.bonus.standard_for("客户经理", None, rules.positions) is None   # no level, no bonus
    assert rules.bonus.standard_for("营业部负责人", None, rules.positions) == 1500
    assert rules.bonus.standard_for("投资顾问", "初级", rules.positions) == 1000   # by position
    assert "bonus_standard" not in DeductionSpec.model_fields


def test_conduct_frame_with_incidents_and_floor(tiny_store, tmp_path):
    cf = deductions.conduct_frame(tiny_store, "2026-10", PARAMS).set_index("employee_id")
    assert cf.loc["E2", ["incidents", "deduction_points", "conduct_score"]].tolist() == [1, 5, 95]
    assert cf.loc["E2", "bonus"] == pytest.approx(1000 * 0.95)      # 客户经理 初级: pay.yaml 1,000
    assert cf.loc["E1", "conduct_score"] == 100 and cf.loc["E1", "bonus"] == 1500   # 中级
    # the same figure as the 奖金 of perfkit pay: one standard, one formula
    paid = pay(tiny_store, "2026-10", params=PARAMS).set_index("employee_id")
    assert cf.loc[paid.index, "bonus"].tolist() == paid["bonus"].tolist()
    inc = deductions.incident_frame(tiny_store, "2026-10", PARAMS)
    assert inc[["employee_id", "branch_id", "rule_code", "rule_name", "points"]].values.tolist() == [
        ["E2", "B01", "C01", "一般投诉", 5.0]]
    # a rule worth 100 points hits the floor of 70: bonus = 70 % of the standard
    params = tmp_path / "parameters"
    shutil.copytree(PARAMS, params)
    sc = params / "scorecard.yaml"
    sc.write_text(sc.read_text(encoding="utf-8").replace("C01: {name: 一般投诉, points: 5}",
                                                         "C01: {name: 一般投诉, points: 100}"),
                  encoding="utf-8")
    cf = deductions.conduct_frame(tiny_store, "2026-10", params).set_index("employee_id")
    assert cf.loc["E2", "deduction_points"] == 100 and cf.loc["E2", "conduct_score"] == 70
    assert cf.loc["E2", "bonus"] == pytest.approx(700)               # 70 % of 1,000


def test_appraisal_yaml_defaults_and_switches(tmp_path):
    spec = options.load_appraisal(PARAMS)
    assert all(spec.enabled(s) for s in options.SECTIONS)
    assert spec.advisor.gamma == 2 and spec.advisor.min_months == 12
    empty = tmp_path / "p"
    empty.mkdir()
    assert options.load_appraisal(empty) == options.AppraisalSpec()   # no file: defaults
    (empty / "appraisal.yaml").write_text("sections: {rfm: false}\n", encoding="utf-8")
    got = options.load_appraisal(empty)
    assert not got.enabled("rfm") and got.enabled("advisor")
    (empty / "appraisal.yaml").write_text("advisor: {gamma: -1}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"appraisal.yaml: advisor, field gamma: Input should "
                                        r"be greater than or equal to 0"):
        options.load_appraisal(empty)


def test_frame_registry(tiny_store):
    assert frames.frame("conduct") is deductions.conduct_frame
    with pytest.raises(SpecError, match="unknown appraisal frame 'bonus'; known: ability, "
                                        "ability_dimensions, conduct"):
        frames.frame("bonus")
    # every frame answers for all entities at once
    for name in frames.FRAMES:
        df = frames.frame(name)(tiny_store, "2026-10", PARAMS)
        assert isinstance(df, pd.DataFrame), name
