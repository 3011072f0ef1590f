"""perfkit.report.widgets: escaped, formatted tables and drill-downs switched in the browser."""

from __future__ import annotations

import datetime as dt

import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import Link

from perfkit.errors import RenderError
from perfkit.report import widgets as pw

EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">{{ 7*7 }}'


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (1234567, None, "1,234,567"),
        (-1234567, None, "\u22121,234,567"),
        (np.int64(-5), None, "\u22125"),
        (-1234.5, None, "\u22121,234.50"),
        (0.004, None, "0.00"),
        (-0.004, None, "0.00"),  # rounds to zero: no sign
        (float("nan"), None, "—"),
        (None, None, "—"),
        (pd.NA, None, "—"),
        (pd.NaT, None, "—"),
        (float("inf"), None, "—"),
        (0.1234, "pct1", "12.3%"),
        (-0.05, "pct", "\u22125%"),
        (-1234.567, ",.1f", "\u22121,234.6"),
        (-7.6, ",d", "\u22128"),
        (1.5, "+.2f", "+1.50"),  # a signed spec: + for gains, U+2212 (not "−+") for losses
        (-1.5, "+.2f", "\u22121.50"),
        (0.25, ".0%", "25%"),
        (True, None, "是"),
        (dt.date(2026, 10, 3), None, "2026-10-03"),
        (pd.Timestamp("2026-10-03"), None, "2026-10-03"),
        (pd.Timestamp("2026-10-03 09:30"), None, "2026-10-03 09:30"),
        ("张三", None, "张三"),
        (3, lambda v: f"{v} 分", "3 分"),
    ],
)
def test_format_cell(value, fmt, expected) -> None:
    assert pw.format_cell(value, fmt) == expected


def test_table_html_escapes_formats_and_keeps_row_order() -> None:
    df = pd.DataFrame(
        {"姓名": ["乙", EVIL, "甲"], "资产": [3000.5, np.nan, -12.0], "户数": [2, 1, 1500]}
    )
    out = pw.table_html(df, caption="<b>标题</b>", formats={"资产": ",.1f"})
    assert "<script>" not in out and "<img" not in out and "<b>" not in out
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in out
    assert "{{ 7*7 }}" in out
    assert "<caption>&lt;b&gt;标题&lt;/b&gt;</caption>" in out
    assert '<th>姓名</th><th class="num">资产</th><th class="num">户数</th>' in out
    rows = out.split("<tbody>")[1].split("</tr>")
    assert '<td>乙</td><td class="num">3,000.5</td><td class="num">2</td>' in rows[0]
    assert '<td class="num">—</td>' in rows[1]
    assert '<td class="num">\u221212.0</td><td class="num">1,500</td>' in rows[2]


def test_table_html_empty_truncated_and_index() -> None:
    empty = pw.table_html(pd.DataFrame({"a": [], "b": []}))
    assert '<td class="empty" colspan="2">无数据</td>' in empty
    df = pd.DataFrame({"v": range(5)}, index=pd.Index(list("abcde"), name="键"))
    out = pw.table_html(df, max_rows=2, index=True)
    assert out.count("<tr>") == 3  # header + 2 rows
    assert "另有 3 行未显示" in out
    assert '<th>键</th>' in out


def _links() -> list[Link]:
    return [w for w in _instances.values() if isinstance(w, Link)]


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("dropdown", widgets.Dropdown),
        ("toggle", widgets.ToggleButtons),
        ("select", widgets.Select),
        ("links", widgets.ToggleButtons),
    ],
)
def test_drilldown_links_selector_index_to_stack(kind: str, cls: type) -> None:
    pages = {"甲": pd.DataFrame({"x": [1]}), EVIL: "说明文字", "丙": widgets.Label("丙")}
    box = pw.drilldown(pages, kind=kind, description="指标", index=1)
    selector, stack = box.children
    assert isinstance(selector, cls) and isinstance(stack, widgets.Stack)
    assert selector.index == 1 and stack.selected_index == 1
    assert list(selector.options) == [("甲", 0), (EVIL, 1), ("丙", 2)]
    assert "perfkit-drilldown" in box._dom_classes
    assert ("perfkit-links" in selector._dom_classes) == (kind == "links")
    assert isinstance(stack.children[0], widgets.HTML) and "<table" in stack.children[0].value
    assert stack.children[1].value == "<p>说明文字</p>"
    assert stack.children[2] is pages["丙"]
    link = [ln for ln in _links() if ln.source == (selector, "index")]
    assert len(link) == 1 and link[0].target == (stack, "selected_index")
    # jslink runs in the browser only (tests/test_html.py switches it in Chromium).


def test_drilldown_duplicate_labels_and_containers() -> None:
    box = pw.drilldown([("同名", "一"), ("同名", "二")])
    assert [v for _, v in box.children[0].options] == [0, 1]
    tab = pw.drilldown({"图表": "a", "明细": "b"}, kind="tabs", index=1)
    assert isinstance(tab, widgets.Tab)
    assert tab.titles == ("图表", "明细") and tab.selected_index == 1
    acc = pw.drilldown({"潜在客户": "a", "流失客户": "b"}, kind="accordion")
    assert isinstance(acc, widgets.Accordion)
    assert acc.titles == ("潜在客户", "流失客户") and acc.selected_index == 0
    assert pw.accordion(["x", "y"]).selected_index is None


def test_drilldown_errors_name_allowed_values() -> None:
    with pytest.raises(
        RenderError,
        match="kind must be one of dropdown, toggle, select, links, tabs, accordion, not 'radio'",
    ):
        pw.drilldown({"a": "x"}, kind="radio")
    with pytest.raises(RenderError, match=r"index 3 is outside 0\.\.1"):
        pw.drilldown({"a": "x", "b": "y"}, index=3)
    with pytest.raises(RenderError, match="cannot show a int in a drill-down"):
        pw.drilldown({"a": 5})
    empty = pw.drilldown({})
    assert isinstance(empty, widgets.HTML) and "无数据" in empty.value


def test_text_escapes_and_checks_tag() -> None:
    assert pw.text(EVIL, tag="h3").value.startswith("<h3>&lt;script&gt;")
    with pytest.raises(RenderError, match="text tag must be one of"):
        pw.text("x", tag="script")


def test_as_widget_figure_and_list() -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, -1])
    box = pw.as_widget(["标题", fig])
    assert isinstance(box, widgets.VBox)
    assert "<svg" in box.children[1].value
    assert not plt.fignum_exists(fig.number)


def test_pages_join_adjacent_markup_into_one_widget() -> None:
    """Markup pieces and strings next to each other become one HTML widget (a report holds a few
    hundred widget models, not thousands); widgets in between keep their place."""
    label = widgets.Label("中间")
    page = pw.as_widget([pw.text("标题", tag="h4"), pd.DataFrame({"x": [1]}), EVIL, label,
                         pw.text("结尾")])
    assert isinstance(page, widgets.VBox) and len(page.children) == 3
    first, middle, last = page.children
    assert first.value.startswith("<h4>标题</h4><table") and "&lt;script&gt;" in first.value
    assert middle is label and last.value == "<p>结尾</p>"
    single = pw.as_widget([pw.text("一"), "二"])
    assert isinstance(single, widgets.HTML) and single.value == "<p>一</p><p>二</p>"


def test_markup_widgets_share_one_layout_and_style_until_closed() -> None:
    a, b = pw.text("一").widget(), pw.table_html(pd.DataFrame({"x": [1]})).widget()
    assert a.layout is b.layout and a.style is b.style
    assert pw.text("一").value == "<p>一</p>"  # read like a widget's value
    a.layout.close()  # as Widget.close_all() would (not called here: it would close other tests')
    c = pw.text("二").widget()
    assert c.layout is not a.layout and c.layout.comm is not None  # a closed model is not reused
