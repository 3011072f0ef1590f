"""Charts for Chinese reports: CJK font set-up, real minus signs and charts as offline widgets.

Charts are emitted as inline SVG with ``svg.fonttype: none``: text stays text (crisp when zoomed or
printed, selectable, a few KB per chart) and is drawn by the page's embedded CJK font subset (see
:mod:`perfkit.report.fonts`), so a viewer needs no CJK font of its own. Matplotlib still needs a real font file
(TTF/OTF/TTC, not woff2) on the rendering machine to measure text: :func:`find_cjk_font` locates it.
"""

from __future__ import annotations

import importlib
import io
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from perfkit.errors import RenderError
from perfkit.formatting import DASH, format_number

log = logging.getLogger(__name__)


#: Where a CJK font may live, in order of preference. The first is installed by ``pip`` with the
#: project (so ``make report`` needs no apt); the others are Debian / common system packages.
FONT_CANDIDATES: tuple[str, ...] = (
    "py:pylopdf_fonts_zh_cn:NotoSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT_ENV = "PERFKIT_CJK_FONT"


def _candidate_path(spec: str) -> Path | None:
    """Resolve one :data:`FONT_CANDIDATES` entry to an existing file, or ``None``."""
    if spec.startswith("py:"):
        _, module, name = spec.split(":", 2)
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return None
        path = Path(mod.__file__).parent / name  # type: ignore[arg-type]
    else:
        path = Path(spec)
    return path if path.is_file() else None


def find_cjk_font() -> Path:
    """Return the CJK font file (TTF/OTF/TTC) used for charts and for the page's embedded subset.

    ``$PERFKIT_CJK_FONT`` wins when set (it must exist); then :data:`FONT_CANDIDATES` in order.
    Raises :class:`RenderError` naming what to install when none is found.
    """
    env = os.environ.get(FONT_ENV)
    if env:
        if Path(env).is_file():
            return Path(env)
        raise RenderError(f"{FONT_ENV} points to a missing font file", file=env)
    for spec in FONT_CANDIDATES:
        path = _candidate_path(spec)
        if path is not None:
            return path
    raise RenderError(
        "no CJK font found for Chinese charts and reports; install one with "
        "`pip install 'pylopdf-fonts-zh-cn>=0.1,<0.2'` or `apt-get install fonts-wqy-microhei`, "
        f"or set {FONT_ENV} to a .ttf/.otf/.ttc file"
    )


@lru_cache(maxsize=4)
def _register(path: str) -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    log.info("registered CJK font %s (%s) with matplotlib", name, path)
    return name


def setup(style: str = "whitegrid", context: str = "notebook", palette: str = "deep") -> str:
    """Configure seaborn + matplotlib for Chinese charts and return the CJK font family name.

    Order matters: ``sns.set_theme()`` resets ``font.sans-serif``, so the CJK font is set after it.
    ``axes.unicode_minus`` is off (matplotlib would otherwise draw U+2212 from whatever font); the
    formatters of this module write U+2212 themselves. SVG output keeps text as text.
    """
    import matplotlib
    import seaborn as sns

    family = _register(str(find_cjk_font()))
    sns.set_theme(style=style, context=context, palette=palette)
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "svg.fonttype": "none",
            "svg.hashsalt": "perfkit",  # deterministic ids: same chart, same bytes
            "figure.dpi": 100,
        }
    )
    return family


def number_formatter(decimals: int = 0, *, percent: bool = False) -> Callable[[float, Any], str]:
    """A matplotlib tick formatter function using :func:`format_number` (real minus sign)."""

    def fmt(x: float, _pos: Any = None) -> str:
        return format_number(x, decimals, percent=percent)

    return fmt


def format_axis(ax: Any, axis: str = "y", decimals: int = 0, *, percent: bool = False) -> None:
    """Give ``ax``'s ``axis`` ("x", "y" or "both") tick labels with separators and U+2212."""
    from matplotlib.ticker import FuncFormatter

    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"{name}axis").set_major_formatter(
            FuncFormatter(number_formatter(decimals, percent=percent))
        )


_SVG_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_SVG_XMLNS = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')
_SVG_STYLE = re.compile(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>|<style[^>]*>.*?</style>", re.S)
_SVG_OPEN = re.compile(r"<svg\b")


def figure_svg(fig: Any) -> str:
    """Return ``fig`` as an inline ``<svg>`` element for an HTML page.

    The XML prolog, DOCTYPE, namespace declarations (implied in HTML) and the global ``<style>`` are
    removed so the page holds no http(s) reference. The SVG keeps its size in pt and
    shrinks (never grows) to fit its container (CSS ``max-width: 100%``).
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "perfkit"}):
        fig.savefig(
            buf,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = _SVG_PROLOG.sub("", buf.getvalue(), count=1)
    svg = _SVG_XMLNS.sub("", svg)
    svg = _SVG_STYLE.sub("", svg)
    svg = _SVG_OPEN.sub('<svg class="perfkit-svg"', svg, count=1)
    return svg.strip()


def figure_png(fig: Any, dpi: int = 144) -> str:
    """Return ``fig`` as an ``<img>`` with a base64 PNG (text is rasterised: needs no font)."""
    import base64

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="perfkit-png" alt="" src="data:image/png;base64,{data}">'


def chart_html(
    fig: Any, *, fmt: str = "svg", caption: str | None = None, close: bool = True
) -> str:
    """Markup of one chart (``fmt`` "svg" or "png") with an optional escaped caption."""
    if fmt not in ("svg", "png"):
        raise RenderError(f"chart format must be 'svg' or 'png', not {fmt!r}")
    body = figure_svg(fig) if fmt == "svg" else figure_png(fig)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    cap = f'<div class="perfkit-caption">{escape(caption)}</div>' if caption else ""
    return f'<div class="perfkit-chart">{body}{cap}</div>'


def chart_widget(
    fig: Any, *, fmt: str = "svg", caption: str | None = None, close: bool = True
) -> Any:
    """Return ``fig`` as an ``ipywidgets.HTML`` (typed ``Any``: ipywidgets is imported lazily) that renders in an exported report without a kernel.

    SVG (default) keeps text as text in the page's embedded CJK font; "png" rasterises it. The figure
    is closed unless ``close=False`` so notebooks do not also show it as a plain output.
    """
    import ipywidgets as widgets

    return widgets.HTML(value=chart_html(fig, fmt=fmt, caption=caption, close=close))


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi]."""
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    stop = math.ceil(hi / step) * step
    n = int(round((stop - start) / step))
    return [round(start + i * step, 10) for i in range(n + 1)]


def _tick_decimals(ticks: Sequence[float]) -> int:
    """Decimals that show every tick of :func:`nice_ticks` distinctly (0 for steps of 1 or more)."""
    return max(0, -math.floor(math.log10(ticks[1] - ticks[0]))) if len(ticks) > 1 else 0


def trend_svg(
    history: Sequence[tuple[str, float]],
    *,
    title: str,
    decimals: int = 0,
    suffix: str = "",
    target: float | None = None,
    width: int = 640,
    height: int = 210,
) -> str:
    """A monthly trend line as inline SVG markup, drawn directly (no matplotlib: ~100× faster).

    ``history`` is [(``'YYYY-MM'``, value)] in month order; missing values break the line. The
    target, when given, is a dashed line. Text is SVG text in the page's font, escaped; numbers use
    :func:`format_number` (U+2212 minus). An all-missing history gives a "无数据" note.
    """
    left, right, top, bottom = 64, 34, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    months = [str(m) for m, _ in history]
    values = [None if v is None or not math.isfinite(float(v)) else float(v) for _, v in history]
    known = [v for v in values if v is not None]
    has_target = target is not None and math.isfinite(float(target))
    parts = [f'<svg class="perfkit-trend" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13" '
             f'fill="#1d2733">{escape(title)}</text>']
    if not known:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
                     f'font-size="12" fill="#7a8796">无数据</text></svg>')
        return "".join(parts)
    span = known + ([float(target)] if has_target else [])
    ticks = nice_ticks(min(span), max(span))
    lo, hi = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    n = len(months)
    step = plot_w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else plot_w / 2)

    tick_decimals = _tick_decimals(ticks)
    # shared attributes sit on <g> groups: a report has a trend chart per indicator
    parts.append('<g stroke="#e3e7ec">' + "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        for v in ticks) + "</g>")
    parts.append('<g font-size="10" fill="#4a5868" text-anchor="end">' + "".join(
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}">{escape(format_number(v, tick_decimals))}</text>'
        for v in ticks) + "</g>")
    parts.append('<g font-size="10" fill="#4a5868" text-anchor="middle">' + "".join(
        f'<text x="{x(i):.1f}" y="{height - bottom + 16}">{escape(m[2:] if n > 8 else m)}</text>'
        for i, m in enumerate(months)) + "</g>")
    if has_target:
        ty = y(float(target))
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'stroke="#d1495b" stroke-width="1.2" stroke-dasharray="5 4"/>'
                     f'<text x="{width - right}" y="{ty - 5:.1f}" text-anchor="end" font-size="10" '
                     f'fill="#d1495b" stroke="#fff" stroke-width="3" paint-order="stroke">'
                     f'目标 {escape(format_number(target, decimals) + suffix)}</text>')
    segment: list[str] = []
    lines: list[str] = []
    for i, v in enumerate(values + [None]):
        if v is None:
            if len(segment) > 1:
                lines.append(" ".join(segment))
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    for pts in lines:
        parts.append(f'<polyline fill="none" stroke="#1f5fbf" stroke-width="1.8" points="{pts}"/>')
    dots = [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.2"><title>'
            f'{escape(f"{months[i]}：{format_number(v, decimals)}{suffix}")}</title></circle>'
            for i, v in enumerate(values) if v is not None]
    parts.append('<g fill="#1f5fbf">' + "".join(dots) + "</g></svg>")
    return "".join(parts)


def text_width(text: str, size: float) -> float:
    """Estimated width in px of ``text`` at font ``size``: CJK and full-width characters one em,
    others about 0.6 em (enough to lay out labels without measuring the font)."""
    return sum(size if ord(ch) >= 0x2E80 else 0.6 * size for ch in text)


def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing (None, NaN, pd.NA, inf) or not a number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _fit(text: str, room: float, size: float) -> str:
    """``text`` cut with "…" to at most ``room`` px wide at font ``size``."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def bars_svg(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    decimals: int = 0,
    suffix: str = "",
    ref: float | None = None,
    ref_label: str = "",
    width: int = 640,
) -> str:
    """Horizontal bars as inline SVG markup, drawn directly (no matplotlib: ~100× faster).

    ``items`` is [(label, value)] in the order shown, top to bottom; a missing value gets "—" and no
    bar; negative values extend left of zero. Each bar carries its value and a tooltip. ``ref``, when
    given, is a dashed vertical line labelled ``ref_label`` and its value. Text is SVG text in the
    page's font, escaped; numbers use :func:`format_number` (U+2212 minus).
    """
    size, row, bar = 11, 20, 13
    labels = [_fit(str(name), width * 0.4, size) for name, _ in items]
    values = [_finite(v) for _, v in items]
    texts = [format_number(v, decimals) + suffix if v is not None else DASH for v in values]
    ref = _finite(ref)
    has_ref = ref is not None
    label_w = max((text_width(s, size) for s in labels), default=0)
    left = label_w + 14
    value_w = max((text_width(t, 9) for t in texts), default=0) + 8
    top = 30 + (16 if has_ref else 0)
    bottom = 26
    height = top + row * max(len(items), 1) + bottom
    plot_l, plot_r = left + value_w * any(v is not None and v < 0 for v in values), width - value_w
    parts = [f'<svg class="perfkit-bars" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13" '
             f'fill="#1d2733">{escape(title)}</text>']
    known = [v for v in values if v is not None]
    span = [0.0, *known, *([ref] if ref is not None else [])]
    ticks = nice_ticks(min(span), max(span), 6)
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return plot_l + (plot_r - plot_l) * (v - lo) / (hi - lo)

    bottom_y = top + row * len(items)
    tick_decimals = _tick_decimals(ticks)
    for v in ticks:  # vertical grid with labels at round values
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top}" y2="{bottom_y}" '
                     f'stroke="{"#b8c0ca" if v == 0 else "#e3e7ec"}" stroke-width="1"/>'
                     f'<text x="{x(v):.1f}" y="{bottom_y + 14}" text-anchor="middle" '
                     f'font-size="10" fill="#4a5868">{escape(format_number(v, tick_decimals))}</text>')
    zero = x(0.0)
    for i, (label, v, t) in enumerate(zip(labels, values, texts, strict=True)):
        cy = top + row * i + row / 2
        parts.append(f'<text x="{left - 8:.1f}" y="{cy + 4:.1f}" text-anchor="end" '
                     f'font-size="{size}" fill="#1d2733">{escape(label)}</text>')
        if v is None:
            parts.append(f'<text x="{zero + 4:.1f}" y="{cy + 3:.1f}" font-size="9" '
                         f'fill="#7a8796">{DASH}</text>')
            continue
        x0, x1 = sorted((zero, x(v)))
        end, anchor = (x1 + 4, "start") if v >= 0 else (x0 - 4, "end")
        parts.append(f'<rect x="{x0:.1f}" y="{cy - bar / 2:.1f}" width="{max(x1 - x0, 0.5):.1f}" '
                     f'height="{bar}" fill="#5b8def"><title>{escape(f"{label}：{t}")}</title></rect>'
                     f'<text x="{end:.1f}" y="{cy + 3:.1f}" text-anchor="{anchor}" font-size="9" '
                     f'fill="#4a5868">{escape(t)}</text>')
    if ref is not None:
        parts.append(_ref_line(x(ref), top, bottom_y, (plot_l + plot_r) / 2,
                               f"{ref_label} {format_number(ref, decimals)}{suffix}".strip()))
    parts.append("</svg>")
    return "".join(parts)


def _ref_line(rx: float, top: float, bottom: float, middle: float, text: str) -> str:
    """A chart's dashed vertical reference line at ``rx`` from just above ``top`` to ``bottom``,
    labelled with ``text`` above it, on the side of the line nearer the chart's ``middle``."""
    anchor = "end" if rx > middle else "start"
    return (f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{top - 4}" y2="{bottom}" '
            f'stroke="#d1495b" stroke-width="1.2" stroke-dasharray="5 4"/>'
            f'<text x="{rx + (-4 if anchor == "end" else 4):.1f}" y="{top - 8}" '
            f'text-anchor="{anchor}" font-size="10" fill="#d1495b">{escape(text)}</text>')


def histogram_svg(
    values: Sequence[float | None],
    *,
    title: str,
    unit_label: str,
    decimals: int = 0,
    suffix: str = "",
    ref: float | None = None,
    ref_label: str = "",
    width: int = 640,
    height: int = 230,
) -> str:
    """How many entities fall in each value range, as inline SVG (for a ranking too long for one
    bar per entity). About 12 ranges at round bounds; each bar carries its count and a tooltip
    with its range; ``ref`` is a dashed vertical line. Missing values are counted in a note."""
    known = [v for v in (_finite(x) for x in values) if v is not None]
    missing = len(values) - len(known)
    left, right, top, bottom = 46, 20, 30 + (16 if _finite(ref) is not None else 0), 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="perfkit-hist" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13" '
             f'fill="#1d2733">{escape(title)}</text>']
    if not known:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
                     f'font-size="12" fill="#7a8796">无数据</text></svg>')
        return "".join(parts)
    ref = _finite(ref)
    edges = nice_ticks(min(known + ([ref] if ref is not None else [])),
                       max(known + ([ref] if ref is not None else [])), 12)
    lo, hi = edges[0], edges[-1]
    counts = [0] * (len(edges) - 1)
    for v in known:
        counts[min(int((v - lo) / (hi - lo) * len(counts)), len(counts) - 1)] += 1
    peak = max(counts)
    ticks = nice_ticks(0, peak, 4)

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    def y(n: float) -> float:
        return top + plot_h * (1 - n / ticks[-1])

    for n in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(n):.1f}" y2="{y(n):.1f}" '
                     f'stroke="#e3e7ec" stroke-width="1"/><text x="{left - 6}" y="{y(n) + 4:.1f}" '
                     f'text-anchor="end" font-size="10" fill="#4a5868">{n:g}</text>')
    edge_decimals = _tick_decimals(edges)
    step = max(1, math.ceil(len(edges) / 7))
    for i, e in enumerate(edges):
        if i % step == 0 or i == len(edges) - 1:
            parts.append(f'<text x="{x(e):.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                         f'font-size="10" fill="#4a5868">'
                         f'{escape(format_number(e, edge_decimals))}</text>')
    for i, n in enumerate(counts):
        if not n:
            continue
        x0, x1 = x(edges[i]) + 1, x(edges[i + 1]) - 1
        tip = (f"{format_number(edges[i], edge_decimals)}{suffix} ~ "
               f"{format_number(edges[i + 1], edge_decimals)}{suffix}：{n} {unit_label}")
        parts.append(f'<rect x="{x0:.1f}" y="{y(n):.1f}" width="{max(x1 - x0, 0.5):.1f}" '
                     f'height="{top + plot_h - y(n):.1f}" fill="#5b8def"><title>{escape(tip)}'
                     f'</title></rect><text x="{(x0 + x1) / 2:.1f}" y="{y(n) - 3:.1f}" '
                     f'text-anchor="middle" font-size="9" fill="#4a5868">{n}</text>')
    if ref is not None:
        parts.append(_ref_line(x(ref), top, top + plot_h, left + plot_w / 2,
                               f"{ref_label} {format_number(ref, decimals)}{suffix}".strip()))
    note = f"共 {len(known)} {unit_label}" + (f"，{missing} {unit_label}无数据" if missing else "")
    parts.append(f'<text x="{width - right}" y="{height - 6}" text-anchor="end" font-size="10" '
                 f'fill="#7a8796">{escape(note)}</text></svg>')
    return "".join(parts)
