"""Playwright helpers for the HTML report tests: Debian's Chromium, no network, no CJK font.

Every request that is not ``file:`` or ``data:`` is aborted and recorded. Chromium can be started with
a generated fontconfig that knows only DejaVu, so Chinese renders only through the report's embedded
font. Missing prerequisites skip a test with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("PERFKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
LATIN_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)


def require(condition: Any, reason: str) -> None:
    """Skip (or, under ``CI=true``, fail) the calling test when ``condition`` is false."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a test prerequisite is missing: {reason}")
    pytest.skip(reason)


def require_browser() -> None:
    """Playwright (pip) and Debian's Chromium must be installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright is not installed (pip install 'playwright>=1.45')")
    require(CHROMIUM.is_file(), f"{CHROMIUM} is missing (apt-get install chromium)")


def no_cjk_fontconfig(directory: Path) -> Path:
    """Write a fonts.conf that knows only Latin fonts (no CJK) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    dirs = "".join(f"<dir>{d}</dir>" for d in LATIN_FONT_DIRS if Path(d).is_dir())
    conf = directory / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig>{dirs}<cachedir>{directory / 'cache'}</cachedir>"
        "<config></config></fontconfig>\n",
        encoding="utf-8",
    )
    return conf


@dataclass
class Session:
    """A page plus what it did: uncaught errors, blocked requests and console errors."""

    page: Any
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def open(self, path: Path, ready: str = ".jupyter-widgets .widget-subarea") -> float:
        """Load ``path`` and wait for ``ready``; return ms from navigation start to ready."""
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_selector(ready, timeout=15_000)
        return float(self.page.evaluate("performance.now()"))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / name
        self.page.screenshot(path=str(out), full_page=True)
        return out


@contextlib.contextmanager
def browser(tmp: Path, *, cjk_fonts: bool = False) -> Iterator[Session]:
    """A Chromium page with every non-file:/data: request aborted; no CJK font unless asked."""
    require_browser()
    from playwright.sync_api import sync_playwright

    env = dict(os.environ)
    if not cjk_fonts:
        env["FONTCONFIG_FILE"] = str(no_cjk_fontconfig(tmp / "fontconfig"))
    env["HOME"] = str(tmp / "home")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env, headless=True
        )
        try:
            page = chromium.new_page(viewport={"width": 1100, "height": 900})
            session = Session(page)
            page.on("pageerror", lambda exc: session.errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: session.console.append(msg.text) if msg.type == "error" else None,
            )

            def route(r: Any) -> None:
                url = r.request.url
                if url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    session.blocked.append(url)
                    r.abort()

            page.route("**/*", route)
            yield session
        finally:
            chromium.close()


def has_chromium() -> bool:
    return CHROMIUM.is_file() or shutil.which("chromium") is not None
