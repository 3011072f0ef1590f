"""Drill-downs that work in a static HTML file: every choice is pre-computed, switched in the browser.

Python callbacks do not run in an exported report, so a drill-down is a selector widget whose
``index`` is ``jslink``-ed to a :class:`ipywidgets.Stack`'s ``selected_index`` (the link lives in the
widget state papermill saves), or a Tab / Accordion. Everything that came from data is escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import ipywidgets as widgets

from perfkit.errors import RenderError
from perfkit.report.charts import chart_widget
from perfkit.report.dataview import (
    LONG_TABLE,
    Formatter,
    column_texts,
    format_cell,
    is_numeric,
    shared_tables,
)
from perfkit.sheets import frame_csv

#: Selector widgets a drill-down may use, by ``kind``.
SELECTORS: dict[str, Callable[..., widgets.Widget]] = {
    "dropdown": widgets.Dropdown,
    "toggle": widgets.ToggleButtons,
    "select": widgets.Select,
    "links": widgets.ToggleButtons,  # styled as a row of blue links (perfkit.css)
}
CONTAINERS = ("tabs", "accordion")
NUM = ' class="num"'  # the attribute of a right-aligned (numeric) table cell

__all__ = ["Html", "Page", "accordion", "as_widget", "csv_data_uri", "csv_download", "drilldown",
           "format_cell", "table_html", "tabs", "text"]


class Html(str):
    """A piece of report markup (everything from data already escaped), lighter than a widget.

    :func:`text`, :func:`table_html`, :func:`csv_download` and the SVG charts return it. Where a page is
    built (:func:`as_widget`: drill-downs, tabs, lists) adjacent pieces become one
    ``ipywidgets.HTML``: a report has a few hundred widget models instead of thousands, which the
    kernel, papermill, the export and the browser all pay for. Shown on its own (a notebook cell's
    value, ``display``) it is one ``ipywidgets.HTML``, like before. ``value`` is the markup.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)

    def widget(self) -> widgets.HTML:
        """An ``ipywidgets.HTML`` of this markup; its layout and style models are shared by every
        such widget of the kernel (all defaults: two models fewer per widget)."""
        return widgets.HTML(value=str(self), layout=_shared("layout"), style=_shared("style"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())


Page = widgets.Widget | Html

_SHARED: dict[str, widgets.Widget] = {}


def _shared(kind: str) -> widgets.Widget:
    """The kernel's shared default models, created again when closed (``Widget.close_all()``):
    ``layout`` (every widget a page builds here: set your own ``layout=`` to change one),
    ``hidden`` (the holder of a drill-down's data sets),
    ``style`` (the ``HTMLStyle`` of :meth:`Html.widget`), ``toggle`` and ``description`` (the
    styles of toggle-button and dropdown selectors). A report's widgets need no model of their own
    for these: fewer models for the kernel to send, papermill to store and the browser to build."""
    model = _SHARED.get(kind)
    if model is None or model.comm is None:
        from ipywidgets.widgets.widget_description import DescriptionStyle
        from ipywidgets.widgets.widget_selection import ToggleButtonsStyle
        from ipywidgets.widgets.widget_string import HTMLStyle

        make: dict[str, Callable[[], widgets.Widget]] = {
            "layout": widgets.Layout,
            "hidden": lambda: widgets.Layout(display="none"),
            "style": HTMLStyle,
            # long Chinese labels are never cut
            "toggle": lambda: ToggleButtonsStyle(description_width="initial", button_width="auto"),
            "description": lambda: DescriptionStyle(description_width="initial"),
        }
        model = _SHARED[kind] = make[kind]()
    return model


def table_html(
    df: Any,
    *,
    formats: Mapping[str, Formatter] | None = None,
    index: bool = False,
    caption: str | None = None,
    max_rows: int | None = None,
    css_class: str = "",
) -> Html:
    """A DataFrame as an escaped HTML ``<table class="perfkit-table">`` (rows in given order), as
    report markup (:class:`Html`, usable inside drill-downs).

    Every header and cell text is HTML-escaped; numeric columns are right-aligned (class ``num``).
    ``formats`` maps column names to a :func:`format_cell` spec. ``max_rows`` truncates with a note
    saying how many rows were left out. An empty frame gives a table with a "无数据" row. A table
    of more than :data:`~perfkit.report.dataview.LONG_TABLE` rows is a data view instead (its rows
    as JSON, drawn in the browser with a filter box and sortable headers:
    :mod:`perfkit.report.dataview`).
    """
    frame = df.reset_index() if index else df
    shown = len(frame) if max_rows is None else min(max_rows, len(frame))
    if shown > LONG_TABLE:
        return Html(shared_tables([frame], formats=formats, max_rows=max_rows,
                                  css_class=css_class, caption=caption)[0])
    formats = dict(formats or {})
    columns = [str(c) for c in frame.columns]
    numeric = [is_numeric(frame.iloc[:, j]) for j in range(len(columns))]
    classes = " ".join(["perfkit-table", *css_class.split()])
    parts = [f'<table class="{escape(classes)}">']
    if caption:
        parts.append(f"<caption>{escape(caption)}</caption>")
    # text is left-aligned by default; only numeric cells carry a class (bytes add up in big lists)
    head = "".join(
        f'<th{NUM if n else ""}>{escape(c)}</th>' for c, n in zip(columns, numeric, strict=True)
    )
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>")
    part = frame.iloc[:shown]
    cells = [[f"<td{NUM if n else ''}>{escape(t)}</td>"
              for t in column_texts(part.iloc[:, j], formats.get(c))]
             for j, (c, n) in enumerate(zip(columns, numeric, strict=True))]
    parts.extend(f"<tr>{''.join(row)}</tr>" for row in zip(*cells, strict=True))
    if len(frame) == 0:
        parts.append(f'<tr><td class="empty" colspan="{max(len(columns), 1)}">无数据</td></tr>')
    parts.append("</tbody></table>")
    if shown < len(frame):
        parts.append(f'<div class="perfkit-note">另有 {len(frame) - shown:,} 行未显示</div>')
    return Html("".join(parts))


def text(value: str, *, tag: str = "p", css_class: str = "") -> Html:
    """``value`` as plain (escaped) text in ``<tag>`` (:class:`Html`)."""
    if tag not in ("p", "h2", "h3", "h4", "div", "span"):
        raise RenderError(f"text tag must be one of p, h2, h3, h4, div, span, not {tag!r}")
    cls = f' class="{escape(css_class)}"' if css_class else ""
    return Html(f"<{tag}{cls}>{escape(value)}</{tag}>")


def _markup(obj: Any) -> Html | None:
    """``obj`` as markup when it is markup or plain text (escaped), else None."""
    if isinstance(obj, Html):
        return obj
    if isinstance(obj, str):
        return text(obj)
    return None


def as_widget(obj: Any) -> widgets.Widget:
    """Turn one drill-down page into a widget.

    A widget passes through; :class:`Html` becomes an ``ipywidgets.HTML``; a string is shown as
    escaped text; a DataFrame becomes :func:`table_html`; a matplotlib Figure becomes
    :func:`perfkit.report.charts.chart_widget`; a list/tuple of these is stacked vertically, each run of
    adjacent markup and strings joined into one ``HTML`` (a list that joins into one piece gives
    that piece, not a box). Anything else is a :class:`RenderError` naming its type.
    """
    if isinstance(obj, widgets.Widget):
        return obj
    piece = _markup(obj)
    if piece is not None:
        return piece.widget()
    if isinstance(obj, (list, tuple)):
        children: list[widgets.Widget] = []
        run: list[str] = []
        for item in obj:
            piece = _markup(item)
            if piece is None and hasattr(item, "itertuples") and hasattr(item, "columns"):
                piece = table_html(item)
            if piece is not None:
                run.append(piece)
                continue
            if run:
                children.append(Html("".join(run)).widget())
                run = []
            children.append(as_widget(item))
        if run:
            children.append(Html("".join(run)).widget())
        return (children[0] if len(children) == 1
                else widgets.VBox(children, layout=_shared("layout")))
    if hasattr(obj, "itertuples") and hasattr(obj, "columns"):
        return table_html(obj).widget()
    if hasattr(obj, "savefig"):
        return chart_widget(obj)
    raise RenderError(
        f"cannot show a {type(obj).__name__} in a drill-down; "
        "pass a widget, Html, DataFrame, matplotlib Figure, str or a list of them"
    )


def drilldown(
    options: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    kind: str = "dropdown",
    description: str = "",
    index: int = 0,
) -> widgets.Widget:
    """A selector and the page it selects, switched in the browser (no kernel needed).

    ``options`` maps each label (shown as text, never as markup; duplicates allowed when passed as
    pairs) to its page (see :func:`as_widget`). ``kind``: "dropdown", "toggle", "select" or
    "links" (toggle buttons drawn as blue links, e.g. indicator names) build that selector with its
    ``index`` jslinked to a ``Stack``'s ``selected_index``; "tabs" and "accordion" build a Tab /
    Accordion titled by the labels. Returns a ``VBox`` (selector, stack)
    or the Tab / Accordion. Empty ``options`` gives a "无数据" text; a bad ``kind`` or ``index`` is a
    :class:`RenderError` naming the allowed values.
    """
    items = list(options.items()) if isinstance(options, Mapping) else list(options)
    if kind not in SELECTORS and kind not in CONTAINERS:
        allowed = ", ".join([*SELECTORS, *CONTAINERS])
        raise RenderError(f"drilldown kind must be one of {allowed}, not {kind!r}")
    if not items:
        return text("无数据", css_class="perfkit-note").widget()
    if not 0 <= index < len(items):
        raise RenderError(f"drilldown index {index} is outside 0..{len(items) - 1}")
    labels = [str(label) for label, _ in items]
    sets: list[str] = []  # a Stack's pages lose their data sets (perfkit.report.dataview), below
    pages = [as_widget(page if kind in CONTAINERS else _hoist_sets(page, sets))
             for _, page in items]
    if kind == "tabs":
        return tabs(dict(zip(range(len(pages)), pages, strict=True)), titles=labels, index=index)
    if kind == "accordion":
        return accordion(pages, titles=labels, index=index)
    # every model is built whole (classes, index) in one message; layout and style models shared
    classes = ("perfkit-selector", "perfkit-links") if kind == "links" else ("perfkit-selector",)
    selector = SELECTORS[kind](
        options=[(label, i) for i, label in enumerate(labels)],
        index=index,
        description=description,
        style=_shared("toggle" if kind in ("toggle", "links") else "description"),
        layout=_shared("layout"),
        _dom_classes=classes,
    )
    stack = widgets.Stack(pages, selected_index=index, layout=_shared("layout"))
    widgets.jslink((selector, "index"), (stack, "selected_index"))
    # A Stack puts only its chosen page in the page; the data sets of its pages go in a hidden
    # HTML beside it, always there for the views of any page (or of another drill-down).
    children = [selector, stack]
    if sets:
        children.append(widgets.HTML("".join(sets), layout=_shared("hidden")))
    return widgets.VBox(children, layout=_shared("layout"), _dom_classes=("perfkit-drilldown",))


_DATA_SET = re.compile(r'<script type="application/json" class="perfkit-set".*?</script>', re.S)


def _hoist_sets(page: Any, found: list[str]) -> Any:
    """``page`` without the data sets in its markup (appended to ``found``)."""
    if isinstance(page, Html) and "perfkit-set" in page:
        return Html(_DATA_SET.sub(lambda m: found.append(m.group(0)) or "", page))
    if isinstance(page, (list, tuple)):
        return [_hoist_sets(p, found) for p in page]
    return page


def tabs(
    pages: Mapping[Any, Any], *, titles: Sequence[str] | None = None, index: int = 0
) -> widgets.Tab:
    """A ``Tab`` of ``pages`` (label → page, see :func:`as_widget`); ``titles`` overrides labels."""
    children = [as_widget(p) for p in pages.values()]
    names = list(titles) if titles is not None else [str(k) for k in pages]
    return widgets.Tab(children=children, titles=names, selected_index=index if children else None,
                       layout=_shared("layout"), _dom_classes=("perfkit-tabs",))


def accordion(
    pages: Mapping[str, Any] | Sequence[Any],
    *,
    titles: Sequence[str] | None = None,
    index: int | None = None,
) -> widgets.Accordion:
    """An ``Accordion`` of ``pages``; ``index`` is the open section (``None``: all closed)."""
    if isinstance(pages, Mapping):
        names = list(titles) if titles is not None else [str(k) for k in pages]
        children = [as_widget(p) for p in pages.values()]
    else:
        children = [as_widget(p) for p in pages]
        names = list(titles or [str(i + 1) for i in range(len(children))])
    return widgets.Accordion(children=children, titles=names, selected_index=index,
                             layout=_shared("layout"), _dom_classes=("perfkit-accordion",))


def csv_data_uri(df: Any, *, index: bool = False) -> str:
    """``df`` as a ``data:text/csv`` URI: UTF-8 with a byte-order mark (so Excel on Windows opens
    Chinese text correctly), base64-encoded; works offline in an exported report."""
    import base64

    body = frame_csv(df, index=index).encode("utf-8-sig")  # no cell a spreadsheet would run
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(body).decode("ascii")


def csv_download(df: Any, filename: str, *, label: str = "下载 CSV", index: bool = False) -> Html:
    """A link that downloads ``df`` as ``filename`` (CSV, UTF-8 with BOM) from a static HTML report
    (:class:`Html`)."""
    return Html(
        f'<a class="perfkit-download" download="{escape(filename, quote=True)}" '
        f'href="{csv_data_uri(df, index=index)}">{escape(label)}</a>'
    )
