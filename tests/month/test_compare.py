"""perfkit compare: hand-computed deltas on the tiny store (a weight and a target change), a grade
band that moves exactly the expected employees, an 有效户 change shown as changed values, a
published base, figures equal to separate `perfkit scores` / `pay` runs, errors, the report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from perfkit.appraisal.pay import pay
from perfkit.appraisal.scorecard import scorecard
from perfkit.cli import main
from perfkit.errors import SpecError
from perfkit.metrics.indicators import indicators
from perfkit.month.compare import compare

MONTH = "2026-10"
K = 0.7  # the composite's KPI share (composite: kpi 70, ability 30) when an ability score exists


@pytest.fixture
def store(tiny_store, tmp_path) -> Path:
    path = tmp_path / "crm.duckdb"
    shutil.copyfile(tiny_store, path)
    return path


def variant(params_dir: Path, tmp_path: Path, name: str, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of the parameters with textual edits (file, old, new); each must apply once."""
    folder = tmp_path / name
    shutil.copytree(params_dir, folder)
    for file, old, new in edits:
        text = (folder / file).read_text(encoding="utf-8")
        assert text.count(old) == 1, (file, old)
        (folder / file).write_text(text.replace(old, new), encoding="utf-8")
    return folder


@pytest.fixture
def params_dir(params_dir, tmp_path) -> Path:
    """The project's parameters with every appraised employee scored: the tiny store's E4 (a
    part-month hire without clients, 不参评 by default) is in the hand computations."""
    return variant(params_dir, tmp_path, "all-scored", [
        ("scorecard.yaml", "without_clients: not_scored", "without_clients: scored")])


def row(c, entity: str) -> pd.Series:
    return c.frame.set_index("entity_id").loc[entity]


POTENTIAL = {"leads_new": 30, "leads_opened": 30, "lead_conversion_rate": 20, "lead_followup_rate": 20}


def scored_weight(bd: pd.DataFrame, entity: str) -> float:
    """Σ weights of the potential indicators scored for ``entity``: the family renormalises over
    them (a missing value is left out)."""
    rows = bd[(bd.entity_id == entity) & bd.indicator_id.isin(list(POTENTIAL))]
    return sum(POTENTIAL[i] for i in rows.loc[rows.score.notna(), "indicator_id"])


def test_a_weight_change_by_hand(store, params_dir, tmp_path):
    new = variant(params_dir, tmp_path, "w", [
        ("scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, weight: 40,"),
        ("scorecard.yaml", "{id: leads_opened, weight: 30,", "{id: leads_opened, weight: 20,")])
    c = compare(store, MONTH, params_dir, new)
    base, bd = scorecard(store, MONTH, params=params_dir)
    for e in base.itertuples():
        v = bd[bd.entity_id == e.entity_id].set_index("indicator_id")["value"]
        w = scored_weight(bd, e.entity_id)
        s_new = 100 * min(v["leads_new"] / 18, 1.2) / 1.2     # attainment, cap 1.2, target 18
        s_open = 100 * min(v["leads_opened"] / 5, 1.2) / 1.2  # target 5
        k = K if pd.notna(e.ability_score) else 1.0
        factor = k * e.conduct_score / 100                     # deductions multiply
        # potential family weight 20 %: leads_new +10 of its weights, leads_opened −10
        kpi = 0.2 * (10 * s_new - 10 * s_open) / w
        r = row(c, e.entity_id)
        assert r["composite_delta"] == pytest.approx(factor * kpi, abs=1e-9)
        assert r["kpi_score_delta"] == pytest.approx(kpi, abs=1e-9)
        assert r["attr_leads_new"] == pytest.approx(k * 0.2 * 10 * s_new / w, abs=1e-9)
        assert r["attr_leads_opened"] == pytest.approx(-k * 0.2 * 10 * s_open / w, abs=1e-9)
        assert sum(r[a] for a in c.attribution) == pytest.approx(r["composite_delta"], abs=1e-9)
    assert list(c.params_diff["field"]) == ["families.potential.indicators[leads_new].weight",
                                            "families.potential.indicators[leads_opened].weight"]
    assert not any(col.startswith("value_") for col in c.frame.columns)  # no value changed


def test_a_target_change_by_hand(store, params_dir, tmp_path):
    new = variant(params_dir, tmp_path, "t", [
        ("scorecard.yaml", "      leads_new: 18                 # 户/月",
         "      leads_new: 12                 # 户/月")])
    c = compare(store, MONTH, params_dir, new)
    base, bd = scorecard(store, MONTH, params=params_dir)
    for e in base.itertuples():
        r = bd[(bd.entity_id == e.entity_id) & (bd.indicator_id == "leads_new")].iloc[0]
        v, t = r["value"], r["target"]  # t: 18, pro-rated for a part month (E4: × 24/31)
        assert t == pytest.approx(18 * (24 / 31 if e.entity_id == "E4" else 1))
        gain = 100 * (min(v / (t * 12 / 18), 1.2) - min(v / t, 1.2)) / 1.2
        k = K if pd.notna(e.ability_score) else 1.0
        weight = 0.2 * 30 / scored_weight(bd, e.entity_id)  # family 20 % × 30 of its weights
        expected = k * e.conduct_score / 100 * weight * gain
        assert row(c, e.entity_id)["composite_delta"] == pytest.approx(expected, abs=1e-9)
        assert row(c, e.entity_id)["attr_leads_new"] == pytest.approx(k * weight * gain, abs=1e-9)


def test_a_grade_band_change_moves_exactly_the_expected_employees(store, params_dir, tmp_path):
    new = variant(params_dir, tmp_path, "g", [
        ("scorecard.yaml", "{min: 60, label: 基本合格, code: D}", "{min: 45, label: 基本合格, code: D}")])
    c = compare(store, MONTH, params_dir, new)
    base, _ = scorecard(store, MONTH, params=params_dir)
    expected = set(base.loc[(base.composite >= 45) & (base.composite < 60), "entity_id"])
    assert expected  # the tiny store has such employees
    moved = c.frame[c.frame.grade_base != c.frame.grade_new]
    assert set(moved.entity_id) == expected
    assert (moved.grade_new == "基本合格").all() and (moved.grade_delta == 1).all()
    assert (c.frame.composite_delta.abs() < 1e-12).all()  # bands do not change a score
    assert c.changed["grade"] == len(expected)
    grades = c.grades.set_index("value")
    assert grades.loc["基本合格", "delta"] == len(expected) == -grades.loc["不合格", "delta"]


def test_an_effective_client_change_shows_the_changed_counts(store, params_dir, tmp_path):
    new = variant(params_dir, tmp_path, "e", [
        ("indicators.yaml", "effective_min_assets: 10000 ", "effective_min_assets: 1000000 ")])
    c = compare(store, MONTH, params_dir, new)
    a = indicators(store, MONTH, "employee", params=params_dir)
    b = indicators(store, MONTH, "employee", params=new)
    pick = lambda df: df[df.indicator_id == "effective_clients"].set_index("entity_id")["value"]  # noqa: E731
    truth = (pick(b) - pick(a)).dropna()
    assert (truth != 0).any()
    f = c.frame.set_index("entity_id")
    assert f.loc[truth.index, "value_effective_clients_delta"].tolist() == truth.tolist()
    assert f.loc[truth.index, "value_effective_clients_base"].tolist() == pick(a)[truth.index].tolist()
    assert c.params_diff.to_dict("records") == [
        {"file": "indicators.yaml", "field": "settings.effective_min_assets", "base": "10000",
         "new": "1000000"}]


def test_figures_equal_separate_scores_and_pay_runs(store, params_dir, tmp_path):
    new = variant(params_dir, tmp_path, "p", [
        ("scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, weight: 50,"),
        ("scorecard.yaml", "{id: leads_opened, weight: 30,", "{id: leads_opened, weight: 10,")])
    comp = compare(store, MONTH, params_dir, new)
    c = comp.frame.set_index("entity_id")
    company = comp.pay_by_branch.set_index("branch_id").loc["公司合计"]
    for side, folder in (("base", params_dir), ("new", new)):
        assert company[f"total_pay_{side}"] == pytest.approx(
            pay(store, MONTH, params=folder)["total_pay"].sum())
        s = scorecard(store, MONTH, params=folder)[0].set_index("entity_id")
        for fig in ("composite", "kpi_score", "stars", "rank"):
            assert c[f"{fig}_{side}"].loc[s.index].tolist() == s[fig].astype(float).tolist(), fig
        assert c[f"grade_{side}"].loc[s.index].tolist() == s["grade"].tolist()
        p = pay(store, MONTH, params=folder).set_index("employee_id")
        assert c[f"total_pay_{side}"].loc[p.index].tolist() == p["total_pay"].tolist()
    bill = comp.pay_by_branch
    assert (bill.total_pay_delta - (bill.total_pay_new - bill.total_pay_base)).abs().max() < 1e-9
    branch = compare(store, MONTH, params_dir, new, level="branch").frame.set_index("entity_id")
    s = scorecard(store, MONTH, "branch", params=new)[0].set_index("entity_id")
    assert branch["composite_new"].loc[s.index].tolist() == s["composite"].tolist()


def test_a_published_base(store, params_dir, tmp_path):
    from perfkit.month.publish import publish

    folder = tmp_path / "parameters"
    shutil.copytree(params_dir, folder)
    publish(store, MONTH, folder, by="测试")
    same = compare(store, MONTH, "published", folder)
    assert same.no_difference and same.base.label == "published v1"
    new = variant(params_dir, tmp_path, "w", [
        ("scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, weight: 40,"),
        ("scorecard.yaml", "{id: leads_opened, weight: 30,", "{id: leads_opened, weight: 20,")])
    from_published = compare(store, MONTH, "published:v1", new).frame.set_index("entity_id")
    from_folder = compare(store, MONTH, folder, new).frame.set_index("entity_id")
    cols = ["composite_base", "composite_delta", "grade_base", "total_pay_delta", "attr_leads_new"]
    pd.testing.assert_frame_equal(from_published[cols].sort_index(), from_folder[cols].sort_index(),
                                  check_exact=False, atol=1e-9)


def test_cli_no_difference_and_broken_parameters(store, params_dir, tmp_path, capsys):
    argv = ["compare", "--db", str(store), "--month", MONTH, "--base", str(params_dir)]
    assert main([*argv, "--params", str(params_dir)]) == 0
    assert capsys.readouterr().out.startswith("no difference: ")
    broken = variant(params_dir, tmp_path, "b", [
        ("scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, wieght: 30,")])
    assert main([*argv, "--params", str(broken)]) == SpecError.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(broken / "scorecard.yaml") in err[0]
    assert "families.potential.indicators[leads_new]" in err[0]
    assert main(["compare", "--db", str(store), "--month", MONTH, "--base", str(broken),
                 "--params", str(params_dir)]) == SpecError.exit_code  # the base is checked too
    capsys.readouterr()
    out = tmp_path / "c.csv"
    new = variant(params_dir, tmp_path, "w", [
        ("scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, weight: 40,"),
        ("scorecard.yaml", "{id: leads_opened, weight: 30,", "{id: leads_opened, weight: 20,")])
    assert main([*argv, "--params", str(new), "--format", "csv", "--out", str(out)]) == 0
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert {"composite_base", "composite_new", "composite_delta", "grade_delta", "stars_delta",
            "level_decision_delta", "performance_pay_delta", "commission_pay_delta", "bonus_delta",
            "attr_leads_new"} <= set(df.columns)
    assert main([*argv, "--params", str(new)]) == 0
    captured = capsys.readouterr()
    assert re.search(r"2 parameter\(s\) differ; 4 entities", captured.err)


def test_the_whatif_report_renders_offline(store, params_dir, tmp_path):
    from browser_support import browser

    from perfkit.batch.render import render_whatif

    new = variant(params_dir, tmp_path, "g", [
        ("scorecard.yaml", "{min: 60, label: 基本合格, code: D}", "{min: 45, label: 基本合格, code: D}")])
    out = render_whatif(MONTH, params_dir, new, tmp_path / "whatif.html", db=store)
    with browser(tmp_path) as s:
        s.open(out)
        body = s.page.inner_text("body")
        assert s.errors == [] and s.blocked == []
    for text in ("方案对比", "等级与星级分布", "变动对象", "不合格 → 基本合格", "薪酬总额",
                 "参数差异", "[基本合格].min"):
        assert text in body, text
