from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfkit.data.store import create_store
from perfkit.project.check import Problem, check

PARAMS = Path(__file__).resolve().parents[2] / "parameters"


@pytest.fixture
def params(tmp_path) -> Path:
    dst = tmp_path / "parameters"
    shutil.copytree(PARAMS, dst)
    return dst


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_repository_parameters_are_valid():
    assert check(PARAMS) == []


def test_missing_folder():
    p = _only(check("/nonexistent/parameters"))
    assert p.message == "parameters folder not found"


def test_unknown_measure(params):
    _edit(params / "indicators.yaml", "numerator: leads_new\n", "numerator: leads_newest\n")
    p = _only(check(params))
    assert p.file.endswith("indicators.yaml")
    assert (p.entry, p.field) == ("indicator 'leads_new'", "numerator")
    assert p.message.startswith("unknown measure 'leads_newest'; known: ")
    assert str(p).endswith("indicators.yaml: indicator 'leads_new', field numerator: "
                           + p.message)


def test_duplicate_indicator_id(params):
    _edit(params / "indicators.yaml", "- id: leads_opened\n", "- id: leads_new\n")
    problems = check(params)
    assert any(p.file.endswith("indicators.yaml") and p.entry == "indicator 'leads_new'"
               and p.field == "id" and p.message == "duplicate id" for p in problems), problems


def test_unknown_family_and_bad_unit(params):
    _edit(params / "indicators.yaml", "family: daily\n", "family: weekly\n")
    p = _only(check(params))
    assert (p.entry, p.field) == ("indicator 'service_count'", "family")
    assert p.message == "unknown family 'weekly'; known: potential, existing, lost, daily"

    shutil.rmtree(params)
    shutil.copytree(PARAMS, params)
    _edit(params / "indicators.yaml", "unit: 户\n", "unit: 个\n")
    p = _only(check(params))
    assert (p.entry, p.field) == ("indicator 'leads_new'", "unit")
    assert "Input should be '户', '万元'" in p.message


def test_scorecard_problems_are_all_listed(params):
    sc = params / "scorecard.yaml"
    _edit(sc, "    weight: 20\n    indicators:\n      - {id: leads_new",
          "    weight: 25\n    indicators:\n      - {id: leads_new")
    _edit(sc, "{id: client_return, weight: 5, method: percentile}",
          "{id: client_return, weight: 5, method: zscore}")
    _edit(sc, "{id: service_count, weight: 30, method: attainment, params: {cap: 1.2}}",
          "{id: service_count, weight: 30, method: attainment, params: {cap: 0.9}}")
    _edit(sc, "{id: coverage_rate,", "{id: coverage_ratio,")
    problems = check(params)
    got = {(Path(p.file).name, p.entry, p.field): p.message for p in problems}
    assert got[("scorecard.yaml", "families", "weight")] == (
        "family weights sum to 105; they must sum to 1 or 100")
    assert got[("scorecard.yaml", "families.existing.indicators[client_return]", "method")] == (
        "unknown scoring method 'zscore'; known methods: attainment, band, linear, percentile")
    assert got[("scorecard.yaml", "families.daily.indicators[service_count]", "params.cap")] == (
        "Attainment.cap must be a number ≥ 1 (e.g. 1.2 for 120 %); got 0.9")
    assert got[("scorecard.yaml", "families.daily.indicators[coverage_ratio]", "id")] == (
        "unknown indicator 'coverage_ratio'; not in indicators.yaml")
    assert len(problems) == 4


def test_scorecard_is_still_checked_when_the_catalog_is_broken(params):
    _edit(params / "indicators.yaml", "family: daily\n", "family: weekly\n")
    _edit(params / "scorecard.yaml", "  scale: five\n", "  scale: seven\n")
    problems = check(params)
    assert {Path(p.file).name for p in problems} == {"indicators.yaml", "scorecard.yaml"}
    assert any(p.message.startswith("unknown scale 'seven'") for p in problems)


def test_yaml_syntax_error(params):
    (params / "scorecard.yaml").write_text("families: [unclosed\n", encoding="utf-8")
    p = _only(check(params))
    assert p.file.endswith("scorecard.yaml") and p.message.startswith("not valid YAML")


def test_measure_sql_that_does_not_compile(params):
    _edit(params / "measures" / "service.sql", "count(*) AS service_contacts",
          "count(k.no_such_column) AS service_contacts")
    p = _only(check(params))
    assert p.file.endswith("service.sql")
    assert p.message.startswith("measure SQL failed") and "no_such_column" in p.message


def test_task_rule_sql_that_does_not_compile(params):
    _edit(params / "tasks.yaml", "FROM clients AS c\n", "FROM clientz AS c\n")
    problems = check(params)
    p = problems[0]
    assert p.file.endswith("tasks.yaml")
    assert (p.entry, p.field) == ("task rule 'lead_followup'", "sql")
    assert "clientz" in p.message


def test_task_rule_unknown_purpose(params):
    _edit(params / "tasks.yaml", "purposes: [潜客跟进]", "purposes: [潜客追踪]")
    problems = check(params)
    assert problems[0].file.endswith("tasks.yaml")
    assert (problems[0].entry, problems[0].field) == ("task rule 'lead_followup'", "purposes")
    assert problems[0].message.startswith("unknown purpose '潜客追踪'")


def test_import_mapping_unknown_column(params):
    _edit(params / "import.yaml", "营业部名称: branch_name", "营业部名称: branch_title")
    p = _only(check(params))
    assert p.file.endswith("import.yaml")
    assert p.entry == "hs_crm" and p.field == "branch_title"
    assert "unknown column 'branch_title'" in p.message


def test_store_is_opened_when_given(params, tmp_path):
    p = _only(check(params, store=tmp_path / "missing.duckdb"))
    assert p.file.endswith("missing.duckdb") and p.message.startswith("store not found")
    create_store(tmp_path / "ok.duckdb").close()
    assert check(params, store=tmp_path / "ok.duckdb") == []


def test_run_config_bad_field(params):
    _edit(params / "run.yaml", "workers: null", "workers: many")
    p = _only(check(params))
    assert p.file.endswith("run.yaml") and p.field == "workers"
    assert "got 'many'" in p.message


def test_appraisal_problems_name_file_entry_and_field(params):
    ap = params / "appraisal.yaml"
    _edit(ap, "  peer_group: position", "  peer_group: team")
    _edit(ap, "  min_months: 12 ", "  min_months: 18 ")
    _edit(ap, "  jensen_confidence: 0.975", "  jensen_confidence: 1.5")
    _edit(ap, "  core_assets: 500000", "  core_assets: 9000000")
    _edit(ap, "  rfm: true ", "  rmf: true ")
    problems = check(params)
    got = {(Path(p.file).name, p.entry, p.field): p.message for p in problems}
    # pydantic problems come first and stop the rule checks
    assert got[("appraisal.yaml", "advisor", "jensen_confidence")] == (
        "Input should be less than 1")
    assert got[("appraisal.yaml", "sections", "rmf")] == "unknown field"
    assert len(problems) == 2
    _edit(ap, "  jensen_confidence: 1.5", "  jensen_confidence: 0.975")
    _edit(ap, "  rmf: true ", "  rfm: true ")
    _edit(ap, "    资产管理类: 资产", "    资产类: 资产")
    got = {(Path(p.file).name, p.entry, p.field): p.message for p in check(params)}
    assert got == {
        ("appraisal.yaml", "advisor", "peer_group"):
            "unknown peer group 'team'; allowed: position, level, branch_id, all",
        ("appraisal.yaml", "advisor", "min_months"):
            "min_months (18) cannot exceed window_months (12)",
        ("appraisal.yaml", "rfm", "core_assets"):
            "core_assets (9e+06 元) must be below vip_assets (5e+06 元)",
        ("appraisal.yaml", "rfm.services", "资产类"):
            "unknown class; known: 咨询依托类, 咨询依托类·R↑F↓, 咨询依托类·R↓F↑, 自主决策类, 资产管理类",
    }


def test_bonus_standard_lives_in_pay_yaml(params):
    # the old scorecard.yaml key says where the standard went
    _edit(params / "scorecard.yaml", "  apply: multiply\n",
          "  apply: multiply\n  bonus_standard: {营业部负责人: 1500, default: 700}\n")
    got = {(Path(p.file).name, p.entry, p.field): p.message for p in check(params)}
    assert got == {("scorecard.yaml", "deductions", "bonus_standard"):
                   "the bonus standard moved to pay.yaml: bonus.standard (by level, for the "
                   "positions paid by pay.yaml) and bonus.by_position (other positions)"}


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("by_position: {营业部负责人: 1500,", "by_position: {营业部经理: 1500,", "by_position",
     "unknown position '营业部经理'; known: 客户经理, 理财顾问, 投资顾问, 营业部负责人"),
    ("投资顾问: 1000,", "投资顾问: -5,", "by_position", "amounts must be ≥ 0"),
    ("by_position: {营业部负责人: 1500,", "by_position: {客户经理: 800, 营业部负责人: 1500,", "客户经理",
     "客户经理 is paid by level (positions); its bonus standard is bonus.standard"),
])
def test_pay_yaml_bonus_by_position_is_checked(params, old, new, field, message):
    _edit(params / "pay.yaml", old, new)
    got = {(Path(p.file).name, p.field): p.message for p in check(params)}
    assert got == {("pay.yaml", field): message}
