"""The page's font: a subset of a CJK font holding exactly the characters the page shows, embedded
as a woff2 ``@font-face``, so a reader needs no CJK font of his own.

The subset is cut by HarfBuzz's subsetter (fontTools is the fallback) from a *base font*: the CJK
font pre-reduced once (by HarfBuzz too, in about a second) to what a mainland report uses (GBK, Latin, punctuation, symbols;
:func:`base_codepoints`), cached on disk per font file and fontTools version
(:func:`font_cache_dir`) and in memory per process.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Iterable
from functools import lru_cache
from html import unescape
from pathlib import Path
from typing import Any

from perfkit.errors import RenderError
from perfkit.files import atomic_path
from perfkit.report.charts import find_cjk_font

log = logging.getLogger(__name__)


FONT_FAMILY = "PerfkitCJK"


#: The options of every subset (the base font below is reduced with the same ones).
_LAYOUT_FEATURES = ["kern", "liga", "vert", "locl"]


#: brotli quality of the woff2: 5 compresses a page's subset (~1,000 characters) in ~5 ms, 9 in
#: ~40 ms for a file 2 % smaller, 11 (fontTools' default) in ~0.8 s for 10 % smaller.
WOFF2_QUALITY = 5


#: Bump when the base font's character set or options change (it is part of the cache key).
BASE_FONT_FORMAT = 2  # 2: reduced by HarfBuzz when it is installed


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
    wanted = set(base_codepoints() if codepoints is None else codepoints)
    otf = _hb_subset(path, wanted, cache=False)  # HarfBuzz: ~1 s; fontTools below: ~70 s
    if otf is not None:
        log.info("reduced %s with HarfBuzz (%d bytes) in %.1fs", path, len(otf),
                 time.perf_counter() - started)
        return otf
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    ttf = TTFont(str(path), fontNumber=0, lazy=False)
    keep = wanted & set(ttf.getBestCmap())
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
    """A woff2 subset of the CJK font (see :func:`perfkit.report.charts.find_cjk_font`) for ``chars``.

    Printable ASCII is always included so Latin text and digits share the same face. Characters the
    font lacks are left out (the browser falls back for them). Needs ``brotli`` for woff2.

    The subset is cut from the font's pre-reduced base (:func:`base_font`) when the base holds every
    character of the page it could hold, else from the whole font; the glyphs, metrics and layout
    features are the same either way. HarfBuzz's subsetter (``uharfbuzz``) cuts it in a few
    milliseconds; without it fontTools' takes ~0.3 s (~3 s from the whole font).
    """
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


def _hb_subset(source: bytes | Path, codepoints: set[int], *, cache: bool = True) -> bytes | None:
    """The subset as an OpenType file, cut by HarfBuzz with the options of
    :func:`_subset_options` (no hints, no subroutines, name IDs 1 and 2, the same layout features,
    .notdef with its outline); None when ``uharfbuzz`` is not installed. ``cache``: keep the
    source's parsed face for the next call (the base font's; not the whole font's, used once)."""
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
        face = (hb.Face(blob), source)  # the bytes live as long as the face
        if cache:
            _HB_FACES[key] = face
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


def page_characters(nb: Any, extra: Iterable[str] = ()) -> set[str]:
    """Every character a reader can see: outputs, markdown, widget state and ``extra`` text.

    stderr streams are skipped (the export drops them).
    Strings are also HTML-unescaped, so characters written as entities are covered too. Outputs
    and the widget state are read as their JSON text (every string's characters, plus JSON's own
    ASCII punctuation, which the subset holds anyway): far faster than walking them.
    """
    import json

    texts: list[str] = list(extra)
    data = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        for output in cell.get("outputs", []):
            data.append(output.get("data", {}))
            if output.get("output_type") == "stream" and output.get("name") != "stderr":
                texts.append(output.get("text", ""))
    data.append(nb.metadata.get("widgets", {}))
    texts.append(json.dumps(data, ensure_ascii=False))
    chars: set[str] = set()
    for text in texts:
        chars.update(text)
        if "&" in text:
            chars.update(unescape(text))
    return {c for c in chars if c.isprintable()}
