"""One rule for who is appraised in a month (employed on at least one day of it, or with data in
it), used by every listing and --entity query: a leaver and a future hire get the same one-line
answer naming the date; an appraised employee without tasks gets "无任务", not an empty frame."""

from __future__ import annotations

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
    listed = set(indicators(store, MONTH, "employee", params=params_dir)["entity_id"])
    assert entity not in listed and "E7" in listed
    assert entity not in set(scores(store, MONTH, params=params_dir)["entity_id"])
    for query in (lambda: indicators(store, MONTH, "employee", entity=entity, params=params_dir),
                  lambda: scores(store, MONTH, entity=entity, params=params_dir),
                  lambda: tasks(store, MONTH, level="employee", entity=entity, params=params_dir)):
        with pytest.raises(RequestError, match="^" + said):
            query()


def test_the_cli_says_so_in_one_line(store, params_dir, capsys):
    for cmd in ("indicators", "tasks", "scores"):
        assert main([cmd, "--db", str(store), "--params", str(params_dir), "--month", MONTH,
                     "--level", "employee", "--entity", "E5"]) == RequestError.exit_code
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["perfkit: error: E5 赵离 left on 2026-09-15, before 2026-10: not appraised "
                       "in 2026-10"], (cmd, err)


def test_an_appraised_employee_without_tasks_is_told_so(store, params_dir, capsys):
    assert main(["tasks", "--db", str(store), "--params", str(params_dir), "--month", MONTH,
                 "--level", "employee", "--entity", "E7"]) == 0
    assert capsys.readouterr().out.strip() == "无任务 / no tasks for E7 in 2026-10"
