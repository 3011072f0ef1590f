"""Export an executed notebook to one HTML report that works offline, in Chinese, with live widgets.

The page is rendered by the ``perfkit_report`` nbconvert template (extends ``lab``; no code, prompts,
stderr, require.js, MathJax or CDN), with the patched widget manager and the static CSS of
:mod:`perfkit.report.bundle` and the page's own CJK font subset of :mod:`perfkit.report.fonts`, so
a viewer needs neither network nor CJK fonts. A page that would fetch anything is refused.

``assets="inline"`` gives one self-contained file, its widget manager, lab CSS and widget state
packed (gzip, base64) and unpacked by the browser (:mod:`perfkit.report.page`); ``assets="shared"``
writes the widget bundle and the static CSS once into an assets folder (content-hashed names)
referenced relatively, for batches and for browsers that cannot unpack. Every page carries
perfkit's page script (data views, filter and sort of long tables) and, when it has three sections
or more, a table of contents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Literal

from perfkit.errors import RenderError
from perfkit.files import atomic_path
from perfkit.report.bundle import (
    TEMPLATE_DIR,
    TEMPLATE_NAME,
    bundle_path,
    page_script,
    perfkit_css,
    report_css,
    widget_bundle,
)
from perfkit.report.charts import _SVG_PROLOG, _SVG_XMLNS
from perfkit.report.fonts import font_face_css, page_characters
from perfkit.report.page import (
    NODECOMPRESS,
    packed_assets,
    page_texts,
    script_json,
    shared_scripts,
    table_of_contents,
)

log = logging.getLogger(__name__)


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


ROLE_LABELS = {"company": "总部", "branch": "营业部", "employee": "员工", "whatif": "总部（方案对比）"}


META_LABELS = {
    "month": "月份",
    "role": "角色",
    "entity": "对象",
    "generated": "生成时间",
    "fingerprint": "数据指纹",
}


FOOTER = "本报告为离线文件，无需网络即可查看；下拉框、选项卡等切换均在浏览器内完成。"


# References a browser would fetch by itself (links a reader clicks are not counted).
_FETCHING = re.compile(
    r"""(?:\b(?:src|poster|data|action|srcset)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+(?:url\()?["']?\s*(?:https?:)?//)""",
    re.I,
)


def _inline_svg(svg: str) -> str:
    return _SVG_XMLNS.sub("", _SVG_PROLOG.sub("", svg, count=1)).strip()


def prune_widget_state(nb: Any) -> int:
    """Drop null-valued attributes of Layout and Style models from the saved widget state.

    Every attribute of those models defaults to null, so the widget manager restores them exactly;
    they are most of the state's bytes (one LayoutModel per widget). Returns the number dropped.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    dropped = 0
    for model in state.values():
        name = model.get("model_name", "")
        if name != "LayoutModel" and not name.endswith("StyleModel"):
            continue
        attrs = model.get("state", {})
        for key in [k for k, v in attrs.items() if v is None and not k.startswith("_")]:
            del attrs[key]
            dropped += 1
    return dropped


def _prepare(nb: Any) -> Any:
    """Drop what a reader must not see: stderr/warning streams and cells left without output."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
    prune_widget_state(nb)
    return nb


def _meta_items(meta: Mapping[str, str]) -> list[tuple[str, str]]:
    values = {str(k): "" if v is None else str(v) for k, v in meta.items()}
    values.setdefault("generated", dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    if values.get("role") in ROLE_LABELS:
        values["role"] = ROLE_LABELS[values["role"]]
    ordered = [k for k in META_LABELS if k in values] + [k for k in values if k not in META_LABELS]
    return [(META_LABELS.get(k, k), values[k]) for k in ordered]


def _write_asset(directory: Path, stem: str, suffix: str, content: str) -> Path:
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
    path = directory / f"{stem}-{digest}{suffix}"
    if not path.is_file():
        with atomic_path(path) as tmp:
            tmp.write_text(content, encoding="utf-8")
            tmp.chmod(0o644)
        log.info("wrote shared asset %s (%d bytes)", path, path.stat().st_size)
    return path


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def offline_violations(html_text: str) -> list[str]:
    """References in ``html_text`` that a browser would fetch from the network (empty when none)."""
    if "//" not in html_text:  # every such reference has one: most pages are scanned at once
        return []
    return [m.group(0) for m in _FETCHING.finditer(html_text)]


_LOCAL = threading.local()


def _read(path: Path) -> Any:
    """The notebook at ``path`` (nbformat 4, as papermill wrote it: not validated again here;
    nbconvert validates what it renders); another version is read and converted by nbformat."""
    import nbformat
    from nbformat.v4.nbjson import JSONReader

    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        return nbformat.reads(text, as_version=4)
    return JSONReader().to_notebook(data)  # lines joined, transient fields dropped


def _exporter() -> Any:
    """This thread's configured ``HTMLExporter`` (built once: a new one per report recompiles the
    templates, ~0.1 s; one per thread because Dask runs jobs in threads)."""
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        # The template shows no input and reads no tag, so the lab exporter's preprocessors (tags,
        # regexes, magics highlighting, pygments CSS) have nothing to do; the notebook is validated
        # once, not after each of them.
        off = {"enabled": False}
        exporter = HTMLExporter(
            config=Config({"TagRemovePreprocessor": off, "RegexRemovePreprocessor": off,
                           "HighlightMagicsPreprocessor": off, "CSSHTMLHeaderPreprocessor": off}),
            template_name=TEMPLATE_NAME,
            extra_template_basedirs=[str(TEMPLATE_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            optimistic_validation=True,
        )
        exporter.register_filter("perfkit_json", script_json)
        exporter.register_filter("perfkit_inline_svg", _inline_svg)
        _LOCAL.exporter = exporter
    return exporter


def _check_assets(widgets: bool) -> None:
    """The static CSS and (``widgets``) the widget bundle hold no reference a browser would fetch
    (checked once per process and file version: they are the same in every report)."""
    _check_static(report_css(), "report CSS")
    for script in ("perfkit.js", "loader.js"):  # each cached: the same object every time
        _check_static(page_script(script), f"perfkit page script {script}")
    if widgets:
        _check_static(widget_bundle(), str(bundle_path()))


@lru_cache(maxsize=4)
def _check_static(text: str, what: str) -> None:
    bad = offline_violations(text)
    if bad:
        raise RenderError(f"{what} would load {len(bad)} resource(s) from the network, "
                          f"e.g. {bad[0]!r}")


def export(
    notebook_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    title: str,
    meta: Mapping[str, str],
    assets: Literal["inline", "shared"] = "inline",
    assets_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Render an executed notebook to one offline HTML report at ``out_path`` (written atomically).

    ``title`` and ``meta`` (month, role, entity, generated, fingerprint, … — shown in the header
    with Chinese labels, known keys first; values escaped; ``generated`` defaults to now) come from
    the caller. ``assets="shared"`` writes the widget bundle and static CSS into ``assets_dir``
    (default ``<out dir>/_assets``) and links them relatively; the font subset is always inline
    (it is specific to the page's characters). Raises :class:`RenderError` when the notebook cannot
    be read, the widget bundle or a CJK font is missing, or the page would need the network.
    """
    started = time.perf_counter()
    src, out = Path(notebook_path), Path(out_path)
    if assets not in ("inline", "shared"):
        raise RenderError(f"assets must be 'inline' or 'shared', not {assets!r}")
    try:
        nb = _read(src)
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot read notebook: {exc}", file=str(src)) from exc
    nb = _prepare(nb)
    has_widgets = WIDGET_STATE in nb.metadata.get("widgets", {})
    views = any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        for c in nb.cells
        for o in c.get("outputs", [])
    )
    if views and not has_widgets:
        raise RenderError(
            "notebook shows widgets but holds no saved widget state; execute it with papermill "
            "(which stores it) or nbclient with store_widget_state=True",
            file=str(src),
        )
    meta_items = _meta_items(meta)

    chars = page_characters(nb, [title, FOOTER, *page_texts(packed=assets == "inline"),
                                 *(t for pair in meta_items for t in pair)])
    font_css = font_face_css(chars)
    state = None
    if has_widgets:
        state = script_json(nb.metadata["widgets"][WIDGET_STATE])
        bad = offline_violations(state)
        if bad:
            raise RenderError(f"report would load {len(bad)} resource(s) from the network, "
                              f"e.g. {bad[0]!r}", file=str(src))
    top = ""
    if assets == "inline":
        head = f'<style id="perfkit-style">\n{font_css}\n{perfkit_css()}\n</style>'
        script = packed_assets(state)
        top = NODECOMPRESS
    else:
        shared = Path(assets_dir) if assets_dir is not None else out.parent / "_assets"
        css_href = _relative(_write_asset(shared, "report", ".css", report_css()), out.parent)
        head = f'<style>\n{font_css}\n</style>\n<link rel="stylesheet" href="{escape(css_href)}">'
        src_js = None
        if has_widgets:
            src_js = _relative(_write_asset(shared, "widgets", ".js", widget_bundle()), out.parent)
        script = shared_scripts(state, src_js)

    # The page is rendered with markers where the head, the top and the scripts go: the network
    # check then reads only the notebook's own part (the state was checked above); the fixed
    # assets were checked once (_check_assets) and the font is a data: URI built here.
    _check_assets(has_widgets)
    token = uuid.uuid4().hex
    marks = {k: f"<!--perfkit-{k}-{token}-->" for k in ("head", "top", "script")}
    resources = {
        "perfkit": {
            "title": title,
            "meta": meta_items,
            **marks,
            "footer": FOOTER,
        }
    }
    # the widget state goes in ``script``; nbconvert only looks up which models exist (a view of a
    # model without state is left out), so it gets their ids, not megabytes to copy and validate
    if has_widgets:
        models = nb.metadata["widgets"][WIDGET_STATE].get("state", {})
        nb.metadata["widgets"] = {WIDGET_STATE: {"state": dict.fromkeys(models, {})}}
    try:
        page, _ = _exporter().from_notebook_node(nb, resources=resources)
    except Exception as exc:  # nbconvert/jinja errors carry no perfkit context
        raise RenderError(f"nbconvert failed: {exc}", file=str(src)) from exc
    bad = offline_violations(page)
    if bad:
        raise RenderError(
            f"report would load {len(bad)} resource(s) from the network, e.g. {bad[0]!r}",
            file=str(src),
        )
    if any(page.count(mark) != 1 for mark in marks.values()):
        raise RenderError("the report template lost its head, top or script marker",
                          file=str(src))
    top += table_of_contents(page)
    body = (page.replace(marks["head"], head, 1).replace(marks["top"], top, 1)
            .replace(marks["script"], script, 1))
    with atomic_path(out) as tmp:
        tmp.write_text(body, encoding="utf-8")
        tmp.chmod(0o644)  # a report is read by others; mkstemp would leave it 0600
    log.info(
        "exported %s -> %s (%d bytes, assets=%s, %d chars in font) in %.2fs",
        src,
        out,
        out.stat().st_size,
        assets,
        len(chars),
        time.perf_counter() - started,
    )
    return out
