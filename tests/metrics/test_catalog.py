"""The catalog and task-rule loaders: the shipped files load, and every broken file is an error that
names the file, the entry and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from perfkit.errors import SpecError
from perfkit.metrics.catalog import Catalog, load_catalog, load_task_rules, render_sql
from perfkit.metrics.measures import measure_frame


def test_shipped_catalog_loads(params_dir):
    cat = load_catalog(params_dir)
    assert isinstance(cat, Catalog)
    assert len(cat.indicators) >= 20
    assert {i.family for i in cat.indicators} == {"potential", "existing", "lost", "daily"}
    assert cat.families["daily"] == "员工日常工作"
    names = {i.name for i in cat.indicators}
    for n in ("新增潜在客户数", "潜在客户开户数", "潜在客户转化率", "潜在客户及时跟进率", "有效客户数",
              "客户资产总额", "资产净流入", "佣金收入", "客户活跃率", "客户资料完整率", "客户满意度",
              "客户资产收益率", "新开户回访及时率", "流失客户数", "客户流失率", "流失资产",
              "流失客户挽回率", "客户服务次数", "常态化工作完成率", "逾期任务数", "客户覆盖率"):
        assert n in names
    assert cat.settings["effective_min_assets"] == 10000
    with pytest.raises(Exception, match="frozen"):
        cat.indicators[0].scale = 2  # type: ignore[misc]
    rules = load_task_rules(params_dir)
    assert rules.ids == ["lead_followup", "account_callback", "profile_completion", "lost_recall",
                         "quarterly_contact", "risk_renewal"]
    assert rules.rule("lead_followup").days == 3


@pytest.fixture
def params(params_dir, tmp_path) -> Path:
    p = tmp_path / "parameters"
    shutil.copytree(params_dir, p)
    return p


def _edit_indicator(params: Path, ind_id: str, **changes) -> None:
    path = params / "indicators.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in data["indicators"]:
        if entry["id"] == ind_id:
            for k, v in changes.items():
                if v is None:
                    entry.pop(k, None)
                else:
                    entry[k] = v
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"numerator": "nope"}, r"indicator 'churn_rate': field 'numerator': unknown measure 'nope'"),
        ({"denominator": "nah"}, r"indicator 'churn_rate': field 'denominator': unknown measure 'nah'"),
        ({"family": "other"}, r"indicator 'churn_rate': field 'family': unknown family 'other'; known: .*potential"),
        ({"unit": "斤"}, r"indicator 'churn_rate': field 'unit': Input should be '户'"),
        ({"higher_is_better": "maybe"}, r"indicator 'churn_rate': field 'higher_is_better'"),
        ({"name": None}, r"indicator 'churn_rate': field 'name': Field required"),
        ({"colour": "red"}, r"indicator 'churn_rate': field 'colour': unknown field"),
        ({"task": "nap"}, r"indicator 'churn_rate': field 'task': unknown task rule 'nap'"),
        ({"id": "Churn Rate"}, r"indicator 'Churn Rate': field 'id': String should match pattern"),
        ({"id": "lost_clients"}, r"indicator 'lost_clients': field 'id': duplicate id"),
    ],
)
def test_broken_indicator_names_file_entry_and_field(params, changes, message):
    _edit_indicator(params, "churn_rate", **changes)
    with pytest.raises(SpecError, match=r"indicators\.yaml: " + message):
        load_catalog(params)


def test_missing_and_malformed_files(params, tmp_path):
    with pytest.raises(SpecError, match=r"nowhere[/\\]indicators\.yaml: parameters file not found"):
        load_catalog(tmp_path / "nowhere")
    (params / "indicators.yaml").write_text("indicators: [oops", encoding="utf-8")
    with pytest.raises(SpecError, match=r"indicators\.yaml: not valid YAML"):
        load_catalog(params)


def test_measure_file_problems(params):
    (params / "measures" / "bad.sql").write_text("SELECT 1", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.sql: declares no measures"):
        load_catalog(params)
    (params / "measures" / "bad.sql").unlink()
    (params / "measures" / "zz.sql").write_text(
        "-- measure: leads_new: again\nSELECT 1", encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"zz\.sql: measure 'leads_new' is declared twice \(also in leads\.sql\)"):
        load_catalog(params)


def test_measure_sql_checked_when_run(params, tiny_con):
    bad = params / "measures" / "zz.sql"
    bad.write_text(
        "-- measure: x_count: x\nSELECT employee_id, month, count(*) AS x_count, 1 AS y\n"
        "FROM client_months GROUP BY ALL", encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"zz\.sql: query columns do not match the declared measures: undeclared y"):
        measure_frame(tiny_con, ["2026-10"], load_catalog(params))
    bad.write_text("-- measure: x_count: x\nSELECT employee_id, month, count(*) AS x_count FROM nope",
                   encoding="utf-8")
    with pytest.raises(SpecError, match=r"zz\.sql: measure SQL failed: .*nope"):
        measure_frame(tiny_con, ["2026-10"], load_catalog(params))
    bad.write_text("-- measure: x_count: x\nSELECT employee_id, month, count(*) AS x_count "
                   "FROM client_months WHERE assets_end > ${no_such_setting} GROUP BY ALL",
                   encoding="utf-8")
    with pytest.raises(SpecError, match=r"zz\.sql: unknown placeholder \$\{no_such_setting\}"):
        measure_frame(tiny_con, ["2026-10"], load_catalog(params))
    bad.write_text("-- measure: x_count: x\nSELECT employee_id, '2026-10' AS month, 1 AS x_count "
                   "FROM client_months", encoding="utf-8")
    with pytest.raises(SpecError, match=r"zz\.sql: query returns more than one row for employee"):
        measure_frame(tiny_con, ["2026-10"], load_catalog(params))


def test_task_rule_problems(params):
    path = params / "tasks.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"][0]["purposes"] = ["打麻将"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError, match=r"tasks\.yaml: task rule 'lead_followup': field 'purposes': unknown purpose '打麻将'"):
        load_task_rules(params)
    data["rules"][0]["purposes"] = ["潜客跟进"]
    data["rules"][1]["scope"] = "everyone"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError, match=r"task rule 'account_callback': field 'scope'"):
        load_task_rules(params)


def test_settings_are_substituted_as_sql_literals():
    sql = render_sql("x >= ${a} AND p IN (${b}) AND n = ${c}", {"a": 1.5, "b": ["甲", "O'K"], "c": "z"},
                     file="f.sql")
    assert sql == "x >= 1.5 AND p IN ('甲', 'O''K') AND n = 'z'"


def test_threshold_setting_changes_effective_clients(params, tiny_store):
    from perfkit.metrics.indicators import indicators

    text = (params / "indicators.yaml").read_text(encoding="utf-8")
    (params / "indicators.yaml").write_text(
        text.replace("effective_min_assets: 10000", "effective_min_assets: 100000"), encoding="utf-8"
    )
    co = indicators(tiny_store, "2026-10", "company", params=params).set_index("indicator_id")
    assert co.loc["effective_clients", "value"] == 3  # C01, C07, C08 hold ≥ 10万
