"""Task lists (任务列表): the client-level to-dos of ``parameters/tasks.yaml`` for a month.

Every rule's SQL lists candidate tasks (client_id, created_on, due_on, done_on); this module applies
the same listing and status logic to all of them (see the comment at the top of tasks.yaml):

- listed in month M when created by the end of M and due in M or later, or — for rules with
  ``carry_over`` — not done at the start of M;
- status as of the last day of M: 已完成 (done by the due date), 逾期完成 (done late, by month end),
  未完成 (due, not done), 进行中 (not done, not yet due);
- owner: the client's manager in M (client_months.employee_id), else clients.employee_id.

The measures of ``parameters/measures/tasks.sql`` count the very same rows, so an indicator backed by
a task rule always agrees with its task list. Phone and id numbers are masked by :func:`mask_phone` /
:func:`mask_id` and, inside DuckDB, by :func:`mask_phone_sql` / :func:`mask_id_sql` (the same rule:
a test holds them equal) — the only places perfkit masks them. The list is labelled, masked and
sorted inside DuckDB (:func:`task_query`): :func:`tasks` fetches it, :func:`write_tasks` writes it
straight to Parquet for the month snapshot, however many clients there are.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd

from perfkit.data.store import StoreLike, connect, copy_parquet, resource_error
from perfkit.errors import RequestError, SpecError
from perfkit.metrics.catalog import ALL_TASKS, SqlDate, TaskRules, load_catalog, render_sql
from perfkit.metrics.entities import employees_frame, load_appraised, require_appraised
from perfkit.metrics.months import check_month, create_report_months, drop_temp, window_start
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

STATUSES = ("已完成", "逾期完成", "未完成", "进行中")
DONE_STATUSES = ("已完成", "逾期完成")
OPEN_STATUSES = ("未完成", "进行中")

# Chinese headers for reports (the API returns the English column names).
TASK_COLUMNS_ZH = {
    "month": "月份",
    "rule_id": "任务规则编号",
    "rule_name": "任务类型",
    "indicator_ids": "对应指标",
    "branch_id": "营业部编号",
    "employee_id": "员工编号",
    "employee_name": "员工姓名",
    "client_id": "客户号",
    "client_name": "客户姓名",
    "phone": "手机号",
    "id_no": "证件号码",
    "created_on": "生成日期",
    "due_on": "应完成日期",
    "done_on": "完成日期",
    "status": "状态",
    "due_in_month": "本月到期",
}


# ── privacy ─────────────────────────────────────────────────────────────────────────────────────


def mask_phone(phone: pd.Series | str | None) -> pd.Series | str | None:
    """138****5678: keep the first 3 and last 4 characters (shorter numbers become all ``*``)."""
    if isinstance(phone, pd.Series):
        s = phone.astype("string")
        masked = s.str[:3] + "****" + s.str[-4:]
        return masked.where(s.str.len() >= 8, s.str.replace(r".", "*", regex=True))
    if phone is None or pd.isna(phone):
        return None
    return mask_phone(pd.Series([str(phone)])).iloc[0]


def mask_id(id_no: pd.Series | str | None) -> pd.Series | str | None:
    """110101********1234: keep the first 6 and last 4 characters, star the rest (≥ 11 chars)."""
    if isinstance(id_no, pd.Series):
        s = id_no.astype("string")
        stars = s.str.len().sub(10).clip(lower=0).map(lambda n: "*" * int(n) if pd.notna(n) else pd.NA)
        masked = s.str[:6] + stars.astype("string") + s.str[-4:]
        return masked.where(s.str.len() >= 11, s.str.replace(r".", "*", regex=True))
    if id_no is None or pd.isna(id_no):
        return None
    return mask_id(pd.Series([str(id_no)])).iloc[0]


def mask_phone_sql(col: str) -> str:
    """:func:`mask_phone` as a DuckDB expression on column ``col``."""
    return (f"CASE WHEN length({col}) >= 8 THEN left({col}, 3) || '****' || right({col}, 4) "
            f"ELSE regexp_replace({col}, '.', '*', 'g') END")


def mask_id_sql(col: str) -> str:
    """:func:`mask_id` as a DuckDB expression on column ``col``."""
    return (f"CASE WHEN length({col}) >= 11 THEN left({col}, 6) || "
            f"repeat('*', greatest(length({col}) - 10, 0)) || right({col}, 4) "
            f"ELSE regexp_replace({col}, '.', '*', 'g') END")


# ── the task list SQL ───────────────────────────────────────────────────────────────────────────


def _candidates_sql(rule, rules_path: str, start: str | None, *, owner: bool = False) -> str:
    """One rule's candidates, listed against ``report_months``. ``owner``: the rule's query
    returns ``employee_id`` (the client's current manager), the owner when the client has no
    snapshot in the month; without it the owner comes from a join to ``clients``."""
    values = {**rule.substitutions(), "window_start": SqlDate(start or "1900-01-01")}
    cand = render_sql(rule.sql, values, file=rules_path, entry=f"task rule {rule.id!r}")
    cand = cand.strip().rstrip(";")
    listed = "t.due_on >= m.month_start"
    if rule.carry_over:
        listed += " OR t.done_on IS NULL OR t.done_on >= m.month_start"
    window = f" AND t.created_on >= DATE '{start}'" if (start and not rule.backlog) else ""
    if rule.scope == "monthly":
        return f"""
SELECT m.month, m.month_start, m.month_end, '{rule.id}' AS rule_id,
       t.client_id, t.employee_id, t.created_on, t.due_on, t.done_on
FROM (SELECT month, employee_id, client_id,
             CAST(created_on AS DATE) AS created_on,
             CAST(due_on AS DATE) AS due_on,
             CAST(done_on AS DATE) AS done_on
      FROM (
{cand}
      ) AS raw) AS t
JOIN report_months AS m
  ON m.month = t.month AND t.created_on <= m.month_end AND ({listed}){window}
"""
    fallback = "employee_id" if owner else "NULL::VARCHAR"
    return f"""
SELECT m.month, m.month_start, m.month_end, '{rule.id}' AS rule_id,
       t.client_id, t.fallback_owner, t.created_on, t.due_on, t.done_on
FROM (SELECT client_id, {fallback} AS fallback_owner,
             CAST(created_on AS DATE) AS created_on,
             CAST(due_on AS DATE) AS due_on,
             CAST(done_on AS DATE) AS done_on
      FROM (
{cand}
      ) AS raw) AS t
JOIN report_months AS m
  ON t.created_on <= m.month_end AND ({listed}){window}
"""


_STATUS = """
       CASE WHEN l.done_on <= l.month_end AND l.done_on <= l.due_on THEN '已完成'
            WHEN l.done_on <= l.month_end THEN '逾期完成'
            WHEN l.due_on <= l.month_end THEN '未完成'
            ELSE '进行中' END AS status,
       l.due_on BETWEEN l.month_start AND l.month_end AS due_in_month"""


def _listed_sql(rule, rules_path: str, start: str | None, owner: bool) -> str:
    """One rule's listed tasks with owner, status and due_in_month.

    ``monthly`` rules bring their month and owner; ``active`` rules keep clients with a snapshot in
    the month, owned by its manager; ``all`` rules are owned by the month's manager, else by the
    client's current one — the rule's own ``employee_id`` column when it has one (``owner``),
    else ``clients.employee_id``.
    """
    cand = _candidates_sql(rule, rules_path, start, owner=owner)
    if rule.scope == "monthly":
        return f"""
SELECT l.month, l.rule_id, l.client_id, l.employee_id, l.created_on, l.due_on, l.done_on,{_STATUS}
FROM ({cand}) AS l"""
    if rule.scope == "active":
        return f"""
SELECT l.month, l.rule_id, l.client_id, cm.employee_id, l.created_on, l.due_on, l.done_on,{_STATUS}
FROM ({cand}) AS l
JOIN client_months AS cm ON cm.client_id = l.client_id AND cm.month = l.month"""
    if owner:
        return f"""
SELECT l.month, l.rule_id, l.client_id, coalesce(cm.employee_id, l.fallback_owner) AS employee_id,
       l.created_on, l.due_on, l.done_on,{_STATUS}
FROM ({cand}) AS l
LEFT JOIN client_months AS cm ON cm.client_id = l.client_id AND cm.month = l.month"""
    return f"""
SELECT l.month, l.rule_id, l.client_id, coalesce(cm.employee_id, c.employee_id) AS employee_id,
       l.created_on, l.due_on, l.done_on,{_STATUS}
FROM ({cand}) AS l
JOIN clients AS c ON c.client_id = l.client_id
LEFT JOIN client_months AS cm ON cm.client_id = l.client_id AND cm.month = l.month"""


_EMPTY = (
    "SELECT NULL::VARCHAR AS month, NULL::VARCHAR AS rule_id, NULL::VARCHAR AS client_id, "
    "NULL::VARCHAR AS employee_id, NULL::DATE AS created_on, NULL::DATE AS due_on, "
    "NULL::DATE AS done_on, NULL::VARCHAR AS status, NULL::BOOLEAN AS due_in_month WHERE false"
)


def _owned_sql(rules: list, rules_path: str, start: str | None) -> str:
    """The listed tasks of the ``active`` rules and of the ``all`` rules with an ``employee_id``
    column, owned through ONE join to the month's snapshot (one pass over client_months instead
    of one per rule): the same rows as :func:`_listed_sql` gives rule by rule."""
    cands = "\nUNION ALL\n".join(
        f"SELECT *, {'TRUE' if r.scope == 'active' else 'FALSE'} AS active "
        f"FROM ({_candidates_sql(r, rules_path, start, owner=r.scope == 'all')})"
        for r in rules
    )
    return f"""
SELECT l.month, l.rule_id, l.client_id, coalesce(cm.employee_id, l.fallback_owner) AS employee_id,
       l.created_on, l.due_on, l.done_on,{_STATUS}
FROM ({cands}) AS l
LEFT JOIN client_months AS cm ON cm.client_id = l.client_id AND cm.month = l.month
WHERE NOT l.active OR cm.client_id IS NOT NULL"""


def task_list_sql(
    rules: TaskRules, start: str | None, rule_ids: list[str] | None = None,
    owners: frozenset[str] = frozenset(),
) -> str:
    """Every rule's listed tasks with owner, status and due_in_month (reads ``report_months``).
    ``owners``: the ids of the rules whose query returns an ``employee_id`` column."""
    chosen = [r for r in rules.rules if rule_ids is None or r.id in rule_ids]
    if not chosen:
        return _EMPTY
    owned = [r for r in chosen if r.scope == "active" or (r.scope == "all" and r.id in owners)]
    ids = {r.id for r in owned}
    parts = [_listed_sql(r, rules.path, start, r.id in owners) for r in chosen if r.id not in ids]
    if owned:
        parts.append(_owned_sql(owned, rules.path, start))
    return "\nUNION ALL\n".join(parts)


def _rules_with_owner(con: duckdb.DuckDBPyConnection, rules: TaskRules, start: str | None) -> frozenset[str]:
    """Ids of the ``all``-scope rules whose query has an ``employee_id`` column (planned, not run)."""
    found = set()
    for r in rules.rules:
        if r.scope != "all":
            continue
        values = {**r.substitutions(), "window_start": SqlDate(start or "1900-01-01")}
        cand = render_sql(r.sql, values, file=rules.path, entry=f"task rule {r.id!r}").strip().rstrip(";")
        try:
            cols = [d[0] for d in con.execute(f"SELECT * FROM ({cand}) AS raw LIMIT 0").description]
        except duckdb.Error:
            continue  # reported with the rule's name by create_task_list
        if "employee_id" in cols:
            found.add(r.id)
    return frozenset(found)


def create_task_list(
    con: duckdb.DuckDBPyConnection, rules: TaskRules, start: str | None,
    rule_ids: list[str] | None = None, *, materialize: bool = False,
) -> None:
    """(Re)create ``task_list`` for the months in ``report_months``: a temp view, or with
    ``materialize`` a temp table.

    The task measures read a view: DuckDB then aggregates the rows as they are listed instead of
    writing them first. Task lists (:func:`tasks`) read a table: fetching a large listing joined
    to clients straight from the view hangs DuckDB 1.5 (every thread idle; seen from ~250,000
    clients on, `bench/bench_scale.py`). A rule query that does not bind is reported as a
    SpecError naming tasks.yaml and the rule.
    """
    owners = _rules_with_owner(con, rules, start)
    kind = "TABLE" if materialize else "VIEW"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP {kind} task_list AS "
            f"{task_list_sql(rules, start, rule_ids, owners)}"
        )
    except duckdb.Error as exc:
        raise rules_error(con, rules, start, exc) from None


def read_task_list(
    con: duckdb.DuckDBPyConnection, rules: TaskRules, start: str | None, sql: str, args: list | None = None
) -> pd.DataFrame:
    """Run ``sql`` (which reads the ``task_list`` view); a rule failing while its rows are read is
    reported as a SpecError naming tasks.yaml and the rule."""
    try:
        return con.execute(sql, args or []).df()
    except duckdb.Error as exc:
        raise rules_error(con, rules, start, exc) from None


def rules_error(con: duckdb.DuckDBPyConnection, rules: TaskRules, start: str | None,
                exc: duckdb.Error) -> Exception:
    """The error to raise for ``exc``, from a query running the task rules: DuckDB out of memory
    or disk (:func:`~perfkit.data.store.resource_error`), else the first failing rule
    (:func:`failing_rule`), else tasks.yaml's whole SQL."""
    return resource_error(exc) or failing_rule(con, rules, start) or SpecError(
        f"task rules SQL failed: {exc}", file=rules.path)


def failing_rule(con: duckdb.DuckDBPyConnection, rules: TaskRules, start: str | None) -> SpecError | None:
    """The error of the first rule whose query fails when run on its own (None when all run):
    a SpecError naming tasks.yaml, the rule and its ``sql`` field — or a StoreError when DuckDB
    ran out of memory or disk instead (:func:`~perfkit.data.store.resource_error`)."""
    for r in rules.rules:
        try:
            con.execute(f"SELECT count(*) FROM ({_candidates_sql(r, rules.path, start)})").fetchall()
        except duckdb.Error as one:
            return resource_error(one) or SpecError(f"task rule {r.id!r}: field 'sql': {one}",
                                                    file=rules.path)
    return None


def task_frame(
    con: duckdb.DuckDBPyConnection, months: list[str], rules: TaskRules,
    rule_ids: list[str] | None = None,
) -> pd.DataFrame:
    """The raw (unmasked, unlabelled) task rows of ``months``: month, rule_id, client_id,
    employee_id, created_on, due_on, done_on, status, due_in_month."""
    create_report_months(con, months)
    try:
        start = window_start(con)
        create_task_list(con, rules, start, rule_ids, materialize=True)
        return read_task_list(con, rules, start, "SELECT * FROM task_list")
    finally:
        drop_temp(con)


def rows_behind(df: pd.DataFrame, ind) -> pd.DataFrame:
    """The rows of task list ``df`` behind indicator ``ind``'s value: the rows of its rules
    (``indicator_ids``) selected by its ``task_rows``. Their count is what the value counts."""
    keep = ("," + df["indicator_ids"].astype(str) + ",").str.contains(f",{ind.id},", regex=False)
    sel = ind.task_rows
    if sel.due_in_month is not None:
        keep &= df["due_in_month"].astype(bool) == sel.due_in_month
    if sel.status:
        keep &= df["status"].isin(sel.status)
    return df.loc[keep.to_numpy(dtype=bool)]


# ── the public API ──────────────────────────────────────────────────────────────────────────────

#: the order of a task list (missing values last; the last three only settle ties)
ORDER = ("branch_id", "employee_id", "rule_id", "due_on", "client_id", "created_on", "done_on",
         "status")


def task_query(catalog, level: str = "company", entity: str | None = None, *,
               mask: bool = True) -> tuple[str, list]:
    """(SQL, arguments) of the labelled task list read from ``task_list``: the columns of
    :data:`TASK_COLUMNS_ZH` with rule names, the indicators behind each rule, the employee's
    branch and name, the client's name, phone and id number (masked unless ``mask=False``),
    dates as TIMESTAMP; the rows of employee or branch ``entity`` when given. Unsorted."""
    backs = {rid: [i.id for i in inds] for rid, inds in catalog.indicators_by_rule().items()}
    rules = catalog.tasks.rules
    args: list = [x for r in rules for x in (r.id, r.name, ",".join(backs.get(r.id, [])))]
    labels = ("SELECT * FROM (VALUES " + ", ".join(["(?, ?, ?)"] * len(rules))
              + ") AS v(rule_id, rule_name, indicator_ids)") if rules else (
        "SELECT NULL::VARCHAR AS rule_id, NULL::VARCHAR AS rule_name, "
        "NULL::VARCHAR AS indicator_ids WHERE false")
    where = ""
    if level == "employee" and entity is not None:
        where, args = "WHERE t.employee_id = ?", [*args, entity]
    elif level == "branch" and entity is not None:
        where, args = "WHERE e.branch_id = ?", [*args, entity]
    phone, id_no = (mask_phone_sql("c.phone"), mask_id_sql("c.id_no")) if mask else (
        "c.phone", "c.id_no")
    sql = f"""
        SELECT t.month, t.rule_id, r.rule_name, r.indicator_ids, e.branch_id, t.employee_id,
               e.employee_name, t.client_id, c.client_name, {phone} AS phone, {id_no} AS id_no,
               CAST(t.created_on AS TIMESTAMP) AS created_on,
               CAST(t.due_on AS TIMESTAMP) AS due_on, CAST(t.done_on AS TIMESTAMP) AS done_on,
               t.status, coalesce(t.due_in_month, false) AS due_in_month
        FROM task_list AS t
        LEFT JOIN ({labels}) AS r ON r.rule_id = t.rule_id
        LEFT JOIN employees AS e ON e.employee_id = t.employee_id
        LEFT JOIN clients AS c ON c.client_id = t.client_id
        {where}"""
    return sql, args


def _rules(catalog, params) -> TaskRules:
    if catalog.tasks is None:
        raise SpecError("parameters file not found", file=str(find_params(params) / "tasks.yaml"))
    return catalog.tasks


def tasks(
    store: StoreLike,
    month: str,
    *,
    level: str = "employee",
    entity: str | None = None,
    indicator: str | None = None,
    rule: str | None = None,
    params: str | Path | None = None,
    mask: bool = True,
) -> pd.DataFrame:
    """The task list of ``month`` (status as of the month's last day).

    ``level``/``entity``: ``employee`` + an employee id, ``branch`` + a branch id, or ``company``
    (every task); ``entity=None`` means every entity of the level. ``indicator`` keeps the rules
    behind that indicator (its ``task``; ``all`` = every rule), ``rule`` one rule. Columns: month,
    rule_id, rule_name, indicator_ids, branch_id, employee_id, employee_name, client_id,
    client_name, phone, id_no (masked unless ``mask=False``), created_on, due_on, done_on, status,
    due_in_month (True when the task counts in the month's due-based indicators). An empty list
    is an empty frame with these columns.
    """
    catalog = load_catalog(params)
    rules = _rules(catalog, params)
    rule_ids: list[str] | None = None
    if indicator is not None:
        ind = catalog.indicator(indicator)
        if ind.task is None:
            raise RequestError(f"indicator {indicator!r} ({ind.name}) has no task list")
        rule_ids = None if ind.task == ALL_TASKS else [ind.task]
    if rule is not None:
        rules.rule(rule)
        rule_ids = [rule] if rule_ids is None or rule in rule_ids else []
    sql, args = task_query(catalog, level, entity, mask=mask)
    order = ", ".join(f"{c} NULLS LAST" for c in ORDER)
    with connect(store) as con:
        check_month(con, month)
        _check_entity(con, level, entity)
        create_report_months(con, [month])
        try:
            start = window_start(con)
            create_task_list(con, rules, start, rule_ids, materialize=True)
            df = read_task_list(con, rules, start, f"{sql}\nORDER BY {order}", args)
        finally:
            drop_temp(con)
        if level == "employee" and entity is not None:  # the listings' rule, for him too
            require_appraised(employees_frame(con), month, entity,
                              load_appraised(params).min_days)
    df = df.astype({"due_in_month": bool})
    if indicator is not None:
        df = rows_behind(df, catalog.indicator(indicator))
    if mask:
        df = df.astype({"phone": "string", "id_no": "string"})
    log.info("task list %s %s %s: %d tasks", month, level, entity or "all", len(df))
    return df[list(TASK_COLUMNS_ZH)].reset_index(drop=True)


def write_tasks(store: StoreLike, month: str, path: str | Path, *,
                params: str | Path | None = None, order_by: tuple[str, ...] = ()) -> int:
    """Every task of ``month`` (``tasks(level="company")``'s rows, masked) written to the Parquet
    file ``path`` inside DuckDB, sorted by ``order_by`` then as :func:`tasks` sorts; the number of
    rows. Nothing is held in pandas: a month of any size fits DuckDB's memory limit."""
    catalog = load_catalog(params)
    rules = _rules(catalog, params)
    sql, args = task_query(catalog)
    with connect(store) as con:
        check_month(con, month)
        create_report_months(con, [month])
        try:
            start = window_start(con)
            create_task_list(con, rules, start, materialize=True)
            try:
                n = copy_parquet(con, sql, path, args=args,
                                 order_by=list(dict.fromkeys([*order_by, *ORDER])))
            except duckdb.Error as exc:
                raise rules_error(con, rules, start, exc) from None
        finally:
            drop_temp(con)
    log.info("task list %s company all: %d tasks written to %s", month, n, path)
    return n


def _check_entity(con: duckdb.DuckDBPyConnection, level: str, entity: str | None) -> None:
    if level not in ("company", "branch", "employee"):
        raise RequestError(f"unknown level {level!r}; use company, branch or employee")
    if entity is None or level == "company":
        return
    table, key = ("branches", "branch_id") if level == "branch" else ("employees", "employee_id")
    if not con.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", [entity]).fetchone()[0]:
        raise RequestError(f"unknown {level} {entity!r}: not in table {table}")
