"""The month's index.html with many reports gets a filter box (in Debian's Chromium, offline): every
term must occur in a report's row or its branch's heading, branches without a match are hidden,
names with markup stay text. A short index has no script at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import Session, browser

from perfkit.batch.index import render_index
from perfkit.report.dataview import LONG_TABLE

MONTH = "2026-10"
EVIL = '<img src=x onerror="window.__pwned=1">'
BRANCHES = {"B01": "上海淮海路营业部", "B02": "深圳福田营业部", "B03": "北京金融街营业部"}


def _jobs(per_branch: int) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {
        "company/company": {"role": "company", "entity_id": "company", "entity_name": "公司",
                            "status": "ok", "output": {"path": "company.html"}}}
    n = 0
    for bid, name in BRANCHES.items():
        jobs[f"branch/{bid}"] = {"role": "branch", "entity_id": bid, "entity_name": name,
                                 "branch_id": bid, "branch_name": name, "status": "ok",
                                 "output": {"path": f"branches/{bid}.html"}}
        for _ in range(per_branch):
            n += 1
            eid = f"E{n:05d}"
            who = f"员工{n}" + (EVIL if n == 7 else "")
            jobs[f"employee/{eid}"] = {"role": "employee", "entity_id": eid, "entity_name": who,
                                       "branch_id": bid, "branch_name": name, "status": "ok",
                                       "output": {"path": f"employees/{eid}.html"}}
    return jobs


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    with browser(tmp_path_factory.mktemp("chromium")) as s:
        yield s


def _state(s: Session) -> dict[str, Any]:
    return s.page.evaluate("""() => ({
      count: document.getElementById('pk-count').textContent,
      sections: [...document.querySelectorAll('section.pk-branch')].filter(x => !x.hidden)
                  .map(x => x.querySelector('h2').textContent),
      rows: [...document.querySelectorAll('section.pk-branch tr')].filter(r => r.rowIndex > 0
                  && !r.hidden && !r.closest('section').hidden).map(r => r.cells[1].textContent),
      company: !!document.querySelector('a[href="company.html"]').offsetParent,
    })""")


def test_a_long_index_filters_by_name_id_and_branch(tmp_path: Path, session: Session) -> None:
    page = tmp_path / "index.html"
    page.write_text(render_index(MONTH, _jobs(15)), encoding="utf-8")  # 3 + 45 rows
    s = session
    s.errors.clear(), s.blocked.clear(), s.console.clear()
    s.open(page, ready="#pk-filter")
    box = s.page.locator("#pk-filter")
    assert box.is_visible()
    assert _state(s)["count"] == "共 49 份"  # the company report counts, always shown
    box.fill("e00020")  # an id, any case
    got = _state(s)
    assert got["rows"] == ["员工20（E00020）"] and got["sections"] == ["深圳福田营业部（B02）"]
    assert got["count"] == "显示 2 / 49 份" and got["company"]  # the company report stays listed
    box.fill("金融街")  # a branch's name: all its reports
    assert len(_state(s)["rows"]) == 16 and _state(s)["sections"] == ["北京金融街营业部（B03）"]
    box.fill("淮海路 员工1")  # every term: 员工1, 员工10…员工15 of B01
    assert _state(s)["rows"] == [f"员工{i}（E{i:05d}）" for i in (1, 10, 11, 12, 13, 14, 15)]
    box.fill("onerror")  # a name with markup is text, found as text, never run
    assert _state(s)["rows"] == [f"员工7{EVIL}（E00007）"]
    assert s.page.evaluate("typeof window.__pwned") == "undefined"
    box.fill("没有这个人")
    assert _state(s)["rows"] == [] and _state(s)["sections"] == []
    box.fill("")
    assert len(_state(s)["rows"]) == 48
    assert s.errors == [] and s.blocked == [] and s.console == []


def test_a_short_index_has_no_script() -> None:
    page = render_index(MONTH, _jobs(LONG_TABLE // 3 - 1))
    assert "<script" not in page and "pk-filter" not in page
    assert "<script" in render_index(MONTH, _jobs(LONG_TABLE // 3 + 1))
