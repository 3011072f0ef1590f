"""Task lists on the tiny store: statuses by hand, agreement with the indicators behind them,
masking, filters and errors."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from perfkit.errors import RequestError, SpecError
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.indicators import indicators
from perfkit.metrics.tasks import STATUSES, mask_id, mask_phone, tasks

# Every task listed for 2026-10: (rule, client, employee, status, due in Oct), by hand.
EXPECTED_OCT = {
    ("lead_followup", "C02", "E1", "已完成", True),
    ("lead_followup", "C03", "E1", "未完成", True),
    ("lead_followup", "C06", "E2", "逾期完成", True),
    ("lead_followup", "C10", "E3", "进行中", False),
    ("account_callback", "C02", "E1", "已完成", True),
    ("account_callback", "C11", "E2", "未完成", False),      # due in Sep, carried over
    ("profile_completion", "C02", "E1", "进行中", False),
    ("profile_completion", "C05", "E2", "未完成", False),
    ("profile_completion", "C11", "E2", "已完成", True),
    ("lost_recall", "C04", "E1", "逾期完成", True),
    ("lost_recall", "C12", "E3", "未完成", True),
    ("risk_renewal", "C05", "E2", "未完成", False),          # expired 2026-08-01
    ("risk_renewal", "C07", "E3", "逾期完成", True),
    ("quarterly_contact", "C01", "E1", "已完成", False),
    ("quarterly_contact", "C02", "E1", "已完成", False),
    ("quarterly_contact", "C04", "E1", "进行中", False),
    ("quarterly_contact", "C05", "E2", "进行中", False),
    ("quarterly_contact", "C11", "E2", "进行中", False),
    ("quarterly_contact", "C07", "E3", "已完成", False),
    ("quarterly_contact", "C08", "E3", "已完成", False),
    ("quarterly_contact", "C09", "E3", "进行中", False),
    ("quarterly_contact", "C12", "E3", "进行中", False),
}


def _key(df: pd.DataFrame) -> set[tuple]:
    return set(
        df[["rule_id", "client_id", "employee_id", "status", "due_in_month"]]
        .itertuples(index=False, name=None)
    )


def test_october_task_list_by_hand(tiny_store):
    df = tasks(tiny_store, "2026-10", level="company")
    assert _key(df) == EXPECTED_OCT
    assert set(df.status) <= set(STATUSES)
    row = df[(df.rule_id == "lead_followup") & (df.client_id == "C06")].iloc[0]
    assert (str(row.created_on.date()), str(row.due_on.date()), str(row.done_on.date())) == (
        "2026-10-02", "2026-10-05", "2026-10-07"
    )
    assert row.rule_name == "潜在客户跟进" and row.employee_name == "李娜" and row.branch_id == "B01"
    assert "lead_followup_rate" in row.indicator_ids.split(",")


def test_status_is_as_of_month_end(tiny_store):
    sep = tasks(tiny_store, "2026-09", level="company").set_index(["rule_id", "client_id"])
    assert sep.loc[("account_callback", "C11"), "status"] == "未完成"
    assert sep.loc[("risk_renewal", "C07"), "status"] == "进行中"   # expired 09-15, due 10-15
    assert sep.loc[("lead_followup", "C02"), "status"] == "已完成"  # done 09-29, due 10-01
    assert not sep.loc[("lead_followup", "C02"), "due_in_month"]
    assert sep.loc[("lost_recall", "C09"), "status"] == "已完成"


# ── tasks ↔ indicators ──────────────────────────────────────────────────────────────────────────


def _indicator_row(store, month, level, entity, ind):
    df = indicators(store, month, level, entity=entity)
    return df.set_index("indicator_id").loc[ind]


def _scopes():
    for month in ("2026-08", "2026-09", "2026-10"):
        for level, entity in (("company", None), ("branch", "B01"), ("branch", "B02"),
                              ("employee", "E1"), ("employee", "E2"), ("employee", "E3"),
                              ("employee", "E4")):
            yield month, level, entity


@pytest.mark.parametrize("month,level,entity", list(_scopes()))
def test_every_task_backed_indicator_agrees_with_its_task_list(tiny_store, month, level, entity):
    catalog = load_catalog()
    if level == "employee" and entity == "E4" and month < "2026-10":
        # not yet hired (2026-10-08): not appraised, the same answer from both queries
        said = f"E4 刘洋 was hired on 2026-10-08, after {month}: not appraised in {month}"
        with pytest.raises(RequestError, match=said):
            indicators(tiny_store, month, level, entity=entity)
        with pytest.raises(RequestError, match=said):
            tasks(tiny_store, month, level=level, entity=entity)
        return
    ind_df = indicators(tiny_store, month, level, entity=entity).set_index("indicator_id")
    backed = [i for i in catalog.indicators if i.task]
    assert {i.id for i in backed} >= {
        "lead_followup_rate", "callback_rate", "profile_complete_rate", "risk_renewal_rate",
        "recall_contact_rate", "coverage_rate", "routine_completion_rate", "overdue_tasks",
    }
    everything = tasks(tiny_store, month, level=level, entity=entity)
    for ind in backed:
        backs = everything.indicator_ids.str.split(",").map(lambda ids, i=ind.id: i in ids)
        t = everything.loc[backs.astype(bool)]
        row = ind_df.loc[ind.id]
        due = t[t.due_in_month]
        if ind.id in ("lead_followup_rate", "callback_rate", "risk_renewal_rate",
                      "recall_contact_rate"):
            assert row.numerator == (due.status == "已完成").sum(), ind.id
            assert row.denominator == len(due), ind.id
        elif ind.id == "routine_completion_rate":
            assert row.numerator == due.status.isin(["已完成", "逾期完成"]).sum()
            assert row.denominator == len(due)
        elif ind.id == "overdue_tasks":
            assert row.numerator == (t.status == "未完成").sum()
        elif ind.id == "coverage_rate":
            assert row.numerator == t.status.isin(["已完成", "逾期完成"]).sum()
            assert row.denominator == len(t)
        elif ind.id == "profile_complete_rate":
            # the incomplete-profile tasks are exactly the accounts missing from the numerator
            open_ = t[t.status.isin(["未完成", "进行中"])]
            assert row.denominator - row.numerator == len(open_)
        else:  # pragma: no cover - a new task-backed indicator needs its rule here
            pytest.fail(f"add the agreement rule for {ind.id}")


def test_incomplete_profile_clients_are_exactly_the_open_profile_tasks(tiny_store):
    t = tasks(tiny_store, "2026-10", level="company", indicator="profile_complete_rate")
    assert set(t.rule_id) == {"profile_completion"}
    open_clients = set(t.loc[t.status.isin(["未完成", "进行中"]), "client_id"])
    assert open_clients == {"C02", "C05"}  # C02 no email, C05 no occupation/address


# ── masking ─────────────────────────────────────────────────────────────────────────────────────


def test_mask_functions():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id("110101198001011234") == "110101********1234"
    assert mask_id("11010119800101123X") == "110101********123X"
    assert mask_phone(None) is None and mask_id(None) is None
    assert mask_phone("12345") == "*****"
    s = mask_phone(pd.Series(["13900001111", None]))
    assert s.iloc[0] == "139****1111" and pd.isna(s.iloc[1])


def test_no_unmasked_phone_or_id_in_task_output(tiny_store, tiny_con):
    df = tasks(tiny_store, "2026-10", level="company")
    raw = tiny_con.execute("SELECT phone, id_no FROM clients").fetchall()
    text = df.to_csv(index=False)
    for phone, id_no in raw:
        assert phone not in text and id_no not in text
    assert all(re.fullmatch(r"1\d{2}\*{4}\d{4}", p) for p in df.phone)
    assert all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", i) for i in df.id_no)
    clear = tasks(tiny_store, "2026-10", level="company", mask=False)
    assert "13800000002" in set(clear.phone)


# ── filters and errors ──────────────────────────────────────────────────────────────────────────


def test_filters(tiny_store):
    e2 = tasks(tiny_store, "2026-10", level="employee", entity="E2")
    assert set(e2.employee_id) == {"E2"} and len(e2) == 7
    b02 = tasks(tiny_store, "2026-10", level="branch", entity="B02")
    assert set(b02.employee_id) == {"E3"} and len(b02) == 7
    r = tasks(tiny_store, "2026-10", level="company", rule="lost_recall")
    assert set(r.client_id) == {"C04", "C12"}
    none = tasks(tiny_store, "2026-10", level="employee", entity="E4")
    assert none.empty and "phone" in none.columns
    both = tasks(tiny_store, "2026-10", level="company", indicator="callback_rate", rule="lost_recall")
    assert both.empty


def test_errors(tiny_store):
    with pytest.raises(RequestError, match=r"month 2027-01 is not in the data; available months: 2026-08 … 2026-10"):
        tasks(tiny_store, "2027-01")
    with pytest.raises(RequestError, match=r"unknown employee 'E9': not in table employees"):
        tasks(tiny_store, "2026-10", level="employee", entity="E9")
    with pytest.raises(RequestError, match=r"indicator 'client_assets' \(客户资产总额\) has no task list"):
        tasks(tiny_store, "2026-10", indicator="client_assets")
    with pytest.raises(RequestError, match=r"unknown task rule 'nope'; known: lead_followup"):
        tasks(tiny_store, "2026-10", rule="nope")


def test_broken_rule_sql_names_file_and_rule(tiny_store, params_dir, tmp_path):
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    text = (params / "tasks.yaml").read_text(encoding="utf-8")
    (params / "tasks.yaml").write_text(
        text.replace("profile_completed_on        AS done_on", "profile_done AS done_on"),
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"tasks\.yaml: task rule 'profile_completion': field 'sql'"):
        tasks(tiny_store, "2026-10", params=params)



def _edited_params(params_dir, tmp_path, old: str, new: str):
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    text = (params / "tasks.yaml").read_text(encoding="utf-8")
    assert old in text
    (params / "tasks.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return params


def test_rule_failing_at_run_time_names_file_and_rule(tiny_store, params_dir, tmp_path):
    # binds fine, fails only when rows are read: the task list is a view, so the error surfaces
    # inside the task measures' query and must still name the rule, not measures/tasks.sql
    params = _edited_params(params_dir, tmp_path, "open_date + ${days}         AS due_on",
                            "open_date + CAST(client_id AS INTEGER) AS due_on")
    pattern = r"tasks\.yaml: task rule 'profile_completion': field 'sql'.*Conversion"
    with pytest.raises(SpecError, match=pattern):
        tasks(tiny_store, "2026-10", params=params)
    with pytest.raises(SpecError, match=pattern):
        indicators(tiny_store, "2026-10", "employee", params=params)


def test_rule_without_owner_column_falls_back_to_clients(tiny_store, params_dir, tmp_path):
    # employee_id in an `all` rule's query is optional: without it the owner of a client with no
    # snapshot in the month comes from clients.employee_id, exactly as with it
    params = _edited_params(params_dir, tmp_path, """
             any_value(c.employee_id)              AS employee_id,
""", "\n")
    assert "employee_id" not in (params / "tasks.yaml").read_text(encoding="utf-8").split(
        "- id: lead_followup")[1].split("- id:")[0].split("sql:")[1]
    seen = 0
    for month in ("2026-08", "2026-09", "2026-10"):
        want = tasks(tiny_store, month, rule="lead_followup", params=params_dir)
        got = tasks(tiny_store, month, rule="lead_followup", params=params)
        pd.testing.assert_frame_equal(got, want)
        seen += len(want)
    assert seen > 0

# How many task rows each task-backed indicator counts, written out independently of task_rows:
# due-based rates count the tasks due in the month (the denominator), coverage every quarterly task,
# overdue tasks the numerator, profile completeness the clients missing from its numerator.
BEHIND = {
    "lead_followup_rate": lambda r: r.denominator,
    "callback_rate": lambda r: r.denominator,
    "risk_renewal_rate": lambda r: r.denominator,
    "recall_contact_rate": lambda r: r.denominator,
    "routine_completion_rate": lambda r: r.denominator,
    "coverage_rate": lambda r: r.denominator,
    "overdue_tasks": lambda r: r.numerator,
    "profile_complete_rate": lambda r: r.denominator - r.numerator,
}


@pytest.mark.parametrize("month", ["2026-08", "2026-09", "2026-10"])
def test_task_list_behind_each_indicator_has_exactly_the_counted_rows(tiny_store, month):
    from perfkit.metrics.catalog import load_catalog
    from perfkit.metrics.indicators import indicators

    catalog = load_catalog()
    backed = {i.id for i in catalog.indicators if i.task}
    assert backed == set(BEHIND), "a new task-backed indicator needs its expected count here"
    rows = indicators(tiny_store, month, "employee")
    for r in rows[rows["indicator_id"].isin(backed)].itertuples():
        listed = tasks(tiny_store, month, level="employee", entity=r.entity_id,
                       indicator=r.indicator_id)
        assert len(listed) == BEHIND[r.indicator_id](r), (r.entity_id, r.indicator_id)
