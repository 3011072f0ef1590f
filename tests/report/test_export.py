"""perfkit.report.export: offline, self-contained reports with live widgets and an embedded CJK font.

The widget test notebook (tests/notebooks/widgets_demo.ipynb) is executed by papermill, exported in
both asset modes and opened in Debian's Chromium with no network and no CJK font.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, browser, require

from perfkit.errors import RenderError
from perfkit.report import bundle, export, fonts
from perfkit.report.charts import find_cjk_font

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "widgets_demo.ipynb"
META = {
    "month": "2026-10",
    "role": "employee",
    "entity": "E0001 张三 <i>x</i>",
    "generated": "2026-11-01 08:00",
    "fingerprint": "sha256:0123abcd",
}
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">{{ 7*7 }}'
NAMES = ["上海淮海中路营业部", "北京金融街营业部", "深圳福田营业部", "杭州庆春路营业部"]
INLINE_BUDGET, SHARED_BUDGET = 1_200_000, 400_000  # issue 18: the employee report


def _execute(out: Path, **params: object) -> Path:
    import papermill

    papermill.execute_notebook(
        str(NOTEBOOK), str(out), parameters=params, progress_bar=False, cwd=str(out.parent)
    )
    return out


def _assets_ready() -> None:
    try:
        bundle.bundle_path()
    except RenderError as exc:
        require(False, str(exc))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Executed notebooks and their exports: inline, shared and hostile (inline)."""
    _assets_ready()
    try:
        find_cjk_font()
    except RenderError as exc:
        require(False, str(exc))
    root = tmp_path_factory.mktemp("reports")
    plain = _execute(root / "plain.ipynb", month="2026-10")
    hostile = _execute(root / "hostile.ipynb", month="2026-10", hostile=True)
    out = {
        "plain_nb": plain,
        "hostile_nb": hostile,
        "inline": export.export(
            plain, root / "inline" / "E0001.html", title="员工绩效 <b>", meta=META
        ),
        "shared": export.export(
            plain, root / "shared" / "E0001.html", title="员工绩效", meta=META, assets="shared"
        ),
        "hostile": export.export(hostile, root / "hostile" / "x.html", title=EVIL, meta=META),
    }
    return out


def _record(key: str, value: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "html_metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


# ------------------------------------------------------------------------------ static checks
@pytest.mark.parametrize("mode", ["inline", "shared", "hostile"])
def test_no_network_reference_anywhere(reports: dict[str, Path], mode: str) -> None:
    files = [reports[mode]]
    if mode == "shared":
        files += sorted((reports[mode].parent / "_assets").iterdir())
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert re.findall(r"https?://", text, re.I) == [], path
        assert re.findall(r"""(?:src|href)\s*=\s*["']?//""", text, re.I) == [], path
        for word in (
            "require.js",
            "require.min.js",
            "mathjax.js",
            "tex-chtml",
            "tex-mml",
            "mermaid",
            "cdn.jsdelivr",
            "unpkg.com",
            "cdnjs",
        ):
            assert word not in text.lower(), (path, word)
        if path.suffix == ".html":  # the only script loaded from a file is the shared bundle
            srcs = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", text)
            assert srcs == ([] if mode != "shared" else srcs[:1]) and len(srcs) <= 1
            assert all(re.fullmatch(r"\.?\.?/?_assets/widgets-[0-9a-f]{12}\.js", s) for s in srcs)
        assert export.offline_violations(text) == [], path


def test_header_shows_meta_with_chinese_labels_escaped(reports: dict[str, Path]) -> None:
    text = reports["inline"].read_text(encoding="utf-8")
    assert "<title>员工绩效 &lt;b&gt;</title>" in text
    assert "<h1>员工绩效 &lt;b&gt;</h1>" in text
    for label, value in [
        ("月份", "2026-10"),
        ("角色", "员工"),
        ("对象", "E0001 张三 &lt;i&gt;x&lt;/i&gt;"),
        ("生成时间", "2026-11-01 08:00"),
        ("数据指纹", "sha256:0123abcd"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in text
    assert '<html lang="zh-CN">' in text
    assert "@media print" in text


def test_code_prompts_and_stderr_are_hidden(reports: dict[str, Path]) -> None:
    text = reports["inline"].read_text(encoding="utf-8")
    for absent in (
        "这条警告不应出现在报告里",
        "charts.setup()",
        "import pandas",
        "In&nbsp;[",
        "Out[",
    ):
        assert absent not in text
    assert (
        'class="jp-CodeMirrorEditor' not in text
        and "highlight" not in text.split("<body")[1][:2000]
    )
    assert "组件测试报告" in text  # markdown cells stay


def test_sizes_within_budget(reports: dict[str, Path]) -> None:
    inline = reports["inline"].stat().st_size
    shared = reports["shared"].stat().st_size
    assets = sum(p.stat().st_size for p in (reports["shared"].parent / "_assets").iterdir())
    _record("bytes", {"inline": inline, "shared": shared, "shared_assets_once": assets})
    assert inline <= INLINE_BUDGET
    assert shared <= SHARED_BUDGET


def test_shared_assets_written_once_and_linked_relatively(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "2026-10"
    first = export.export(
        reports["plain_nb"],
        out_dir / "employee" / "a.html",
        title="t",
        meta=META,
        assets="shared",
        assets_dir=out_dir / "_assets",
    )
    before = sorted(p.name for p in (out_dir / "_assets").iterdir())
    export.export(
        reports["plain_nb"],
        out_dir / "employee" / "b.html",
        title="t",
        meta=META,
        assets="shared",
        assets_dir=out_dir / "_assets",
    )
    assert sorted(p.name for p in (out_dir / "_assets").iterdir()) == before
    assert len(before) == 2
    text = first.read_text(encoding="utf-8")
    refs = re.findall(r'<script src="([^"]+)"', text)
    refs += re.findall(r'<link[^>]*href="([^"]+)"', text)
    assert sorted(Path(r).name for r in refs) == before
    for ref in refs:
        assert ref.startswith("../_assets/")
        assert (first.parent / ref).resolve().is_file()


def test_write_is_atomic_and_readable(reports: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("old")
    export.export(reports["plain_nb"], out, title="t", meta=META)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert out.stat().st_mode & 0o777 == 0o644


def test_missing_widget_bundle_names_asset_and_command(
    reports: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERFKIT_NODE_MODULES", str(tmp_path / "node_modules"))
    with pytest.raises(
        RenderError, match=r"@jupyter-widgets/html-manager/dist/embed\.js.*make assets"
    ):
        export.export(reports["plain_nb"], tmp_path / "x.html", title="t", meta=META)
    assert not (tmp_path / "x.html").exists()


def test_widgets_without_saved_state_are_refused(reports: dict[str, Path], tmp_path: Path) -> None:
    nb = nbformat.read(reports["plain_nb"], as_version=4)
    del nb.metadata["widgets"]
    stateless = tmp_path / "stateless.ipynb"
    nbformat.write(nb, stateless)
    with pytest.raises(
        RenderError, match="stateless.ipynb: notebook shows widgets but holds no saved widget state"
    ):
        export.export(stateless, tmp_path / "x.html", title="t", meta=META)


def test_unknown_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no automatic-publicPath throw"):
        bundle.patch_bundle("console.log(1)", tmp_path)


def test_bad_assets_mode(reports: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="assets must be 'inline' or 'shared', not 'cdn'"):
        export.export(reports["plain_nb"], tmp_path / "x.html", title="t", meta=META, assets="cdn")


def test_offline_violations_find_fetches_not_links() -> None:
    page = (
        '<script src="https://cdn.example/x.js"></script><style>a{background:url(//x/y.png)}'
        '@import "http://x/y.css";</style><a href="https://example.org/doc">doc</a>'
        '<link rel="stylesheet" href="https://x/z.css">'
    )
    found = export.offline_violations(page)
    assert len(found) == 4
    assert export.offline_violations('<a href="https://example.org">x</a><img src="data:,">') == []


def test_patched_bundle_is_offline_safe() -> None:
    _assets_ready()
    js = bundle.widget_bundle()
    assert "Automatic publicPath is not supported" not in js
    assert 'if(!e)e="./";' in js
    assert re.search(r"https?://", js) is None
    assert "</script" not in js.lower()
    assert js.count("data:font/woff2;base64,") == 1  # Font Awesome solid only
    assert "version:3,sources" not in js  # CSS source maps stripped
    assert re.search(r'n\.p\+"[0-9a-f]{20}\.', js) is None  # no font fetched via publicPath


def _embedded_font(text: str):
    from fontTools.ttLib import TTFont

    match = re.search(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", text)
    assert match, "no embedded woff2 font"
    return TTFont(io.BytesIO(base64.b64decode(match.group(1))))


@pytest.mark.parametrize("mode", ["inline", "shared"])
def test_embedded_font_covers_every_character_of_the_page(
    reports: dict[str, Path], mode: str
) -> None:
    text = reports[mode].read_text(encoding="utf-8")
    cmap = _embedded_font(text).getBestCmap()
    nb = nbformat.read(reports["plain_nb"], as_version=4)
    needed = {c for c in fonts.page_characters(nb, ["员工绩效", *META.values()]) if ord(c) > 0x7F}
    needed |= {"月", "份", "角", "色", "对", "象", "−", "—"}
    missing = sorted(c for c in needed if ord(c) not in cmap and not c.isspace())
    assert missing == []
    assert len(cmap) < 1500  # a subset, not the whole font
    assert f'font-family: "{fonts.FONT_FAMILY}"' in text


def test_page_characters_reads_widget_state_and_entities() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 标题")]
    nb.metadata["widgets"] = {
        export.WIDGET_STATE: {"state": {"m": {"state": {"value": "&#38391;<b>员</b>"}}}}
    }
    chars = fonts.page_characters(nb, ["额外"])
    assert {"标", "题", "员", chr(38391), "额", "外"} <= chars


# ------------------------------------------------------------------------------ browser checks
def _visible_rows(page) -> list[list[str]]:
    return page.evaluate(
        """() => {
          const t = [...document.querySelectorAll('.perfkit-drilldown table.perfkit-table')]
            .find(el => el.offsetParent !== null);
          return t ? [...t.querySelectorAll('tbody tr')].map(
            r => [...r.querySelectorAll('td')].map(td => td.textContent)) : null;
        }"""
    )


@pytest.mark.parametrize("mode", ["inline", "shared"])
def test_report_is_interactive_offline_without_cjk_fonts(
    reports: dict[str, Path], mode: str, tmp_path: Path
) -> None:
    with browser(tmp_path) as s:
        ready_ms = s.open(reports[mode])
        page = s.page
        page.wait_for_function("document.fonts.status === 'loaded'")
        assert page.locator(".jupyter-widgets .widget-dropdown select").count() == 1
        assert page.locator(".widget-toggle-buttons").count() == 2
        assert page.locator(".perfkit-links .widget-toggle-button").count() == 3
        assert page.locator(".jupyter-widgets .lm-TabBar, .jupyter-widgets .p-TabBar").count() >= 1
        body = page.inner_text("body")
        assert "Loading widgets" not in body and "Dropdown(" not in body
        assert "VBox(" not in body and "Error" not in body

        # The drill-down: first page is the assets table, rows in the order given.
        rows = _visible_rows(page)
        assert [r[0] for r in rows] == NAMES
        assert rows[0][1:] == ["−1,234,567.50", "12"]
        assert rows[1][1:] == ["0.00", "1,500"]
        assert rows[3][1:] == ["—", "7"]
        page.select_option(".widget-dropdown select", index=1)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.perfkit-drilldown th')]"
            ".some(th => th.offsetParent !== null && th.textContent === '客户流失率')"
        )
        rows = _visible_rows(page)
        assert [r[0] for r in rows] == list(reversed(NAMES))
        assert [r[1] for r in rows] == ["1.2%", "3.4%", "5.1%", "20.0%"]
        assert [r[2] for r in rows] == ["3", "8", "15", "40"]

        # Chinese through the embedded font only: loaded, and covering the page's text.
        chinese = "".join(sorted({c for c in body if "\u4e00" <= c <= "\u9fff"}))
        state = page.evaluate(
            """([family, text]) => ({
                check: document.fonts.check(`16px "${family}"`, text),
                faces: [...document.fonts].filter(f => f.family.replace(/"/g, '') === family)
                                           .map(f => f.status),
            })""",
            [fonts.FONT_FAMILY, chinese],
        )
        assert len(chinese) > 40
        assert state["check"] is True
        assert state["faces"] == ["loaded"]
        family = page.evaluate(
            "() => getComputedStyle(document.querySelector('.widget-dropdown select')).fontFamily"
        )
        assert family.replace('"', "").startswith(fonts.FONT_FAMILY + ",")
        assert s.errors == [] and s.blocked == [] and s.console == []
        shot = s.screenshot(f"html_{mode}.png")
        assert shot.stat().st_size > 10_000
        _record(f"ready_ms_{mode}", round(ready_ms))


def test_accordion_and_toggle_switch_in_browser(reports: dict[str, Path], tmp_path: Path) -> None:
    with browser(tmp_path) as s:
        s.open(reports["inline"])
        page = s.page
        page.get_by_text("上月", exact=True).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('p')].some("
            "p => p.offsetParent !== null && p.textContent.includes('−2.5'))"
        )
        page.get_by_text("流失客户", exact=True).click()
        links = page.locator(".perfkit-links .widget-toggle-button")
        links.nth(1).click()
        page.wait_for_function(
            "() => { const d = document.querySelectorAll('.perfkit-drilldown')[2];"
            " return [...d.querySelectorAll('th')].some("
            "th => th.offsetParent !== null && th.textContent === '客户流失率'); }"
        )
        links.nth(2).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.perfkit-drilldown p')].some("
            "p => p.offsetParent !== null && p.textContent === '本月无数据')"
        )
        assert s.errors == [] and s.blocked == []
        s.screenshot("html_switched.png")


def test_hostile_labels_and_cells_stay_text(reports: dict[str, Path], tmp_path: Path) -> None:
    text = reports["hostile"].read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in text
    with browser(tmp_path) as s:
        s.open(reports["hostile"])
        page = s.page
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert page.inner_text("h1") == EVIL
        options = page.eval_on_selector_all(
            ".widget-dropdown option", "els => els.map(e => e.textContent)"
        )
        options = [o.replace("\xa0", " ") for o in options]  # the Dropdown keeps spaces as NBSP
        assert options[0] == "客户资产总额" + EVIL
        rows = _visible_rows(page)
        assert rows[0][0] == "恶意" + EVIL
        assert "{{ 7*7 }}" in page.inner_text("body")
        page.select_option(".widget-dropdown select", index=1)
        page.wait_for_timeout(200)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert s.errors == [] and s.blocked == []
        s.screenshot("html_hostile.png")


def test_missing_prerequisite_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match="CI=true and a test prerequisite is missing: x"
    ):
        require(False, "x")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="x"):
        require(False, "x")
    require(True, "never raised")
