"""What a rendered report page holds, for the tests that read its text.

A self-contained page keeps its widget state gzip-compressed and base64-encoded (with the widget
manager and JupyterLab's CSS) in ``<script type="application/x-perfkit-gzip">`` blocks, unpacked by
the browser. :func:`unpack` puts the widget state back as the plain JSON block a page with shared
assets has, and drops the packed widget manager and CSS, so a test reads both kinds of page alike.
"""

from __future__ import annotations

import base64
import gzip
import re

PACKED = re.compile(r'<script type="application/x-perfkit-gzip" data-perfkit="(\w+)">'
                    r"([A-Za-z0-9+/=]+)</script>")


def unpack(html: str) -> str:
    """``html`` with its packed widget state inflated into a widget-state JSON block."""

    def block(m: re.Match[str]) -> str:
        if m.group(1) != "state":
            return ""
        state = gzip.decompress(base64.b64decode(m.group(2))).decode("utf-8")
        return f'<script type="application/vnd.jupyter.widget-state+json">{state}</script>'

    return PACKED.sub(block, html)
