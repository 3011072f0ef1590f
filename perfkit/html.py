"""Export an executed notebook to one HTML report that works offline, in Chinese, with live widgets.

The page is rendered by the ``perfkit_report`` nbconvert template (extends ``lab``; no code, prompts,
stderr, require.js, MathJax or CDN). The widget manager ``@jupyter-widgets/html-manager``
``dist/embed.js`` (pinned in package-lock.json, fetched by ``make assets``) is patched so it runs
inlined and never touches the network, and a subset of a CJK font covering exactly the page's
characters is embedded as a woff2 ``@font-face``, so a viewer needs neither network nor CJK fonts.

``assets="inline"`` gives one self-contained file; ``assets="shared"`` writes the widget bundle and
the static CSS once into an assets folder (content-hashed names) referenced relatively, for batches.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from html import escape, unescape
from pathlib import Path
from typing import Any, Literal

from perfkit.errors import RenderError
from perfkit.files import atomic_path

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "perfkit_report"
FONT_FAMILY = "PerfkitCJK"
BUNDLE = "@jupyter-widgets/html-manager/dist/embed.js"
FETCH_HINT = "run `make assets` (npm ci --no-audit --no-fund) in the perfkit checkout"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

ROLE_LABELS = {"company": "总部", "branch": "营业部", "employee": "员工"}
META_LABELS = {
    "month": "月份",
    "role": "角色",
    "entity": "对象",
    "generated": "生成时间",
    "fingerprint": "数据指纹",
}
FOOTER = "本报告为离线文件，无需网络即可查看；下拉框、选项卡等切换均在浏览器内完成。"

# css-loader's per-module source map: the 4th element of each CSS module's entry.
_CSS_SOURCE_MAP = re.compile(
    r',\{version:3,sources:\[[^\]]*\],names:\[[^\]]*\],mappings:"[^"]*",'
    r'sourcesContent:\[.*?\],sourceRoot:""\}',
    re.S,
)

# References a browser would fetch by itself (links a reader clicks are not counted).
_FETCHING = re.compile(
    r"""(?:\b(?:src|poster|data|action|srcset)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+(?:url\()?["']?\s*(?:https?:)?//)""",
    re.I,
)


# --------------------------------------------------------------------------------------- assets
def node_modules_dir() -> Path:
    """The ``node_modules`` folder holding the pinned front-end assets.

    ``$PERFKIT_NODE_MODULES`` when set, else ``node_modules`` beside the perfkit package's checkout.
    """
    env = os.environ.get("PERFKIT_NODE_MODULES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "node_modules"


def bundle_path() -> Path:
    """Path of ``embed.js``; :class:`RenderError` naming it and ``make assets`` when missing."""
    path = node_modules_dir() / BUNDLE
    if not path.is_file():
        raise RenderError(f"widget bundle {BUNDLE} is missing; {FETCH_HINT}", file=str(path))
    return path


def patch_bundle(js: str, dist: Path) -> str:
    """Make ``embed.js`` safe to inline and offline; behaviour is otherwise unchanged.

    - webpack's automatic publicPath throws when the script has no ``src``: use "./" instead;
    - Font Awesome: the solid face (Accordion carets, check marks) is inlined as a data: URI, the
      other faces and formats become empty data: URIs (never fetched, icons of those styles blank);
    - the default CDN for third-party widget modules is emptied (only core widgets are supported);
    - the source maps of the bundled CSS modules (~310 KB, turned into data: URIs at load) go;
    - the source-map comment is dropped; every remaining literal ``http(s)://`` (the SVG namespace,
      JSON-schema ids, CSS comments, the linkifier's prefix) is written ``http:\\/\\/`` — the same
      string in JavaScript, so the file holds no URL text; ``</script`` and ``<!--`` are escaped
      likewise so the bundle can sit in an inline ``<script>``.
    Raises :class:`RenderError` if the bundle does not look like html-manager 1.0.x.
    """
    throw = 'if(!e)throw new Error("Automatic publicPath is not supported in this browser");'
    if throw not in js:
        raise RenderError(
            "widget bundle has no automatic-publicPath throw to neutralise; "
            "is @jupyter-widgets/html-manager still pinned at 1.0.15?",
            file=str(dist / "embed.js"),
        )
    js = js.replace(throw, 'if(!e)e="./";', 1)

    def font(match: re.Match[str]) -> str:
        name = match.group(1)
        data = dist / name
        if name.endswith(".woff2") and _font_name(data) == "Font Awesome 5 Free Solid":
            encoded = base64.b64encode(data.read_bytes()).decode("ascii")
            return f'e.exports="data:font/woff2;base64,{encoded}"'
        return 'e.exports="data:,"'

    js = re.sub(r'e\.exports=n\.p\+"([0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg))"', font, js)
    js = js.replace('"https://cdn.jsdelivr.net/npm/"', '""')
    js = _CSS_SOURCE_MAP.sub("", js)
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", js)
    js = re.sub(r"(https?)://", r"\1:\\/\\/", js)
    return js.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def _font_name(path: Path) -> str:
    from fontTools.ttLib import TTFont

    try:
        return str(TTFont(str(path), lazy=True)["name"].getDebugName(4))
    except Exception:  # noqa: BLE001 - an unreadable icon font is simply not inlined
        return ""


@lru_cache(maxsize=2)
def _bundle_cached(path: str, mtime: float) -> str:
    started = time.perf_counter()
    js = patch_bundle(Path(path).read_text(encoding="utf-8"), Path(path).parent)
    log.info("patched %s (%d bytes) in %.2fs", path, len(js), time.perf_counter() - started)
    return js


def widget_bundle() -> str:
    """The patched widget manager script (cached per file version)."""
    path = bundle_path()
    return _bundle_cached(str(path), path.stat().st_mtime)


def _lab_css_dir() -> Path:
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("nbconvert", "templates"):
        static = Path(base) / "lab" / "static"
        if (static / "index.css").is_file():
            return static
    raise RenderError("nbconvert's lab template (static/index.css) is not installed")


@lru_cache(maxsize=1)
def report_css() -> str:
    """The page's static CSS: JupyterLab's notebook + light theme CSS, then perfkit's own.

    CSS comments are stripped (they hold URLs and weigh ~15 %); nothing here loads anything.
    """
    static = _lab_css_dir()
    parts = [
        (static / "index.css").read_text(encoding="utf-8"),
        (static / "theme-light.css").read_text(encoding="utf-8"),
        (TEMPLATE_DIR / TEMPLATE_NAME / "perfkit.css").read_text(encoding="utf-8"),
    ]
    css = re.sub(r"/\*.*?\*/", "", "\n".join(parts), flags=re.S)
    return re.sub(r"\n\s*\n+", "\n", css)


# ----------------------------------------------------------------------------------------- font
#: The options of every subset (the base font below is reduced with the same ones).
_LAYOUT_FEATURES = ["kern", "liga", "vert", "locl"]
#: brotli quality of the woff2: 9 compresses a page's subset in ~0.03 s, 11 (fontTools' default) in
#: ~0.8 s for a file ~8 % smaller.
WOFF2_QUALITY = 9
#: Bump when the base font's character set or options change (it is part of the cache key).
BASE_FONT_FORMAT = 1
FONT_CACHE_ENV = "PERFKIT_CACHE"


def _encoding_chars(encoding: str) -> set[int]:
    """Every code point of a double-byte Chinese encoding (GBK: GB2312 and the CJK Unified block)."""
    out = set()
    for hi in range(0x81, 0xFF):
        for lo in range(0x40, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                out.add(ord(bytes((hi, lo)).decode(encoding)))
    return out


@lru_cache(maxsize=1)
def base_codepoints() -> frozenset[int]:
    """What the pre-reduced base font keeps of the CJK font: GBK (every simplified character, the
    traditional ones, GB2312's symbols — what names and texts of a mainland report use), Latin,
    and the punctuation, symbol, arrow, box and shape blocks, CJK punctuation and full-width forms."""
    blocks = [(0x20, 0x250), (0x2000, 0x2C00), (0x3000, 0x3100), (0x3200, 0x3400), (0xFE30, 0xFE50),
              (0xFF00, 0xFFF0)]
    cps = _encoding_chars("gbk")
    for lo, hi in blocks:
        cps.update(range(lo, hi))
    return frozenset(cps)


def _subset_options(*, base: bool) -> Any:
    """Subsetter options. From the full font (``base=False``: hints dropped, subroutines inlined);
    from the base font (``base=True``), which has neither, so both steps are skipped (same result)."""
    from fontTools import subset

    options = subset.Options()
    options.hinting = base
    options.desubroutinize = not base
    options.name_IDs = [1, 2]
    options.layout_features = list(_LAYOUT_FEATURES)
    options.notdef_outline = True
    return options


def font_cache_dir() -> Path | None:
    """Where base fonts are kept: ``$PERFKIT_CACHE/fonts`` when that is set (``off``: nowhere, each
    process builds its own), else ``~/.perfkit-cache/fonts`` (once per machine and user)."""
    env = os.environ.get(FONT_CACHE_ENV, "")
    if env.lower() == "off":
        return None
    return (Path(env) if env else Path.home() / ".perfkit-cache") / "fonts"


def _font_key(path: Path) -> str:
    from fontTools import version as fonttools_version

    st = path.stat()
    text = f"{path.resolve()}|{st.st_mtime_ns}|{st.st_size}|{BASE_FONT_FORMAT}|{fonttools_version}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_base_font(path: Path, codepoints: Iterable[int] | None = None) -> bytes:
    """The CJK font ``path`` reduced to ``codepoints`` (default :func:`base_codepoints`), without
    hints and subroutines, as an uncompressed OpenType file: what a page's subset is cut from."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    started = time.perf_counter()
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    ttf = TTFont(str(path), fontNumber=0, lazy=False)
    keep = set(base_codepoints() if codepoints is None else codepoints) & set(ttf.getBestCmap())
    subsetter = subset.Subsetter(_subset_options(base=False))
    subsetter.populate(unicodes=keep)
    subsetter.subset(ttf)
    buf = io.BytesIO()
    ttf.save(buf)
    log.info("reduced %s to %d characters (%d bytes) in %.1fs", path, len(keep), buf.tell(),
             time.perf_counter() - started)
    return buf.getvalue()


_BASE_FONTS: dict[str, bytes] = {}  # key → base font bytes, kept for the life of the process


def base_font(path: Path) -> bytes:
    """The base font of ``path`` (see :func:`build_base_font`): from this process's memory, else
    from the cache folder (:func:`font_cache_dir`; file ``<font stem>-<key>.otf``, the key covering
    the font file's path, mtime and size), else built once and written there. Concurrent workers
    build it once: the builder holds a lock file, the others wait for it and read the result; the
    file is written to a temporary name and renamed. An unwritable cache folder is not an error (the
    process keeps its own copy)."""
    key = _font_key(path)
    if key in _BASE_FONTS:
        return _BASE_FONTS[key]
    folder = font_cache_dir()
    data = None
    if folder is not None:
        try:
            data = _cached_base_font(folder, path, key)
        except OSError as exc:
            log.warning("font cache %s is not usable (%s); building the base font in memory",
                        folder, exc)
    if data is None:
        data = build_base_font(path)
    _BASE_FONTS[key] = data
    return data


def _cached_base_font(folder: Path, path: Path, key: str) -> bytes:
    import fcntl

    file = folder / f"{path.stem}-{key}.otf"
    try:
        return file.read_bytes()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{file.name}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed (also if this process dies)
        try:
            return file.read_bytes()  # another worker built it while this one waited
        except FileNotFoundError:
            pass
        data = build_base_font(path)
        with atomic_path(file) as tmp:
            tmp.write_bytes(data)
            tmp.chmod(0o644)
        return data


class _Brotli:
    """fontTools' woff2 writer calls ``brotli.compress(data, mode=...)`` at quality 11; this passes
    :data:`WOFF2_QUALITY` instead (swapped in for the duration of one save, under a lock)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def compress(self, data: bytes, **kwargs: Any) -> bytes:
        kwargs.setdefault("quality", WOFF2_QUALITY)
        return self._module.compress(data, **kwargs)


_WOFF2_LOCK = threading.Lock()


def _save_woff2(ttf: Any) -> bytes:
    from fontTools.ttLib import woff2

    buf = io.BytesIO()
    ttf.flavor = "woff2"
    with _WOFF2_LOCK:
        module = woff2.brotli
        woff2.brotli = _Brotli(module) if module is not None else None
        try:
            ttf.save(buf)
        finally:
            woff2.brotli = module
    return buf.getvalue()


def subset_font(chars: Iterable[str], font: Path | None = None) -> bytes:
    """A woff2 subset of the CJK font (see :func:`perfkit.charts.find_cjk_font`) for ``chars``.

    Printable ASCII is always included so Latin text and digits share the same face. Characters the
    font lacks are left out (the browser falls back for them). Needs ``brotli`` for woff2.

    The subset is cut from the font's pre-reduced base (:func:`base_font`) when the base holds every
    character of the page it could hold, else from the whole font; the glyphs, metrics and layout
    features are the same either way. HarfBuzz's subsetter (``uharfbuzz``) cuts it in a few
    milliseconds; without it fontTools' takes ~0.3 s (~3 s from the whole font).
    """
    from perfkit.charts import find_cjk_font

    path = Path(font or find_cjk_font())
    codepoints = {ord(c) for c in chars if ord(c) >= 0x20} | set(range(0x20, 0x7F))
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # its INFO lists every glyph
    in_base = codepoints <= base_codepoints()
    if in_base:
        source: bytes | Path = base_font(path)
    else:
        log.info("page has characters outside the base font; subsetting the whole %s", path)
        source = path
    try:
        otf = _hb_subset(source, codepoints)
        if otf is not None:
            from fontTools.ttLib import TTFont

            return _save_woff2(TTFont(io.BytesIO(otf), lazy=True, recalcBBoxes=False))
        return _fonttools_subset(source, codepoints, base=in_base)
    except ImportError as exc:  # brotli missing
        raise RenderError(f"cannot write woff2 ({exc}); pip install 'brotli>=1.1'") from exc


def _fonttools_subset(source: bytes | Path, codepoints: set[int], *, base: bool) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    if base:
        ttf = TTFont(io.BytesIO(source), lazy=True, recalcBBoxes=False)  # type: ignore[arg-type]
    else:
        ttf = TTFont(str(source), fontNumber=0, lazy=False)
    options = _subset_options(base=base)
    options.flavor = "woff2"
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(ttf)
    return _save_woff2(ttf)


_HB_FACES: dict[Any, Any] = {}


def _hb_subset(source: bytes | Path, codepoints: set[int]) -> bytes | None:
    """The subset as an OpenType file, cut by HarfBuzz with the options of
    :func:`_subset_options` (no hints, no subroutines, name IDs 1 and 2, the same layout features,
    .notdef with its outline); None when ``uharfbuzz`` is not installed."""
    try:
        import uharfbuzz as hb
    except ImportError:
        return None
    if isinstance(source, bytes):
        key: Any = id(source)  # the base font's bytes, kept alive by the entry below
    else:
        st = Path(source).stat()  # the whole font: a replaced file is read again
        key = (str(source), st.st_mtime_ns, st.st_size)
    face = _HB_FACES.get(key)
    if face is None:
        blob = hb.Blob(source) if isinstance(source, bytes) else hb.Blob.from_file_path(str(source))
        face = _HB_FACES[key] = (hb.Face(blob), source)  # the bytes live as long as the face
    inp = hb.SubsetInput()
    inp.unicode_set.update(codepoints)
    inp.flags = (hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.DESUBROUTINIZE
                 | hb.SubsetFlags.NOTDEF_OUTLINE)
    names = inp.sets(hb.SubsetInputSets.NAME_ID)
    names.clear()
    names.update({1, 2})
    features = inp.sets(hb.SubsetInputSets.LAYOUT_FEATURE_TAG)
    features.clear()
    features.update({int.from_bytes(tag.encode("ascii"), "big") for tag in _LAYOUT_FEATURES})
    out = hb.subset(face[0], inp)
    if out is None:
        raise RenderError("HarfBuzz could not subset the CJK font")
    return out.blob.data


def font_face_css(chars: Iterable[str], font: Path | None = None) -> str:
    """An ``@font-face`` rule for :data:`FONT_FAMILY` with the subset inlined as a data: URI."""
    data = base64.b64encode(subset_font(chars, font)).decode("ascii")
    return (
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-style: normal; font-weight: 400; '
        f'font-display: block; src: url(data:font/woff2;base64,{data}) format("woff2"); }}'
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def page_characters(nb: Any, extra: Iterable[str] = ()) -> set[str]:
    """Every character a reader can see: outputs, markdown, widget state and ``extra`` text.

    stderr streams are skipped (the export drops them).
    Strings are also HTML-unescaped, so characters written as entities are covered too.
    """
    texts: list[str] = list(extra)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.extend(_strings(output.get("data", {})))
            if output.get("output_type") == "stream" and output.get("name") != "stderr":
                texts.append(output.get("text", ""))
    texts.extend(_strings(nb.metadata.get("widgets", {})))
    chars: set[str] = set()
    for text in texts:
        chars.update(text)
        if "&" in text:
            chars.update(unescape(text))
    return {c for c in chars if c.isprintable()}


# --------------------------------------------------------------------------------------- export
def _safe_json(value: Any) -> str:
    """JSON for a ``<script type=...json>`` block: no ``<``, ``>``, ``&`` can end or open a tag."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_svg(svg: str) -> str:
    from perfkit.charts import _SVG_PROLOG, _SVG_XMLNS

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
    return [m.group(0) for m in _FETCHING.finditer(html_text)]


_LOCAL = threading.local()


def _exporter() -> Any:
    """This thread's configured ``HTMLExporter`` (built once: a new one per report recompiles the
    templates, ~0.1 s; one per thread because Dask runs jobs in threads)."""
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name=TEMPLATE_NAME,
            extra_template_basedirs=[str(TEMPLATE_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        exporter.register_filter("perfkit_json", _safe_json)
        exporter.register_filter("perfkit_inline_svg", _inline_svg)
        _LOCAL.exporter = exporter
    return exporter


def _check_assets(widgets: bool) -> None:
    """The static CSS and (``widgets``) the widget bundle hold no reference a browser would fetch
    (checked once per process and file version: they are the same in every report)."""
    _check_static(report_css(), "report CSS")
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
    import nbformat

    started = time.perf_counter()
    src, out = Path(notebook_path), Path(out_path)
    if assets not in ("inline", "shared"):
        raise RenderError(f"assets must be 'inline' or 'shared', not {assets!r}")
    try:
        nb = nbformat.read(src, as_version=4)
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

    chars = page_characters(nb, [title, FOOTER, *(t for pair in meta_items for t in pair)])
    font_css = font_face_css(chars)
    script = ""
    if assets == "inline":
        head = f"<style>\n{font_css}\n{report_css()}\n</style>"
        if has_widgets:
            script = f"<script>\n{widget_bundle()}\n</script>"
    else:
        shared = Path(assets_dir) if assets_dir is not None else out.parent / "_assets"
        css_href = _relative(_write_asset(shared, "report", ".css", report_css()), out.parent)
        head = f'<style>\n{font_css}\n</style>\n<link rel="stylesheet" href="{escape(css_href)}">'
        if has_widgets:
            js = _write_asset(shared, "widgets", ".js", widget_bundle())
            script = f'<script src="{escape(_relative(js, out.parent))}"></script>'

    # The page is rendered with markers where the head and the script go: the network check then
    # reads only the notebook's own part; the fixed assets were checked once (_check_assets) and
    # the font is a data: URI built here.
    _check_assets(has_widgets)
    token = uuid.uuid4().hex
    marks = {"head": f"<!--perfkit-head-{token}-->", "script": f"<!--perfkit-script-{token}-->"}
    resources = {
        "perfkit": {
            "title": title,
            "meta": meta_items,
            **marks,
            "footer": FOOTER,
        }
    }
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
        raise RenderError("the report template lost its head or script marker", file=str(src))
    body = page.replace(marks["head"], head, 1).replace(marks["script"], script, 1)
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
