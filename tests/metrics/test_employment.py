"""One rule for who is appraised in a month (employed on at least one day of it, or with data in
it), used by every listing and --entity query: a leaver and a future hire get the same one-line
answer naming the date; an appraised employee without tasks gets "无任务", not an empty frame."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import build_tiny_store

from perfkit.appraisal.scorecard import scores
from perfkit.cli import main
from perfkit.data.store import open_store
from perfkit.errors import RequestError
from perfkit.metrics.indicators import indicators
from perfkit.metrics.tasks import tasks

MONTH = "2026-10"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = build_tiny_store(tmp_path_factory.mktemp("employment") / "crm.duckdb")
    con = open_store(db, read_only=False)
    con.execute("INSERT INTO employees (employee_id, employee_name, branch_id, position, level, "
                "hire_date, leave_date) VALUES "
                "('E5', '赵离', 'B01', '客户经理', '初级', '2024-01-01', '2026-09-15'), "
                "('E6', '钱新', 'B01', '客户经理', '初级', '2026-11-03', NULL), "
                "('E7', '孙到', 'B02', '客户经理', '初级', '2026-10-20', NULL)")
    con.close()
    return db


@pytest.mark.parametrize(("entity", "said"), [
    ("E5", "E5 赵离 left on 2026-09-15, before 2026-10: not appraised in 2026-10"),
    ("E6", "E6 钱新 was hired on 2026-11-03, after 2026-10: not appraised in 2026-10"),
])
def test_a_leaver_and_a_future_hire_get_the_same_answer_everywhere(store, params_dir, entity, said):
    from perfkit.appraisal.levels import level_review
    from perfkit.appraisal.pay import pay
    from perfkit.batch.plan import entities
    from perfkit.metrics.tables import stat_tables

    listings = {
        "indicators": set(indicators(store, MONTH, "employee", params=params_dir)["entity_id"]),
        "scores": set(scores(store, MONTH, params=params_dir)["entity_id"]),
        "levels": set(level_review(store, MONTH, params=params_dir)[0]["employee_id"]),
        "pay": set(pay(store, MONTH, params=params_dir)["employee_id"]),
    }
    con = open_store(store)
    try:
        listings["batch plan"] = {e.entity_id for e in entities(con, MONTH, ("employee",))}
    finally:
        con.close()
    for what, ids in listings.items():
        assert entity not in ids and "E7" in ids, what
    table = next(iter(stat_tables(store, MONTH, "branch", entity="B01", params=params_dir).values()))
    assert not table.astype(str).isin(["赵离", "钱新"]).any().any()
    for query in (lambda: indicators(store, MONTH, "employee", entity=entity, params=params_dir),
                  lambda: scores(store, MONTH, entity=entity, params=params_dir),
                  lambda: tasks(store, MONTH, level="employee", entity=entity, params=params_dir),
                  lambda: level_review(store, MONTH, entity=entity, params=params_dir),
                  lambda: pay(store, MONTH, entity=entity, params=params_dir)):
        with pytest.raises(RequestError) as exc:
            query()
        assert str(exc.value) == said


def test_the_cli_says_so_in_one_line(store, params_dir, capsys):
    for cmd in ("indicators", "tasks", "scores", "levels", "pay"):
        level = ["--level", "employee"] if cmd in ("indicators", "tasks", "scores") else []
        assert main([cmd, "--db", str(store), "--params", str(params_dir), "--month", MONTH,
                     *level, "--entity", "E5"]) == RequestError.exit_code
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["perfkit: error: E5 赵离 left on 2026-09-15, before 2026-10: not appraised "
                       "in 2026-10"], (cmd, err)


def test_an_appraised_employee_without_tasks_is_told_so(store, params_dir, capsys):
    assert main(["tasks", "--db", str(store), "--params", str(params_dir), "--month", MONTH,
                 "--level", "employee", "--entity", "E7"]) == 0
    assert capsys.readouterr().out.strip() == "无任务 / no tasks for E7 in 2026-10"


# ── the rule's settings: appraised.min_days, and 不参评 for an employee without clients ──

def _scorecard(params_dir, tmp_path, appraised: dict | None = None, **families):
    """The project's scorecard.yaml with its ``appraised`` section replaced (and, given, its
    families), as a parameters copy."""
    import yaml
    from conftest import params_with

    sc = yaml.safe_load((params_dir / "scorecard.yaml").read_text(encoding="utf-8"))
    if appraised is not None:
        sc["appraised"] = appraised
    sc["families"] = families or sc["families"]
    return params_with(tmp_path, sc)


def test_min_days_moves_a_part_month_employee_out_of_every_listing(store, params_dir, tmp_path):
    # E7 was hired on 2026-10-20: employed 12 days of October
    eleven = _scorecard(params_dir, tmp_path / "a", {"min_days": 12})
    assert "E7" in set(indicators(store, MONTH, "employee", params=eleven)["entity_id"])
    thirteen = _scorecard(params_dir, tmp_path / "b", {"min_days": 13})
    said = ("E7 孙到 was employed 12 days of 2026-10 (hired on 2026-10-20), fewer than the 13 "
            "appraisal needs (scorecard.yaml appraised.min_days): not appraised in 2026-10")
    assert "E7" not in set(indicators(store, MONTH, "employee", params=thirteen)["entity_id"])
    assert "E7" not in set(scores(store, MONTH, params=thirteen)["entity_id"])
    for query in (lambda: indicators(store, MONTH, "employee", entity="E7", params=thirteen),
                  lambda: scores(store, MONTH, entity="E7", params=thirteen),
                  lambda: tasks(store, MONTH, level="employee", entity="E7", params=thirteen)):
        with pytest.raises(RequestError) as exc:
            query()
        assert str(exc.value) == said
    from perfkit.batch.plan import entities

    con = open_store(store)
    try:
        planned = {n: [e.entity_id for e in entities(con, MONTH, ("employee",), min_days=n)]
                   for n in (12, 13)}
    finally:
        con.close()
    assert "E7" in planned[12] and "E7" not in planned[13]
    assert "E5" not in planned[12] and "E6" not in planned[12]  # the leaver and the future hire


def test_a_wrong_min_days_names_the_file_and_field(store, params_dir, tmp_path):
    from perfkit.errors import SpecError

    bad = _scorecard(params_dir, tmp_path, {"min_days": 0})
    with pytest.raises(SpecError, match=r"scorecard\.yaml.*appraised.*min_days"):
        indicators(store, MONTH, "employee", params=bad)


# lost_assets (lower is better) by percentile: E4 and E7 (no client in October) lose nothing
PERCENTILE = {"lost": {"weight": 100, "indicators": [
    {"id": "lost_assets", "weight": 100, "method": "percentile"}]}}


def test_an_employee_without_clients_is_not_scored(store, params_dir, tmp_path):
    default = _scorecard(params_dir, tmp_path / "a", None, **PERCENTILE)
    s = scores(store, MONTH, params=default).set_index("entity_id")
    assert set(s.index[~s["scored"]]) == {"E4", "E7"}
    e7 = s.loc["E7"]
    assert e7["grade"] == "不参评" and pd.isna(e7["composite"]) and pd.isna(e7["kpi_score"])
    assert pd.isna(e7["stars"]) and pd.isna(e7["rank"])
    assert e7["conduct_score"] == 100  # still listed with what does not depend on clients
    # his peers are ranked among themselves: percentile 0 … 100 over the scored 客户经理 only
    bd = scores_breakdown(store, default)
    assert "E7" not in set(bd["entity_id"])
    peers = s[s["scored"] & (s["peer_group"] == s.loc["E7", "peer_group"])]
    assert (s.loc[peers.index, "n_peers"] == len(peers)).all()
    by_hand = percentile_by_hand(bd.set_index("entity_id").loc[peers.index, "value"])
    assert bd.set_index("entity_id").loc[peers.index, "score"].tolist() == pytest.approx(by_hand)

    scored = _scorecard(params_dir, tmp_path / "b", {"without_clients": "scored"}, **PERCENTILE)
    t = scores(store, MONTH, params=scored).set_index("entity_id")
    # scored, they lose nothing and top the percentile their peers without them do not share
    assert t["scored"].all() and t.loc["E7", "composite"] == t.loc["E4", "composite"]
    assert t.loc["E7", "composite"] > t.loc[peers.index, "composite"].max()


def scores_breakdown(store, params):
    from perfkit.appraisal.scorecard import breakdown

    return breakdown(store, MONTH, params=params)


def percentile_by_hand(values: pd.Series) -> list[float]:
    """Lower is better: the smallest value 100, the largest 0, ties share their average rank."""
    rank = (-values).rank(method="average")
    n = values.notna().sum()
    return [100.0 * (r - 1) / (n - 1) for r in rank]
