"""Exporters: executed notebook → one HTML file. A small registry, so the batch can run before (or
without) the offline template of :mod:`perfkit.report.export`.

An exporter is ``exporter(notebook_path, out_path, *, title, meta, assets, assets_dir) -> Path`` and
must be picklable (a module-level function) to run in worker processes or on a Dask cluster.
"""

from __future__ import annotations

import html
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfkit.errors import RenderError
from perfkit.files import atomic_path

Exporter = Callable[..., Any]
LABELS = {"month": "月份", "role": "角色", "entity": "对象", "fingerprint": "数据指纹"}

_EXPORTERS: dict[str, str] = {
    "perfkit": "perfkit.report.export:export",
    "plain": "perfkit.batch.export:plain_export",
}


def register(name: str, target: str) -> None:
    """Register an exporter under ``name``; ``target`` is ``"module:function"`` (imported lazily)."""
    _EXPORTERS[name] = target


def get_exporter(spec: str | Exporter | None) -> Exporter:
    """Resolve ``spec``: ``None`` → ``perfkit`` (:func:`perfkit.report.export.export`), a registered name, a
    ``"module:function"`` string, or a callable (returned as is).

    Raises :class:`RenderError` naming the unknown exporter and the known ones.
    """
    if callable(spec):
        return spec
    target = _EXPORTERS.get(spec or "perfkit", spec or "")
    if ":" not in target:
        raise RenderError(f"unknown exporter {spec!r}; known: {', '.join(sorted(_EXPORTERS))} "
                          "or 'module:function'")
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise RenderError(f"exporter {spec or 'perfkit'!r} ({target}) is not available: {exc}") from None


def plain_export(
    notebook_path: str | Path,
    out_path: str | Path,
    *,
    title: str,
    meta: dict[str, str],
    assets: str = "inline",
    assets_dir: str | Path | None = None,
) -> Path:
    """A minimal self-contained HTML page: title, meta table and the text/HTML outputs of every code
    cell (no code, no widgets, no external references). For tests and as a fallback; the real
    reports use :func:`perfkit.report.export.export`."""
    nb = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title></head><body>",
        f"<h1>{html.escape(title)}</h1><table>",
        *(f"<tr><th>{html.escape(LABELS.get(k, k))}</th><td>{html.escape(str(v))}</td></tr>"
          for k, v in meta.items()),
        "</table>",
    ]
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(f"<pre>{html.escape(''.join(out.get('text', '')))}</pre>")
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(f"<pre>{html.escape(''.join(out['data']['text/plain']))}</pre>")
    parts.append("</body></html>\n")
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        tmp.write_text("".join(parts), encoding="utf-8")
    return out_path
