"""Role reports end to end: the three notebooks rendered from a small demo store and checked.

One small demo store (2 branches, 6 employees incl. a new hire without clients and a leaver) is
built once; every report of its last month is rendered once by :func:`perfkit.batch.run`. The
tests then drive the reports in Debian's Chromium (no network, no CJK font), scan every file for
the scoping and masking rules, render a store with hostile names, run the notebooks through plain
papermill and check ``perfkit render``'s errors. Screenshots and budget figures go to
tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pytest
import yaml
from browser_support import ARTIFACTS, Session, browser, require
from pagetext import unpack

from perfkit.errors import RenderError

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "parameters"
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
MONTH = "2026-10"
DEMO = {"branches": 2, "employees": 6, "clients": 300, "months": 3, "end_month": MONTH, "seed": 7}
INLINE_BUDGET, SHARED_BUDGET = 1_200_000, 400_000  # issue 18: the employee report
MINUS = "\u2212"
DASH = "—"
EVIL_SCRIPT = "<script>window.__pwned=1</script>"
EVIL_IMG = '<img src=x onerror="window.__pwned=1">'
EVIL_TPL = "{{ 7*7 }}"
PHONE_RE = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
ID_NO_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
EMP_RE = re.compile(r"(?<![0-9A-Za-z#])E[0-9]{5}(?![0-9A-Za-z])")
CLIENT_RE = re.compile(r"(?<![0-9A-Za-z#])C[0-9]{8}(?![0-9A-Za-z])")
BRANCH_RE = re.compile(r"(?<![0-9A-Za-z#])B[0-9]{3}(?![0-9A-Za-z])")


# ------------------------------------------------------------------------------ helpers
def _record(key: str, value: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "report_metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def _decoded(path: Path) -> str:
    """The file's text with the widget state unpacked (:func:`pagetext.unpack`) and its JSON
    escapes undone (names appear verbatim), CSV downloads decoded (their rows are scanned too)
    and other base64 payloads (the font subset) dropped: their letters can spell an id."""
    import base64

    def payload(m: re.Match[str]) -> str:
        if m.group(1) == "text/csv":
            return base64.b64decode(m.group(2)).decode("utf-8-sig")
        return ""

    text = unpack(path.read_text(encoding="utf-8"))
    text = re.sub(r"data:([a-z0-9/+.-]+)[^,\"']*;base64,([A-Za-z0-9+/=]+)", payload, text)
    for esc, ch in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("<\\/", "</"),
                    ('\\"', '"')):
        text = text.replace(esc, ch)
    return text


def parse_value(cell: str) -> float | None:
    """A formatted cell as a number: "1,234.56 万元", "82.3%", "−3" (U+2212); "—" → None."""
    s = cell.strip()
    if s in (DASH, "", "-"):
        return None
    m = re.match(r"^([+\-\u2212]?)([0-9][0-9,]*(?:\.[0-9]+)?)", s)
    assert m, f"not a formatted number: {cell!r}"
    value = float(m.group(2).replace(",", ""))
    return -value if m.group(1) in ("-", MINUS) else value


def test_parse_value() -> None:
    assert parse_value("1,234.56 万元") == 1234.56
    assert parse_value("82.3%") == 82.3
    assert parse_value(f"{MINUS}3") == -3
    assert parse_value("+0.5") == 0.5
    assert parse_value("228 户") == 228
    assert parse_value(DASH) is None


def _ascending(values: list[float | None]) -> bool:
    """Non-decreasing, with every missing value after the present ones."""
    present = [v for v in values if v is not None]
    first_missing = next((i for i, v in enumerate(values) if v is None), len(values))
    return present == sorted(present) and all(v is None for v in values[first_missing:])


def _catalog() -> tuple[dict[str, str], dict[str, str]]:
    """(indicator name → task rule id or "all" or "", rule id → rule name) from parameters/."""
    inds = yaml.safe_load((PARAMS / "indicators.yaml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((PARAMS / "tasks.yaml").read_text(encoding="utf-8"))
    inds = inds["indicators"] if isinstance(inds, dict) else inds
    rules = rules["rules"] if isinstance(rules, dict) else rules
    return ({i["name"]: i.get("task") or "" for i in inds},
            {r["id"]: r["name"] for r in rules})


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", autouse=True)
def _fresh_metrics() -> None:
    (ARTIFACTS / "report_metrics.json").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from perfkit.data.demo import generate

    path = tmp_path_factory.mktemp("views_store") / "demo.duckdb"
    generate(path, **DEMO)
    return path


@pytest.fixture(scope="module")
def truth(store: Path) -> dict[str, Any]:
    """What the store says, computed with plain SQL: names, ownership, phones and id numbers."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        q = con.execute
        branches = dict(q("SELECT branch_id, branch_name FROM branches").fetchall())
        emp_rows = q("SELECT employee_id, employee_name, branch_id, leave_date FROM employees"
                     ).fetchall()
        active = {e for e, _, _, left in emp_rows
                  if left is None or left.strftime("%Y-%m") >= MONTH}
        own: dict[str, set[str]] = {e: set() for e, *_ in emp_rows}
        for cid, emp in q("SELECT client_id, employee_id FROM client_months WHERE month = ? "
                          "UNION SELECT client_id, employee_id FROM clients", [MONTH]).fetchall():
            own.setdefault(emp, set()).add(cid)
        clients = q("SELECT client_id, client_name, phone, id_no FROM clients").fetchall()
    finally:
        con.close()
    emp_branch = {e: b for e, _, b, _ in emp_rows}
    branch_clients: dict[str, set[str]] = {b: set() for b in branches}
    for emp, cids in own.items():
        branch_clients[emp_branch[emp]] |= cids
    return {
        "branches": branches,
        "employees": {e: n for e, n, _, _ in emp_rows},
        "emp_branch": emp_branch,
        "active": active,
        "own": own,
        "branch_clients": branch_clients,
        "client_name": {c: n for c, n, _, _ in clients},
        "phones": {p for _, _, p, _ in clients if p},
        "id_nos": {i.upper() for _, _, _, i in clients if i},
    }


@pytest.fixture(scope="module")
def batch(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every report of MONTH rendered once (inline assets); returns out/<month>/."""
    from perfkit.batch import run
    from perfkit.report import bundle

    try:
        bundle.bundle_path()
    except RenderError as exc:
        require(False, str(exc))
    out = tmp_path_factory.mktemp("views_out")
    t0 = time.perf_counter()
    summary = run(MONTH, workers=2, db=store, out=out, params=PARAMS, notebooks_dir=NOTEBOOKS,
                  progress="off")
    _record("batch_seconds_8_reports_2_workers", round(time.perf_counter() - t0, 1))
    assert summary.failed == 0, summary.errors
    return out / MONTH


@pytest.fixture(scope="module")
def batch_direct(store: Path, truth: dict[str, Any],
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The company, one branch and its busiest employee rendered without the month snapshot."""
    from perfkit.batch import run

    emp = _busiest_employee(truth)
    out = tmp_path_factory.mktemp("views_direct")
    summary = run(MONTH, only=["company", truth["emp_branch"][emp], emp], workers=2, db=store,
                  out=out, params=PARAMS, notebooks_dir=NOTEBOOKS, progress="off", snapshot=False)
    assert summary.failed == 0, summary.errors
    return out / MONTH


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with browser(tmp_path_factory.mktemp("chromium")) as s:
        yield s


def _fresh(s: Session) -> Session:
    s.errors.clear()
    s.blocked.clear()
    s.console.clear()
    return s


# ------------------------------------------------------------------------------ page driving
_JS_TABS = """() => [...document.querySelectorAll('.perfkit-tabs')]
  .filter(t => t.offsetParent !== null).slice(0, 1)
  .flatMap(t => [...t.querySelectorAll(':scope > .lm-TabBar .lm-TabBar-tab, '
                                      + ':scope > .widget-tab-bar .lm-TabBar-tab')])
  .map(e => e.textContent.trim())"""

_JS_PAGE = """() => {
  const dd = [...document.querySelectorAll('.perfkit-drilldown')]
    .filter(d => d.offsetParent !== null && d.querySelector(':scope > .perfkit-links'))[0];
  if (!dd) return null;
  const buttons = [...dd.querySelectorAll(':scope > .perfkit-links button')];
  const stack = dd.children[1];
  const heads = [...stack.querySelectorAll('h4')].filter(h => h.offsetParent !== null)
    .map(h => h.textContent.trim());
  const tables = [...stack.querySelectorAll('table')].filter(t => t.offsetParent !== null)
    .map(t => ({head: [...t.querySelectorAll('thead th')].map(c => c.textContent.trim()),
                rows: [...t.querySelectorAll('tbody tr')]
                  .map(r => [...r.querySelectorAll('th, td')].map(c => c.textContent.trim()))}));
  const notes = [...stack.querySelectorAll('.perfkit-note')].map(n => n.textContent.trim());
  return {labels: buttons.map(b => b.textContent.trim()),
          active: buttons.findIndex(b => b.classList.contains('mod-active')),
          heads, tables, notes, svg: stack.querySelectorAll('svg').length,
          text: stack.textContent.replace(/\\s+/g, ' ')};
}"""


def _first_tabs(s: Session) -> list[str]:
    return s.page.evaluate(_JS_TABS)


def _click_tab(s: Session, label: str) -> None:
    s.page.locator(".perfkit-tabs .lm-TabBar-tab", has_text=label).first.click()
    s.page.wait_for_timeout(50)
    _views_drawn(s)


def _visible_page(s: Session) -> dict[str, Any]:
    page = s.page.evaluate(_JS_PAGE)
    assert page is not None, "no visible indicator links"
    return page


def _click_link(s: Session, index: int) -> dict[str, Any]:
    s.page.locator(".perfkit-drilldown:visible > .perfkit-links button").nth(index).click()
    s.page.wait_for_function(
        """i => [...document.querySelectorAll('.perfkit-drilldown')]
             .filter(d => d.offsetParent !== null && d.querySelector(':scope > .perfkit-links'))
             .some(d => d.querySelectorAll(':scope > .perfkit-links button')[i]
                         .classList.contains('mod-active'))""",
        arg=index, timeout=5_000)
    _views_drawn(s)
    return _visible_page(s)


def _views_drawn(s: Session) -> None:
    """Wait until perfkit.js has drawn every data view that is shown."""
    s.page.wait_for_function(
        """() => [...document.querySelectorAll('.perfkit-view')]
             .every(v => v.offsetParent === null || v.querySelector('table'))""", timeout=5_000)
    s.page.wait_for_timeout(30)


def _walk(s: Session) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every family tab × every indicator link of the report's first Tab: (tab, link, page)."""
    for tab in _first_tabs(s):
        _click_tab(s, tab)
        labels = _visible_page(s)["labels"]
        for i, label in enumerate(labels):
            yield tab, label, _click_link(s, i)


def _open(s: Session, path: Path, shot: str) -> float:
    ms = s.open(path)
    s.page.wait_for_timeout(200)
    body = s.page.inner_text("body")
    assert "Loading widgets" not in body and "Error displaying widget" not in body
    views, rendered = s.page.evaluate("""() => [
      document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
      document.querySelectorAll('.jp-OutputArea-output > .widget-subarea').length]""")
    assert views >= 3 and rendered == views, (views, rendered)  # every widget view rendered
    assert s.page.locator(".perfkit-tabs").count() > 0
    s.screenshot(shot)
    return ms


def _assert_clean(s: Session) -> None:
    assert s.errors == [], s.errors
    assert s.blocked == [], s.blocked
    assert s.console == [], s.console


# ------------------------------------------------------------------------------ 1. browser
def _check_rankings(s: Session, entity_col: str) -> int:
    checked = 0
    for tab, label, page in _walk(s):
        assert page["heads"] and page["heads"][0].startswith(label), (tab, label, page["heads"])
        table = page["tables"][0]
        assert table["head"][:3] == ["排名", entity_col, "本月"], table["head"]
        values = [parse_value(r[2]) for r in table["rows"]]
        ranks = [r[0] for r in table["rows"]]
        assert all(re.fullmatch(r"[0-9]+|—", x) for x in ranks), (label, ranks)
        assert values and _ascending(values), (label, [r[2] for r in table["rows"]])
        assert page["svg"] >= 1, label
        checked += 1
    return checked


def test_company_report_in_browser(batch: Path, truth: dict[str, Any],
                                   session: Session) -> None:
    s = _fresh(session)
    ms = _open(s, batch / "company.html", "views_company.png")
    first = _visible_page(s)
    second = _click_link(s, 1)
    assert second["active"] == 1 and second["tables"] != first["tables"]
    assert second["heads"] != first["heads"]
    s.screenshot("views_company_link2.png")
    names = sorted(r[1] for r in second["tables"][0]["rows"])
    assert names == sorted(truth["branches"].values())
    assert _check_rankings(s, "营业部") >= 10
    _record("tti_ms_company", round(ms))
    _assert_clean(s)


def test_branch_report_in_browser(batch: Path, truth: dict[str, Any], session: Session) -> None:
    s = _fresh(session)
    ms = _open(s, batch / "branches" / "B001.html", "views_branch.png")
    first = _visible_page(s)
    second = _click_link(s, 1)
    assert second["tables"] != first["tables"] and second["heads"] != first["heads"]
    s.screenshot("views_branch_link2.png")
    mine = {truth["employees"][e] for e in truth["active"] if truth["emp_branch"][e] == "B001"}
    shown = {r[1] for r in second["tables"][0]["rows"]}
    assert shown and shown <= mine
    assert _check_rankings(s, "员工") >= 10
    _record("tti_ms_branch", round(ms))
    _assert_clean(s)


def _busiest_employee(truth: dict[str, Any]) -> str:
    active = sorted(truth["active"], key=lambda e: (-len(truth["own"][e]), e))
    return active[0]


def test_employee_report_task_drilldown(batch: Path, truth: dict[str, Any],
                                        session: Session) -> None:
    ind_task, rule_names = _catalog()
    emp = _busiest_employee(truth)
    s = _fresh(session)
    ms = _open(s, batch / "employees" / f"{emp}.html", "views_employee.png")
    first = _visible_page(s)
    second = _click_link(s, 1)
    assert second["text"] != first["text"]
    shot_done = False
    with_tasks = 0
    for _tab, label, page in _walk(s):
        assert page["svg"] >= 1, label  # the trend chart
        task = ind_task[label]
        if not task:
            assert "该指标无对应任务。" in page["notes"], label
            continue
        m = re.fullmatch(rf"{re.escape(label)}对应任务 ([0-9,]+) 项", page["heads"][0])
        assert m, (label, page["heads"])
        count = int(m.group(1).replace(",", ""))
        table = page["tables"][0]
        assert table["head"][0] == "任务"
        hidden = sum(int(n.group(1).replace(",", "")) for note in page["notes"]
                     if (n := re.search(r"另有 ([0-9,]+) 行未显示", note)))
        rows = [] if table["rows"] == [["无数据"]] else table["rows"]
        assert len(rows) + hidden == count, (label, count, len(rows))
        allowed = set(rule_names.values()) if task == "all" else {rule_names[task]}
        assert {r[0] for r in rows} <= allowed, (label, allowed)
        if count:
            with_tasks += 1
            phones = [r[3] for r in rows]
            assert all(re.fullmatch(r"1[0-9]{2}\*{4}[0-9]{4}", p) or p == DASH
                       for p in phones), phones[:3]
            if not shot_done and count >= 3:
                s.screenshot("views_employee_tasks.png")
                shot_done = True
    assert with_tasks >= 2
    _record("tti_ms_employee", round(ms))
    _assert_clean(s)


def test_new_hire_without_clients_renders(batch: Path, truth: dict[str, Any],
                                          session: Session) -> None:
    """The demo's new hire (no clients, no tasks) gets a working report with empty task lists."""
    new = [e for e in truth["active"] if not truth["own"][e]]
    assert new, "the demo store should have a new hire without clients"
    s = _fresh(session)
    _open(s, batch / "employees" / f"{new[0]}.html", "views_employee_new_hire.png")
    for _tab, label, page in _walk(s):
        if page["heads"] and "对应任务" in page["heads"][0]:
            assert page["heads"][0] == f"{label}对应任务 0 项"
    _assert_clean(s)


# ------------------------------------------------------------------------------ 2. scoping / masking
def _expected_files(truth: dict[str, Any]) -> list[str]:
    return (["company.html"] + [f"branches/{b}.html" for b in sorted(truth["branches"])]
            + [f"employees/{e}.html" for e in sorted(truth["active"])])


def test_every_report_rendered(batch: Path, truth: dict[str, Any]) -> None:
    found = sorted(str(p.relative_to(batch)) for p in batch.rglob("*.html")
                   if p.name != "index.html")
    assert found == sorted(_expected_files(truth))


def _names_in(text: str, names: dict[str, str], skip: set[str]) -> list[str]:
    return [f"{k} {n}" for k, n in names.items() if k not in skip and n in text]


def _check_employee_file(batch: Path, truth: dict[str, Any], emp: str) -> None:
    names = truth["employees"]
    text = _decoded(batch / "employees" / f"{emp}.html")
    own = truth["own"][emp]
    assert emp in text and names[emp] in text
    assert set(EMP_RE.findall(text)) == {emp}
    # a name may legitimately equal (or be part of) his own name or one of his clients' names
    mine = [names[emp], *(truth["client_name"][c] for c in own)]
    others = {e: n for e, n in names.items()
              if e != emp and not any(n in m for m in mine)}
    assert _names_in(text, others, set()) == [], emp
    shown = set(CLIENT_RE.findall(text))
    assert bool(shown) == bool(own), emp  # the scan is not vacuous: his clients are listed
    foreign = shown - own
    assert foreign == set(), (emp, sorted(foreign)[:5])
    other_branches = {b: n for b, n in truth["branches"].items()
                      if b != truth["emp_branch"][emp]}
    assert _names_in(text, other_branches, set()) == [], emp


def _check_branch_file(batch: Path, truth: dict[str, Any], branch: str) -> None:
    names = truth["employees"]
    bname = truth["branches"][branch]
    text = _decoded(batch / "branches" / f"{branch}.html")
    assert bname in text
    staff = {e for e, b in truth["emp_branch"].items() if b == branch}
    ids = set(EMP_RE.findall(text))
    assert ids and ids <= staff, (branch, ids - staff)
    clients = truth["branch_clients"][branch]
    mine = [*(names[e] for e in staff), *(truth["client_name"][c] for c in clients)]
    others = {e: n for e, n in names.items()
              if e not in staff and not any(n in m for m in mine)}
    assert _names_in(text, others, set()) == [], branch
    shown = set(CLIENT_RE.findall(text))
    assert shown and shown <= clients, (branch, sorted(shown - clients)[:5])
    assert all(names[e] in text for e in staff if e in truth["active"])
    assert set(BRANCH_RE.findall(text)) <= {branch}
    assert _names_in(text, truth["branches"], {branch}) == [], branch


def _check_company_file(batch: Path, truth: dict[str, Any]) -> None:
    text = _decoded(batch / "company.html")
    assert all(n in text for n in truth["branches"].values())
    assert EMP_RE.findall(text) == [] and CLIENT_RE.findall(text) == []
    client_names = set(truth["client_name"].values())
    leaked = [n for n in truth["employees"].values()
              if n in text and not any(n in c for c in client_names)]
    assert leaked == []


def test_employee_files_are_scoped(batch: Path, truth: dict[str, Any]) -> None:
    for emp in sorted(truth["active"]):
        _check_employee_file(batch, truth, emp)


def test_branch_files_are_scoped(batch: Path, truth: dict[str, Any]) -> None:
    for branch in truth["branches"]:
        _check_branch_file(batch, truth, branch)


def test_only_company_lists_all_branches(batch: Path, truth: dict[str, Any]) -> None:
    _check_company_file(batch, truth)


def test_batch_reads_the_month_snapshot(batch: Path, truth: dict[str, Any]) -> None:
    """The batch computed the month once: every job got the same complete snapshot folder."""
    jobs = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    folders = {rec["parameters"].get("snapshot") for rec in jobs.values()}
    assert len(jobs) == len(_expected_files(truth)) and len(folders) == 1
    folder = Path(folders.pop())
    assert (folder / "snapshot.json").exists()
    assert json.loads((folder / "snapshot.json").read_text(encoding="utf-8"))["month"] == MONTH


def test_direct_mode_files_are_scoped(batch_direct: Path, truth: dict[str, Any]) -> None:
    """The same scoping rules when every notebook computes its own data (no snapshot)."""
    jobs = json.loads((batch_direct / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    assert jobs and all("snapshot" not in rec["parameters"] for rec in jobs.values())
    emp = _busiest_employee(truth)
    _check_employee_file(batch_direct, truth, emp)
    _check_branch_file(batch_direct, truth, truth["emp_branch"][emp])
    _check_company_file(batch_direct, truth)
    assert _unmasked(_decoded(batch_direct / "employees" / f"{emp}.html"), truth) == set()


def _unmasked(text: str, truth: dict[str, Any]) -> set[str]:
    phones = set(PHONE_RE.findall(text)) & truth["phones"]
    ids = {i.upper() for i in ID_NO_RE.findall(text)} & truth["id_nos"]
    return phones | ids


def test_no_unmasked_phone_or_id_in_any_file(batch: Path, truth: dict[str, Any]) -> None:
    files = sorted(batch.rglob("*.html")) + sorted(batch.rglob("*.ipynb")) \
        + sorted(batch.glob("*.csv")) + sorted(batch.glob("*.json"))
    assert len(list((batch / "notebooks").rglob("*.ipynb"))) == len(_expected_files(truth))
    for path in files:
        leaked = _unmasked(_decoded(path), truth)
        assert leaked == set(), (path.relative_to(batch), sorted(leaked)[:3])


def test_masked_phones_shown_in_task_lists(batch: Path, truth: dict[str, Any]) -> None:
    checked = 0
    for emp in sorted(truth["active"]):
        if not truth["own"][emp]:
            continue
        text = _decoded(batch / "employees" / f"{emp}.html")
        masked = set(re.findall(r"1[0-9]{2}\*{4}[0-9]{4}", text))
        assert masked, emp
        expected = {p[:3] + "****" + p[-4:] for p in truth["phones"]}
        assert masked <= expected
        checked += 1
    assert checked >= 2
    for branch in truth["branches"]:  # 员工管理 lists each employee's open tasks
        text = _decoded(batch / "branches" / f"{branch}.html")
        assert re.search(r"1[0-9]{2}\*{4}[0-9]{4}", text), branch


def _cells(frames: dict[str, Any]) -> str:
    """Every value of every frame as one text (to scan for names)."""
    return "\n".join(df.astype(str).to_csv(index=False) for df in frames.values())


def test_appraisal_data_is_scoped(store: Path, truth: dict[str, Any]) -> None:
    """考核方法: an employee's frames hold only his rows and his clients; a branch's only its own
    employees and no client rows; the company's only branch rows (no employee at all)."""
    from perfkit.report.branch import BranchReport
    from perfkit.report.company import CompanyReport
    from perfkit.report.employee import EmployeeReport

    names = truth["employees"]
    emp = _busiest_employee(truth)
    data = EmployeeReport(MONTH, db=store, params=PARAMS, employee_id=emp).appraisal_data()
    assert set(data) == {"ability", "ability_dimensions", "conduct", "incidents", "advisor",
                         "rfm_clients"}
    for name, df in data.items():
        assert set(df["employee_id"]) <= {emp}, name
    assert not data["conduct"].empty and not data["rfm_clients"].empty
    assert set(data["rfm_clients"]["client_id"]) <= truth["own"][emp]
    mine = [names[emp], *(truth["client_name"][c] for c in truth["own"][emp])]
    text_ = _cells(data)
    assert [n for e, n in names.items() if e != emp and n in text_
            and not any(n in m for m in mine)] == []

    branch = truth["emp_branch"][emp]
    staff = {e for e, b in truth["emp_branch"].items() if b == branch}
    data = BranchReport(MONTH, db=store, params=PARAMS, branch_id=branch).appraisal_data()
    for name, df in data.items():
        assert set(df["employee_id"]) <= staff, name
        assert "client_id" not in df.columns, name
    assert set(data["staff"]["employee_id"]) == staff & truth["active"]
    others = [n for e, n in names.items() if e not in staff
              and not any(n in names[s] for s in staff)]
    assert [n for n in others if n in _cells(data)] == []

    data = CompanyReport(MONTH, db=store, params=PARAMS).appraisal_data()
    assert set(data) == {"advisor_branch", "rfm_branch"}
    for name, df in data.items():
        assert "employee_id" not in df.columns and "client_id" not in df.columns, name
        assert set(df["branch_id"]) == set(truth["branches"]), name
    assert [n for n in names.values() if n in _cells(data)] == []


def test_appraisal_sections_switch_off(store: Path, truth: dict[str, Any], tmp_path: Path) -> None:
    from perfkit.report.company import CompanyReport
    from perfkit.report.employee import EmployeeReport

    params = tmp_path / "parameters"
    shutil.copytree(PARAMS, params)
    ap = params / "appraisal.yaml"
    ap.write_text(ap.read_text(encoding="utf-8").replace("  rfm: true", "  rfm: false"),
                  encoding="utf-8")
    emp = _busiest_employee(truth)
    rep = EmployeeReport(MONTH, db=store, params=params, employee_id=emp)
    assert "rfm_clients" not in rep.appraisal_data()
    assert list(rep.appraisal().titles) == ["能力评价（360度）", "行为扣分与绩效奖金", "风险调整收益评价"]
    for section in ("ability", "conduct", "advisor"):
        ap.write_text(ap.read_text(encoding="utf-8").replace(f"  {section}: true",
                                                             f"  {section}: false"),
                      encoding="utf-8")
    assert rep.appraisal_data() == {}
    assert "均已在 parameters/appraisal.yaml 中关闭" in rep.appraisal().value
    assert "均已在" in CompanyReport(MONTH, db=store, params=params).appraisal().value


# ------------------------------------------------------------------------------ 3. hostile names
@pytest.fixture(scope="module")
def hostile(store: Path, truth: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the store (and parameters) with markup in a branch, employee, client and task rule
    name; the branch and employee reports that show them rendered."""
    from perfkit.batch import run
    from perfkit.metrics.tasks import tasks

    root = tmp_path_factory.mktemp("hostile")
    db = root / "hostile.duckdb"
    shutil.copyfile(store, db)
    params = root / "parameters"
    shutil.copytree(PARAMS, params)
    emp = _busiest_employee(truth)
    branch = truth["emp_branch"][emp]
    t = tasks(store, MONTH, level="employee", entity=emp, params=PARAMS)
    rule_id = t["rule_id"].value_counts().index[0]
    client = t[t["rule_id"] == rule_id].sort_values(["due_on", "client_id"])["client_id"].iloc[0]
    evil = {
        "branch": f"恶意营业部{EVIL_SCRIPT}",
        "employee": f"张{EVIL_IMG}三",
        "client": f"客户{EVIL_TPL}{EVIL_SCRIPT}",
        "rule": f"任务{EVIL_TPL}{EVIL_IMG}",
    }
    con = duckdb.connect(str(db))
    try:
        con.execute("UPDATE branches SET branch_name = ? WHERE branch_id = ?", [evil["branch"], branch])
        con.execute("UPDATE employees SET employee_name = ? WHERE employee_id = ?",
                    [evil["employee"], emp])
        con.execute("UPDATE clients SET client_name = ? WHERE client_id = ?", [evil["client"], client])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tasks_yaml = params / "tasks.yaml"
    data = yaml.safe_load(tasks_yaml.read_text(encoding="utf-8"))
    rules = data["rules"] if isinstance(data, dict) else data
    for r in rules:
        if r["id"] == rule_id:
            r["name"] = evil["rule"]
    tasks_yaml.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
    out = root / "out"
    summary = run(MONTH, only=[branch, emp], roles=["branch", "employee"], workers=2, db=db,
                  out=out, params=params, notebooks_dir=NOTEBOOKS, progress="off")
    assert summary.failed == 0, summary.errors
    return {"evil": evil, "emp": emp, "branch": branch, "rule_id": rule_id,
            "branch_html": out / MONTH / "branches" / f"{branch}.html",
            "employee_html": out / MONTH / "employees" / f"{emp}.html"}


def _all_text(s: Session) -> str:
    """The text of every family tab and every indicator page (each page rendered once)."""
    parts = [s.page.evaluate("document.body.textContent")]
    for _tab, _label, _page in _walk(s):
        parts.append(s.page.evaluate("document.body.textContent"))
    return "\n".join(parts)


@pytest.mark.parametrize("which", ["branch_html", "employee_html"])
def test_hostile_names_are_text(hostile: dict[str, Any], session: Session, which: str) -> None:
    path = hostile[which]
    raw = path.read_text(encoding="utf-8")
    for bad in ("<script>window.__pwned", "<img src=x"):  # quotes in text need no escaping
        assert bad not in raw, bad
    s = _fresh(session)
    _open(s, path, f"views_hostile_{which.split('_')[0]}.png")
    text = _all_text(s)
    assert s.page.evaluate("typeof window.__pwned") == "undefined"
    assert s.page.locator("img[src='x']").count() == 0
    evil = hostile["evil"]
    expected = ["branch", "employee"] if which == "branch_html" else ["employee", "client", "rule"]
    for key in expected:
        assert evil[key] in text, (key, evil[key])
    assert EVIL_TPL in text and "任务49" not in text and "客户49" not in text
    if which == "employee_html":
        _filter_finds_hostile_client(s, evil["client"])
    _assert_clean(s)


def _filter_finds_hostile_client(s: Session, client: str) -> None:
    """In a long task list (filter box, sortable headers) the client with markup in his name is
    found by the filter and shown as text, sorted or not."""
    for _tab, _label, page in _walk(s):
        if not any(client in r for t in page["tables"] for row in t["rows"] for r in row):
            continue
        box = s.page.locator(".perfkit-drilldown:visible .perfkit-tools input")
        if box.count() == 0:
            continue
        box.first.fill("客户{{")
        shown = s.page.evaluate("""() => [...document.querySelectorAll('.perfkit-drilldown')]
          .filter(d => d.offsetParent !== null).flatMap(d => [...d.querySelectorAll(
            '.perfkit-scroll tbody tr')]).filter(r => !r.hidden && r.offsetParent !== null)
          .map(r => r.cells[2].textContent)""")
        assert shown and set(shown) == {client}, shown
        s.page.locator(".perfkit-drilldown:visible .perfkit-scroll th").nth(2).click()
        assert s.page.evaluate("typeof window.__pwned") == "undefined"
        assert s.page.locator("table.perfkit-table script, table.perfkit-table img").count() == 0
        return
    raise AssertionError("no long task list shows the client with markup in his name")


# ------------------------------------------------------------------------------ 4. papermill
def test_notebooks_run_with_plain_papermill(store: Path, truth: dict[str, Any],
                                            tmp_path: Path) -> None:
    emp = _busiest_employee(truth)
    jobs = {
        "company": [],
        "branch": ["-p", "branch_id", truth["emp_branch"][emp]],
        "employee": ["-p", "employee_id", emp],
    }
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    procs = {}
    for role, extra in jobs.items():
        cmd = [str(BIN / "papermill"), str(NOTEBOOKS / f"{role}.ipynb"),
               str(tmp_path / f"{role}.ipynb"), "-p", "month", MONTH, *extra,
               "-p", "db", str(store), "-p", "params", str(PARAMS), "--no-progress-bar"]
        procs[role] = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    for role, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (role, err[-3000:])
        nb = nbformat.read(tmp_path / f"{role}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert errors == [], (role, errors[:1])
        state = nb.metadata.get("widgets", {}).get(
            "application/vnd.jupyter.widget-state+json", {}).get("state", {})
        assert len(state) > 10, role
        views = [o for c in nb.cells for o in c.get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, role


# ------------------------------------------------------------------------------ 5. CLI errors
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "perfkit"), "render", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_render_unknown_entity(store: Path, tmp_path: Path) -> None:
    res = _cli("--month", MONTH, "--role", "employee", "--entity", "E99999", "--db", str(store),
               "--out", str(tmp_path / "x.html"), cwd=ROOT)
    assert res.returncode == 5, res.stderr
    assert "unknown employee id 'E99999'" in res.stderr
    assert not (tmp_path / "x.html").exists()


def test_render_month_without_data(store: Path, tmp_path: Path) -> None:
    res = _cli("--month", "2025-01", "--role", "company", "--db", str(store),
               "--out", str(tmp_path / "x.html"), cwd=ROOT)
    assert res.returncode == 5, res.stderr
    assert "month 2025-01 has no data" in res.stderr
    assert "2026-08" in res.stderr and MONTH in res.stderr
    assert not (tmp_path / "x.html").exists()


def test_render_branch_needs_entity(store: Path, tmp_path: Path) -> None:
    res = _cli("--month", MONTH, "--role", "branch", "--db", str(store),
               "--out", str(tmp_path / "x.html"), cwd=ROOT)
    assert res.returncode == 5, res.stderr
    assert "role branch needs --entity (a branch id)" in res.stderr
    assert "Traceback" not in res.stderr


# ------------------------------------------------------------------------------ 6. budgets
def test_budgets(batch: Path, truth: dict[str, Any], store: Path, tmp_path: Path,
                 session: Session) -> None:
    """Sizes of the busiest employee's report (inline and shared assets) and time to interactive."""
    from perfkit.batch.render import render

    emp = _busiest_employee(truth)
    inline = (batch / "employees" / f"{emp}.html").stat().st_size
    sizes = {p.name: p.stat().st_size for p in (batch / "employees").glob("*.html")}
    shared = render(MONTH, "employee", tmp_path / "reports" / f"{emp}.html", entity=emp,
                    db=store, params=PARAMS, notebooks_dir=NOTEBOOKS, assets="shared")
    assets = sorted((shared.parent / "assets").iterdir())
    s = _fresh(session)
    tti = _open(s, shared, "views_employee_shared_assets.png")
    _assert_clean(s)
    shared_size = shared.stat().st_size
    _record("employee_report", {
        "employee": emp, "clients": len(truth["own"][emp]),
        "inline_bytes": inline, "inline_bytes_all_employees": sizes,
        "shared_html_bytes": shared_size,
        "shared_assets_bytes": {p.name: p.stat().st_size for p in assets},
        "tti_ms_shared": round(tti),
    })
    assert inline <= INLINE_BUDGET
    assert shared_size <= SHARED_BUDGET


_JS_CLIPPED = """() => [...document.querySelectorAll('table.perfkit-table')]
  .filter(t => t.offsetParent !== null).flatMap(t => {
    for (let e = t.parentElement; e && e !== document.body; e = e.parentElement) {
      if (e.scrollWidth <= e.clientWidth + 1) continue;
      const ov = getComputedStyle(e).overflowX;
      if (ov === 'auto' || ov === 'scroll') return [];        // reachable by scrolling
      if (ov === 'hidden' || ov === 'clip') return [t.querySelector('th').textContent + ' in '
                                                      + e.className.slice(0, 40)];
    }
    return [];
  })"""


def test_wide_tables_are_not_clipped(batch: Path, session: Session) -> None:
    """Every visible table fits its container or can be scrolled (no text cut off)."""
    s = _fresh(session)
    s.open(batch / "company.html")
    assert s.page.evaluate(_JS_CLIPPED) == []
