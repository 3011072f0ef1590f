"""The parts of a report page around the notebook's own content: the packed (compressed) assets of a
self-contained page with the loader that unpacks them, the message shown where a browser cannot,
perfkit's page script, the table of contents and the JSON of ``<script>`` blocks.

A self-contained page (``assets="inline"``) keeps the widget manager, JupyterLab's CSS and the
widget state gzip-compressed and base64-encoded; ``loader.js`` inflates them with the browser's
``DecompressionStream`` (Chromium/Edge ≥ 80, Firefox ≥ 113, Safari ≥ 16.4). A page with shared
assets needs no decompression: it links the bundle and the CSS and holds the state as JSON.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from functools import lru_cache
from html import escape, unescape
from typing import Any

from perfkit.report.bundle import lab_css, page_script, widget_bundle

_TAG = re.compile(r"<[^>]+>")


#: ``type`` of a packed block: not a script type a browser runs, not one a widget manager reads
PACKED = "application/x-perfkit-gzip"


#: what a reader sees where the browser cannot unpack a self-contained report (Chinese, English)
NODECOMPRESS = (
    '<div id="perfkit-nodecompress" class="perfkit-nodecompress" role="alert" hidden>'
    "<p>此浏览器无法解压本报告的交互内容（需要 DecompressionStream：Chrome / Edge 80、"
    "Firefox 113、Safari 16.4 或更新版本）。请用较新的浏览器打开本文件，或请报告管理员用 "
    "<code>perfkit run --assets shared</code> 重新生成报告（组件文件放在报告旁的 assets "
    "文件夹中，无需解压，与报告文件一起分发）。</p>"
    "<p lang=\"en\">This browser cannot unpack the interactive parts of this report (it needs "
    "DecompressionStream: Chrome / Edge 80, Firefox 113, Safari 16.4 or newer). Open the file in "
    "a current browser, or ask for the reports rendered with "
    "<code>perfkit run --assets shared</code> (the widget files sit in an assets folder beside "
    "the reports, uncompressed, and travel with them).</p></div>"
)


#: text the page's scripts and CSS may show (the font subset must cover it): perfkit.js's filter
#: box, row count, sort hint and empty table; the sort marks of perfkit.css
SCRIPT_TEXTS = ("筛选（输入姓名、编号或数值）", "筛选表格行", "共 0123456789 行", "显示 / 行", "点击排序",
                "无数据", "↕▲▼")


def page_texts(*, packed: bool) -> list[str]:
    """What perfkit adds to a page besides the notebook (for the font subset): the table of
    contents' title, :data:`SCRIPT_TEXTS` and, on a ``packed`` (self-contained) page, the message
    shown where it cannot be unpacked."""
    return [*([unescape(_TAG.sub("", NODECOMPRESS))] if packed else []), "目录", *SCRIPT_TEXTS]


#: a page with at least this many sections gets a table of contents
TOC_MIN_SECTIONS = 3


def script_json(value: Any) -> str:
    """JSON to put inside a ``<script type="…json">`` block. Nothing in it can end the block or
    start an HTML comment: ``</`` is written ``<\\/`` and ``<!`` as ``\\u003c!`` (the same JSON);
    every other character, markup included, stays as it is (escaping every ``<`` and ``>`` cost a
    third of a report's widget state)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!", "\\u003c!")


def _pack(kind: str, text: str, level: int) -> str:
    data = gzip.compress(text.encode("utf-8"), compresslevel=level, mtime=0)
    return (f'<script type="{PACKED}" data-perfkit="{kind}">'
            f'{base64.b64encode(data).decode("ascii")}</script>')


@lru_cache(maxsize=2)
def _packed_fixed(bundle: str) -> str:
    """The packed CSS and widget manager (the same in every page: packed once per process)."""
    return _pack("css", lab_css(), 9) + "\n" + _pack("widgets", bundle, 9)


def packed_assets(state_json: str | None) -> str:
    """The blocks a self-contained page ends with: the packed lab CSS, the packed widget state
    (when the page has widgets: ``state_json`` from :func:`script_json`, else None) and widget
    manager, the loader, and perfkit's page script."""
    parts = []
    if state_json is None:
        parts.append(_pack("css", lab_css(), 9))
    else:
        fixed = _packed_fixed(widget_bundle())
        css, widgets = fixed.split("\n", 1)
        parts += [css, _pack("state", state_json, 6), widgets]
    parts += [f"<script>\n{page_script('loader.js')}</script>",
              f"<script>\n{page_script('perfkit.js')}</script>"]
    return "\n".join(parts)


def shared_scripts(state_json: str | None, bundle_src: str | None) -> str:
    """The blocks a page with shared assets ends with: the widget state as JSON, the linked
    widget manager, perfkit's page script."""
    parts = []
    if state_json is not None:
        parts.append(f'<script type="application/vnd.jupyter.widget-state+json">\n{state_json}\n'
                     "</script>")
    if bundle_src is not None:
        parts.append(f'<script src="{escape(bundle_src)}"></script>')
    parts.append(f"<script>\n{page_script('perfkit.js')}</script>")
    return "\n".join(parts)


_H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)


def table_of_contents(page: str) -> str:
    """A ``<nav>`` linking every ``<h2>`` section of the rendered notebook (the markdown headings,
    which nbconvert gives ids), or "" when the page has fewer than :data:`TOC_MIN_SECTIONS`."""
    items = []
    for ident, inner in _H2.findall(page):
        label = unescape(_TAG.sub("", inner)).replace("¶", "").strip()
        if label:
            # the id as nbconvert wrote it (percent-encoded), quoted the same way
            items.append(f'<li><a href="#{ident}">{escape(label)}</a></li>')
    if len(items) < TOC_MIN_SECTIONS:
        return ""
    return (f'<nav class="perfkit-toc" aria-label="目录"><span class="perfkit-toc-title">目录</span>'
            f'<ol>{"".join(items)}</ol></nav>')
