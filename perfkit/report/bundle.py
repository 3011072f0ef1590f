"""The page's fixed assets: the widget manager and the static CSS, made safe to inline offline.

The widget manager ``@jupyter-widgets/html-manager`` ``dist/embed.js`` (pinned in
package-lock.json, fetched by ``make assets``; a wheel carries it patched, :mod:`perfkit.report.wheel`)
is patched so it runs inlined and never touches the
network (:func:`patch_bundle`); :func:`report_css` is JupyterLab's notebook and light-theme CSS
plus perfkit's own, without comments; :func:`page_script` reads perfkit's own page scripts. All are
the same in every report, read once per process.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from functools import lru_cache
from pathlib import Path

from perfkit.errors import RenderError

log = logging.getLogger(__name__)


TEMPLATE_DIR = Path(__file__).parent / "templates"


TEMPLATE_NAME = "perfkit_report"


BUNDLE = "@jupyter-widgets/html-manager/dist/embed.js"


FETCH_HINT = ("run `make assets` (npm ci --no-audit --no-fund) in the perfkit checkout; an "
              "installed perfkit wheel carries it in perfkit/report/assets/")


# css-loader's per-module source map: the 4th element of each CSS module's entry.
_CSS_SOURCE_MAP = re.compile(
    r',\{version:3,sources:\[[^\]]*\],names:\[[^\]]*\],mappings:"[^"]*",'
    r'sourcesContent:\[.*?\],sourceRoot:""\}',
    re.S,
)


#: Where a wheel carries the bundle, already patched (:mod:`perfkit.report.wheel`).
PACKAGED = Path(__file__).parent / "assets" / "embed.js"


def node_modules_dir() -> Path:
    """The ``node_modules`` folder holding the pinned front-end assets.

    ``$PERFKIT_NODE_MODULES`` when set, else ``node_modules`` beside the perfkit package's checkout.
    """
    env = os.environ.get("PERFKIT_NODE_MODULES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "node_modules"


def bundle_path() -> Path:
    """Path of ``embed.js``: ``$PERFKIT_NODE_MODULES``'s when set, else the one an installed wheel
    carries, else the checkout's ``node_modules``; :class:`RenderError` naming it when missing."""
    if PACKAGED.is_file() and not os.environ.get("PERFKIT_NODE_MODULES"):
        return PACKAGED
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
    if Path(path) == PACKAGED:
        return PACKAGED.read_text(encoding="utf-8")  # patched when the wheel was built
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


def _strip_css(css: str) -> str:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return re.sub(r"\n\s*\n+", "\n", css)


@lru_cache(maxsize=1)
def lab_css() -> str:
    """JupyterLab's notebook and light-theme CSS (nbconvert's lab template), without comments (they
    hold URLs and weigh ~15 %); nothing here loads anything."""
    static = _lab_css_dir()
    parts = [(static / "index.css").read_text(encoding="utf-8"),
             (static / "theme-light.css").read_text(encoding="utf-8")]
    return _strip_css("\n".join(parts))


@lru_cache(maxsize=1)
def perfkit_css() -> str:
    """perfkit's own CSS (``templates/perfkit_report/perfkit.css``), which overrides the lab CSS."""
    return _strip_css((TEMPLATE_DIR / TEMPLATE_NAME / "perfkit.css").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def report_css() -> str:
    """The page's static CSS: :func:`lab_css`, then :func:`perfkit_css` (one string per process:
    every export passes the same object on)."""
    return lab_css() + "\n" + perfkit_css()


@lru_cache(maxsize=4)
def page_script(name: str) -> str:
    """One of perfkit's own page scripts in ``templates/perfkit_report`` (``perfkit.js``: data
    views, filter and sort; ``loader.js``: unpacks a self-contained page), safe to inline."""
    js = (TEMPLATE_DIR / TEMPLATE_NAME / name).read_text(encoding="utf-8")
    if "</script" in js.lower() or "<!--" in js:
        raise RenderError(f"page script {name} cannot be inlined", file=name)
    return js
