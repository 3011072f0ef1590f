"""perfkit.metrics.targets: the targets section of scorecard.yaml and the targets of a month."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import params_with

from perfkit.errors import SpecError
from perfkit.metrics.indicators import indicators
from perfkit.metrics.targets import load_targets, targets

PARAMS = Path(__file__).resolve().parents[2] / "parameters"


def _repository_scorecard() -> dict:
    return yaml.safe_load((PARAMS / "scorecard.yaml").read_text(encoding="utf-8"))


def test_targets_by_position_override_and_rollup(tiny_con, tmp_path):
    raw = yaml.safe_load((PARAMS / "scorecard.yaml").read_text(encoding="utf-8"))
    raw["targets"] = {
        "default_position": "客户经理",
        "position": {"客户经理": {"leads_new": 15, "churn_rate": 1, "satisfaction": 4.5}},
        "branch": {"satisfaction": 4.6},
        "company": {},
        "entity": {"E1": {"leads_new": 20}, "B02": {"leads_new": 50}},
    }
    params = params_with(tmp_path, raw)
    t = targets(tiny_con, "2026-10", "employee", params).set_index(["entity_id", "indicator_id"])
    assert t.loc[("E1", "leads_new"), "target"] == 20
    assert t.loc[("E2", "leads_new"), "target"] == 15
    assert t.loc[("E4", "churn_rate"), "target"] == 1
    assert ("E1", "client_assets") not in t.index  # no target → no row
    b = targets(tiny_con, "2026-10", "branch", params).set_index(["entity_id", "indicator_id"])
    assert b.loc[("B01", "leads_new"), "target"] == 35       # additive: E1 20 + E2 15
    assert b.loc[("B02", "leads_new"), "target"] == 50       # explicit branch override
    assert b.loc[("B01", "churn_rate"), "target"] == 1       # ratio: 客户经理's target
    assert b.loc[("B01", "satisfaction"), "target"] == 4.6   # ratio: explicit level target
    c = targets(tiny_con, "2026-10", "company", params)
    c = c.set_index("indicator_id")["target"]
    # E4, hired on 2026-10-08, was employed 24 of October's 31 days: a flow target pro-rated
    assert t.loc[("E4", "leads_new"), "target"] == pytest.approx(15 * 24 / 31)
    assert c["leads_new"] == pytest.approx(20 + 15 + 15 + 15 * 24 / 31) and c["churn_rate"] == 1
    assert b.loc[("B02", "satisfaction"), "target"] == 4.6  # a rate is never pro-rated
    raw["targets"]["prorate"] = []
    whole = targets(tiny_con, "2026-10", "employee", params_with(tmp_path / "off", raw))
    assert whole.set_index(["entity_id", "indicator_id"]).loc[("E4", "leads_new"), "target"] == 15
    # E4 was hired in October: no target in September
    sep = targets(tiny_con, "2026-09", "employee", params)
    assert "E4" not in set(sep["entity_id"])


@pytest.mark.parametrize(("targets_section", "message"), [
    ({"position": {"实习生": {"leads_new": 3}}},
     r"scorecard.yaml: targets.position.实习生: unknown position '实习生'; known: 客户经理"),
    ({"company": {"leads_old": 3}},
     r"scorecard.yaml: targets.company, field leads_old: unknown indicator 'leads_old'; not in "
     r"indicators.yaml"),
    ({"branch": {"leads_new": "many"}},
     r"scorecard.yaml: targets.branch, field leads_new: Input should be a valid number"),
    ({"regions": {}}, r"scorecard.yaml: targets, field regions: unknown field"),
])
def test_a_bad_targets_section_names_file_entry_and_field(tmp_path, targets_section, message):
    raw = _repository_scorecard()
    raw["targets"] = targets_section
    with pytest.raises(SpecError, match=message):
        load_targets(params_with(tmp_path, raw))


def test_no_targets_section_means_no_targets(tiny_con, tmp_path):
    raw = _repository_scorecard()
    del raw["targets"]
    params = params_with(tmp_path, raw)
    assert load_targets(params).position == {}
    assert targets(tiny_con, "2026-10", "employee", params).empty


def test_indicators_read_targets_without_the_rest_of_the_scorecard(tiny_store, tmp_path):
    """A scorecard broken outside its targets (a family's weights) does not stop the indicator
    values with their targets; without scorecard.yaml there are no targets."""
    raw = _repository_scorecard()
    raw["targets"] = {"position": {"客户经理": {"leads_new": 15}}}
    raw["families"]["potential"]["weight"] = 1234  # the scorecard itself is invalid now
    params = params_with(tmp_path, raw)
    got = indicators(tiny_store, "2026-10", "employee", params=params).set_index(
        ["entity_id", "indicator_id"])
    assert got.loc[("E1", "leads_new"), "target"] == 15
    (params / "scorecard.yaml").unlink()
    assert indicators(tiny_store, "2026-10", "company", params=params)["target"].isna().all()
