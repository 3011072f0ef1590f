"""Views that scale for the reader: data views, filter and sort of long tables, the table of
contents, the packed self-contained page — in Debian's Chromium, offline, without a CJK font.

tests/notebooks/long_tables.ipynb (a list of 60 clients, one with markup in his name; two groups
sharing one data set; a short table) is executed by papermill once and exported in both asset
modes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Session, browser, require
from pagetext import PACKED, unpack

from perfkit.errors import RenderError
from perfkit.report import bundle, export, page
from perfkit.report.charts import find_cjk_font
from perfkit.report.dataview import DataSet, shared_tables

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "long_tables.ipynb"
EVIL = '<b>粗体</b><img src=x onerror="window.__pwned=1">'
ROWS = 60


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import papermill

    try:
        bundle.bundle_path()
        find_cjk_font()
    except RenderError as exc:
        require(False, str(exc))
    root = tmp_path_factory.mktemp("views")
    nb = root / "long.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(nb), parameters={"rows": ROWS},
                               progress_bar=False, cwd=str(root))
    meta = {"month": "2026-10", "role": "employee"}
    return {
        "nb": nb,
        "inline": export.export(nb, root / "inline" / "long.html", title="长表", meta=meta),
        "shared": export.export(nb, root / "shared" / "long.html", title="长表", meta=meta,
                                assets="shared"),
    }


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with browser(tmp_path_factory.mktemp("chromium")) as s:
        yield s


def _open(s: Session, path: Path) -> None:
    s.errors.clear(), s.blocked.clear(), s.console.clear()
    s.open(path)
    s.page.wait_for_selector(".perfkit-tools input", timeout=10_000)


def _long_table(s: Session) -> dict[str, Any]:
    """The first long table: header, visible rows and the row count shown beside the filter."""
    return s.page.evaluate("""() => {
      const t = document.querySelector('.perfkit-tools + .perfkit-scroll > table');
      return {head: [...t.tHead.rows[0].cells].map(c => c.textContent),
              sort: [...t.tHead.rows[0].cells].map(c => c.getAttribute('aria-sort')),
              rows: [...t.tBodies[0].rows].filter(r => !r.hidden)
                      .map(r => [...r.cells].map(c => c.textContent)),
              count: document.querySelector('.perfkit-count').textContent};
    }""")


def _clean(s: Session) -> None:
    assert s.errors == [] and s.blocked == [] and s.console == [], (s.errors, s.blocked, s.console)


def _number(text: str) -> float | None:
    if text == "—":
        return None
    return float(text.replace(",", "").replace("\u2212", "-"))


# ------------------------------------------------------------------------------ static
def test_long_table_is_a_data_view_and_data_stays_json(pages: dict[str, Path]) -> None:
    html = unpack(pages["inline"].read_text(encoding="utf-8"))
    state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                      html, re.S)
    assert state and "<img src=x" not in html.replace(state.group(0), "")
    # in the widget state the name is a JSON string of a data set, never table markup
    assert "<td>张三" not in state.group(1) and "张三<b>粗体" in state.group(1)
    assert 'class=\\"perfkit-view\\"' in html and 'class=\\"perfkit-set\\"' in html
    short = re.findall(r"<td>C0000000[0-4]<\\/td>", html)  # "</" is written "<\/" in JSON
    assert len(short) == 5  # the five-row table is plain markup


def test_shared_tables_share_rows_and_columns() -> None:
    import pandas as pd

    a = pd.DataFrame({"名": ["甲", "乙"], "值": [1, 2]}, index=["x", "y"])
    b = pd.DataFrame({"名": ["乙", "丙"], "值": [2, 3]}, index=["y", "z"])
    c = pd.DataFrame({"名": ["乙"], "值": [9]}, index=["y"])  # another value for row y: own column
    views = shared_tables([a, b, c])
    assert len(views) == 3 and views[0].count("perfkit-set") == 1
    assert all("perfkit-set" not in v for v in views[1:])
    data = DataSet()
    assert data.add(a) == ([0, 1], [0, 1])
    assert data.add(b) == ([1, 2], [0, 1])
    assert data.add(c) == ([1], [0, 2])
    assert data.names == ["名", "值", "值"] and data.numeric == [False, True, True]
    assert 'data-rows="1-2"' in data.view([1, 2], [0, 1])


def test_data_set_json_cannot_close_its_script() -> None:
    import pandas as pd

    data = DataSet()
    data.add(pd.DataFrame({"名": ["</script><script>alert(1)</script>", "<!--x"]}))
    text = data.markup()
    assert text.count("</script>") == 1 and "<!--" not in text
    assert page.script_json({"v": "</b><!-- x"}) == '{"v":"<\\\\/b>\\\\u003c!-- x"}'.replace(
        "\\\\", "\\")


def test_table_of_contents_lists_the_sections(pages: dict[str, Path]) -> None:
    html = pages["inline"].read_text(encoding="utf-8")
    nav = re.search(r'<nav class="perfkit-toc".*?</nav>', html, re.S)
    assert nav
    assert re.findall(r">([^<>]+)</a>", nav.group(0)) == ["客户列表", "分组", "短表"]
    assert page.table_of_contents('<h2 id="a">A</h2><h2 id="b">B</h2>') == ""  # too short


def test_inline_page_packs_bundle_css_and_state(pages: dict[str, Path]) -> None:
    html = pages["inline"].read_text(encoding="utf-8")
    kinds = [m.group(1) for m in PACKED.finditer(html)]
    assert kinds == ["css", "state", "widgets"]
    assert "application/vnd.jupyter.widget-state+json" not in html.replace(
        "application/vnd.jupyter.widget-state+json\"", "")  # only the loader names the type
    assert 'id="perfkit-nodecompress"' in html and "perfkit run --assets shared" in html
    shared = pages["shared"].read_text(encoding="utf-8")
    assert PACKED.search(shared) is None and "perfkit-nodecompress" not in shared
    assert '<script type="application/vnd.jupyter.widget-state+json">' in shared
    assert len(html) < 1_000_000  # the 1.9 MB bundle is packed


# ------------------------------------------------------------------------------ browser
@pytest.mark.parametrize("mode", ["inline", "shared"])
def test_filter_finds_rows_and_markup_stays_text(pages: dict[str, Path], session: Session,
                                                 mode: str) -> None:
    s = session
    _open(s, pages[mode])
    table = _long_table(s)
    assert table["head"] == ["客户号", "客户姓名", "月末资产", "开户日期"]
    assert len(table["rows"]) == ROWS and table["count"] == f"共 {ROWS} 行"
    s.page.locator(".perfkit-tools input").first.fill("粗体")
    table = _long_table(s)
    assert table["rows"] == [["C00000007", "张三" + EVIL, table["rows"][0][2], table["rows"][0][3]]]
    assert table["count"] == f"显示 1 / {ROWS} 行"
    assert s.page.evaluate("typeof window.__pwned") == "undefined"
    assert s.page.locator("table.perfkit-table img, table.perfkit-table b").count() == 0
    s.page.locator(".perfkit-tools input").first.fill("客户01 c0000001")  # every term, any case
    assert [r[0] for r in _long_table(s)["rows"]] == [f"C{i:08d}" for i in range(10, 20)]
    s.page.locator(".perfkit-tools input").first.fill("")
    assert len(_long_table(s)["rows"]) == ROWS
    _clean(s)


def test_sort_orders_numbers_with_missing_last(pages: dict[str, Path], session: Session) -> None:
    s = session
    _open(s, pages["inline"])
    head = s.page.locator(".perfkit-scroll table thead th").nth(2)
    head.click()
    table = _long_table(s)
    values = [_number(r[2]) for r in table["rows"]]
    known = [v for v in values if v is not None]
    assert table["sort"][2] == "ascending" and values[-1] is None
    assert known == sorted(known) and known[0] == -250.0 and len(known) == ROWS - 1
    head.click()
    table = _long_table(s)
    values = [_number(r[2]) for r in table["rows"]]
    assert table["sort"][2] == "descending" and values[-1] is None
    assert values[:-1] == sorted(known, reverse=True)
    s.page.locator(".perfkit-scroll table thead th").nth(0).press("Enter")  # by keyboard too
    assert [r[0] for r in _long_table(s)["rows"]] == [f"C{i:08d}" for i in range(ROWS)]
    _clean(s)


def test_views_of_one_data_set_draw_when_shown(pages: dict[str, Path], session: Session) -> None:
    s = session
    _open(s, pages["inline"])

    def group() -> list[str]:
        return s.page.evaluate("""() => [...document.querySelectorAll('.perfkit-drilldown .perfkit-view')]
          .filter(v => v.offsetParent !== null && v.querySelector('table'))
          .flatMap(v => [...v.querySelectorAll('tbody tr')].map(r => r.cells[0].textContent))""")

    s.page.wait_for_function("() => document.querySelectorAll('.perfkit-drilldown .perfkit-view "
                             "table').length >= 1")
    assert group() == [f"C{i:08d}" for i in range(40)]
    s.page.locator(".perfkit-links button").nth(1).click()  # a Stack shows only the chosen page
    s.page.wait_for_function("""() => [...document.querySelectorAll('.perfkit-drilldown .perfkit-view')]
      .some(v => v.offsetParent !== null && v.getAttribute('data-rows') === '35-59'
                 && v.querySelector('table'))""")
    assert group() == [f"C{i:08d}" for i in range(35, ROWS)]
    # the data set is not in the second page: it waits, hidden, beside the Stack
    assert s.page.evaluate("() => document.querySelector('.perfkit-drilldown script.perfkit-set')"
                           ".closest('.perfkit-drilldown > *').style.display") == "none"
    _clean(s)


def test_table_of_contents_links_resolve(pages: dict[str, Path], session: Session) -> None:
    s = session
    _open(s, pages["inline"])
    links = s.page.evaluate("""() => [...document.querySelectorAll('nav.perfkit-toc a')].map(a => {
      const target = document.getElementById(a.getAttribute('href').slice(1));
      return [a.textContent, target ? target.textContent.replace('¶', '').trim() : null];
    })""")
    assert links == [["客户列表", "客户列表"], ["分组", "分组"], ["短表", "短表"]]
    s.page.locator("nav.perfkit-toc a", has_text="短表").click()
    s.page.wait_for_function("() => location.hash.length > 1")
    top, height, scrolled = s.page.evaluate(
        "() => [document.getElementById(location.hash.slice(1)).getBoundingClientRect().top, "
        "innerHeight, scrollY]")
    assert scrolled > 0 and 0 <= top < height  # scrolled to the section
    _clean(s)


def test_page_without_decompression_stream_shows_the_message(pages: dict[str, Path],
                                                             session: Session) -> None:
    page_ = session.page.context.browser.new_page()  # same offline browser, a page of its own
    blocked: list[str] = []
    errors: list[str] = []
    page_.on("pageerror", lambda exc: errors.append(str(exc)))
    page_.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                else (blocked.append(r.request.url), r.abort()))
    page_.add_init_script("delete window.DecompressionStream")
    try:
        page_.goto(pages["inline"].resolve().as_uri(), wait_until="load")
        note = page_.locator("#perfkit-nodecompress")
        note.wait_for(state="visible", timeout=5_000)
        text = note.inner_text()
        assert "perfkit run --assets shared" in text and "DecompressionStream" in text
        assert "此浏览器无法解压" in text
        page_.wait_for_timeout(300)
        assert page_.locator(".widget-subarea").count() == 0  # nothing half-rendered
        assert errors == [] and blocked == []
        # the shared-assets page needs no decompression
        page_.goto(pages["shared"].resolve().as_uri(), wait_until="load")
        page_.wait_for_selector(".perfkit-tools", timeout=10_000)
        assert page_.locator("#perfkit-nodecompress").count() == 0 and errors == []
    finally:
        page_.close()


def test_packed_page_renders_widgets_offline(pages: dict[str, Path], session: Session) -> None:
    s = session
    _open(s, pages["inline"])
    assert s.page.locator("#perfkit-nodecompress").is_hidden()
    rendered = s.page.evaluate("""() => [
      document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
      document.querySelectorAll('.jp-OutputArea-output > .widget-subarea').length,
      document.querySelectorAll('script[type="application/x-perfkit-gzip"]').length,
      getComputedStyle(document.querySelector('.jp-Notebook, body')).getPropertyValue(
        '--jp-layout-color0').trim() !== '']""")
    assert rendered[0] == rendered[1] >= 3  # every widget view rendered
    assert rendered[2] == 0 and rendered[3]  # unpacked: the lab CSS is in force
    s.screenshot("views_long_tables.png")
    _clean(s)


# ------------------------------------------------------------------------------ Firefox
FIREFOX = Path(os.environ.get("PERFKIT_FIREFOX", "/usr/bin/firefox-esr"))
ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("mode", ["inline", "shared"])
def test_the_pages_work_in_firefox(pages: dict[str, Path], mode: str, tmp_path: Path) -> None:
    """The README says Firefox ≥ 113 as well as Chromium: Debian's Firefox ESR, driven through
    WebDriver BiDi by puppeteer-core (package.json's dev dependency), offline."""
    node = shutil.which("node")
    require(node, "node is missing (Node.js, for the Firefox test's driver)")
    require((ROOT / "node_modules" / "puppeteer-core").is_dir(),
            "puppeteer-core is missing: run make assets (npm ci)")
    require(FIREFOX.is_file(), f"{FIREFOX} is missing (apt-get install firefox-esr)")
    r = subprocess.run([node, str(ROOT / "tests" / "firefox_drive.mjs"),
                        pages[mode].resolve().as_uri(), "粗体"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert "failure" not in got, (got.get("failure"), got["errors"])
    assert "Firefox/" in got["userAgent"] and got["widgets"] >= 3
    assert len(got["before"]) == ROWS
    assert got["after"] == [["C00000007", "张三" + EVIL, got["after"][0][2], got["after"][0][3]]]
    assert got["count"] == f"显示 1 / {ROWS} 行"
    assert got["pwned"] == "undefined" and got["markup"] == 0
    assert got["errors"] == [] and got["requests"] == []
