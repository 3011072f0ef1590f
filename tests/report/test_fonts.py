"""perfkit.report.fonts: the page font: cut from a pre-reduced base font cached on disk (keyed by the font
file's path, mtime and size; built once under a lock, written atomically), with the same glyphs,
metrics and layout features as a subset of the whole font, and the whole font for a page whose
characters the base lacks.

The base's character set is shrunk here (``base_codepoints``) so that building it takes a second,
not the half minute the real GBK base takes once per machine.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from browser_support import require

from perfkit.errors import RenderError
from perfkit.report import fonts

PAGE = "员工绩效综合评分张伟王芳客户经理，。：（）《》“”—…①★−×≥"
OUTSIDE = "喆"  # in the font, not in this test's base set
SMALL_BASE = frozenset(ord(c) for c in PAGE + "营业部上海北京深圳") | frozenset(range(0x20, 0x7F))


@pytest.fixture()
def font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from perfkit.report.charts import find_cjk_font

    try:
        real = find_cjk_font()
    except RenderError as exc:
        require(False, str(exc))
    copy = tmp_path / "fonts" / f"Test{real.suffix}"
    copy.parent.mkdir()
    shutil.copy(real, copy)
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fonts, "base_codepoints", lambda: SMALL_BASE)
    monkeypatch.setattr(fonts, "_BASE_FONTS", {})
    return copy


def _glyphs(woff2: bytes) -> dict:
    """Per code point: outline, horizontal and vertical metrics; plus vertical alternates."""
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont

    f = TTFont(io.BytesIO(woff2))
    cmap, gs = f.getBestCmap(), f.getGlyphSet()

    def outline(glyph: str) -> list:
        pen = RecordingPen()
        gs[glyph].draw(pen)
        return pen.value

    out: dict = {cp: (outline(g), f["hmtx"][g], f["vmtx"][g]) for cp, g in cmap.items()}
    back = {g: cp for cp, g in cmap.items()}
    for lookup in f["GSUB"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            for a, b in (getattr(sub, "mapping", None) or {}).items():
                if a in back:
                    out[("alt", back[a])] = outline(b)
    out["features"] = sorted({r.FeatureTag for r in f["GSUB"].table.FeatureList.FeatureRecord})
    out["hhea"] = (f["hhea"].ascent, f["hhea"].descent, f["OS/2"].sTypoAscender)
    return out


def test_subset_from_cached_base_equals_whole_font_subset(font: Path, monkeypatch) -> None:
    fast = fonts.subset_font(PAGE, font)
    files = list((fonts.font_cache_dir()).glob("Test-*.otf"))
    assert len(files) == 1 and files[0].stat().st_size > 0
    assert not list(fonts.font_cache_dir().glob(".*.tmp*"))  # written under a temporary name
    monkeypatch.setattr(fonts, "base_codepoints", lambda: frozenset())  # force the whole font
    whole = fonts.subset_font(PAGE, font)
    a, b = _glyphs(fast), _glyphs(whole)
    assert a == b
    assert {ord(c) for c in PAGE} <= set(a)
    assert ("alt", ord("（")) in a  # vertical forms kept through the base


@pytest.mark.parametrize("extra", ["", OUTSIDE], ids=["base", "whole font"])
def test_harfbuzz_cuts_the_same_subset_as_fonttools(font: Path, monkeypatch, extra: str) -> None:
    """HarfBuzz's subsetter (uharfbuzz, a dependency: milliseconds) and fontTools' (the fallback
    without it: ~0.3 s a page) give the same glyphs, metrics and layout features."""
    import uharfbuzz  # noqa: F401 - the fast path must be installed

    cut: list[bytes | None] = []
    real = fonts._hb_subset
    fonts.base_font(font)  # the base font is reduced by HarfBuzz too: not the page's cut

    def spy(*args, **kw):
        cut.append(real(*args, **kw))
        return cut[-1]

    monkeypatch.setattr(fonts, "_hb_subset", spy)
    fast = fonts.subset_font(PAGE + extra, font)
    assert len(cut) == 1 and cut[0]  # cut by HarfBuzz
    monkeypatch.setattr(fonts, "_hb_subset", lambda *a, **k: None)  # as without uharfbuzz
    slow = fonts.subset_font(PAGE + extra, font)
    assert _glyphs(fast) == _glyphs(slow)
    assert {ord(c) for c in PAGE + extra} <= set(_glyphs(fast))


def test_base_font_is_read_from_disk_then_memory_and_rebuilt_when_the_font_changes(font, monkeypatch):
    fonts.subset_font(PAGE, font)
    calls = []
    real_build = fonts.build_base_font
    monkeypatch.setattr(fonts, "build_base_font", lambda *a, **k: calls.append(a) or real_build(*a, **k))
    monkeypatch.setattr(fonts, "_BASE_FONTS", {})  # a new process: reads the file, builds nothing
    fonts.subset_font(PAGE, font)
    assert calls == []
    (file,) = fonts.font_cache_dir().glob("Test-*.otf")
    file.unlink()  # kept in this process's memory now
    fonts.subset_font(PAGE, font)
    assert calls == [] and not file.exists()
    later = time.time() + 5  # the font file changes: a new key, a new base
    os.utime(font, (later, later))
    fonts.subset_font(PAGE, font)
    assert len(calls) == 1
    assert len(list(fonts.font_cache_dir().glob("Test-*.otf"))) == 1


def test_page_with_a_character_outside_the_base_uses_the_whole_font(font, monkeypatch) -> None:
    fonts.subset_font(PAGE, font)  # base built

    def no_base(path):
        raise AssertionError("the base font must not be used for this page")

    monkeypatch.setattr(fonts, "base_font", no_base)
    data = fonts.subset_font(PAGE + OUTSIDE, font)
    assert ord(OUTSIDE) in _glyphs(data)


def test_concurrent_builders_build_once(font, monkeypatch) -> None:
    calls = []
    real_build = fonts.build_base_font

    def slow_build(*a, **k):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # the other worker arrives while this one builds
        return real_build(*a, **k)

    monkeypatch.setattr(fonts, "build_base_font", slow_build)
    results: list[bytes] = []

    def worker() -> None:  # each its own process memory: only the disk cache is shared
        key = fonts._font_key(font)
        results.append(fonts._cached_base_font(fonts.font_cache_dir(), font, key))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 3 and len(set(results)) == 1


def test_cache_off_or_unwritable_builds_in_memory(font, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PERFKIT_CACHE", "off")
    assert fonts.font_cache_dir() is None
    fonts.subset_font(PAGE, font)
    assert len(fonts._BASE_FONTS) == 1 and not (tmp_path / "cache").exists()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder", encoding="utf-8")
    monkeypatch.setenv("PERFKIT_CACHE", str(blocked))
    monkeypatch.setattr(fonts, "_BASE_FONTS", {})
    assert ord("张") in _glyphs(fonts.subset_font(PAGE, font))
