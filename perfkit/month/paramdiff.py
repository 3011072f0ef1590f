"""Which parameter values differ between two parameters folders, by file and field — the "what
changed" of a what-if comparison, readable by the analyst who changed it.

YAML files are compared value by value at their leaves: mappings by key; lists of mappings entry
by entry, each named by its ``id`` (indicators, task rules), else its ``label`` (grade bands), else
its ``name``, else its position; other lists as one value.
Other files (``measures/*.sql``) are compared by content. ``run.yaml``, ``delivery.yaml`` and
``import.yaml`` do not change a figure and are left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.files import read_yaml

NOT_FIGURES = {"run.yaml", "delivery.yaml", "import.yaml"}
ABSENT = "（无）"
_ENTRY_KEYS = ("id", "label", "name")  # what names a list entry, in this order; else its position


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, list) and node and all(isinstance(e, dict) for e in node):
        key = next((k for k in _ENTRY_KEYS if all(k in e for e in node)
                    and len({str(e[k]) for e in node}) == len(node)), None)
        for i, entry in enumerate(node):
            name = entry[key] if key else i
            rest = {k: v for k, v in entry.items() if k != key}
            out.update(_leaves(rest, f"{prefix}[{name}]"))
            if not rest:
                out[f"{prefix}[{name}]"] = name
    else:
        out[prefix] = node
    return out


def _shown(value: Any) -> str:
    if value is ABSENT:
        return ABSENT
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value) if not isinstance(value, list) else ", ".join(map(str, value))
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "…"


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name not in NOT_FIGURES
            and p.suffix in (".yaml", ".yml", ".sql")}


def param_differences(base: str | Path, new: str | Path) -> pd.DataFrame:
    """Rows ``file, field, base, new`` (values as text; ``（无）`` where a side lacks the field or
    file), in file order."""
    b, n = _files(Path(base)), _files(Path(new))
    rows: list[dict[str, str]] = []
    for name in sorted(set(b) | set(n)):
        if name not in b or name not in n:
            rows.append({"file": name, "field": "", "base": "文件" if name in b else ABSENT,
                         "new": "文件" if name in n else ABSENT})
            continue
        if b[name].suffix == ".sql":
            if b[name].read_bytes() != n[name].read_bytes():
                rows.append({"file": name, "field": "", "base": "（原 SQL）", "new": "（已修改）"})
            continue
        lb = _leaves(read_yaml(b[name], expect=None))
        ln = _leaves(read_yaml(n[name], expect=None))
        for key in dict.fromkeys([*lb, *ln]):
            vb, vn = lb.get(key, ABSENT), ln.get(key, ABSENT)
            if vb != vn:
                rows.append({"file": name, "field": key, "base": _shown(vb), "new": _shown(vn)})
    return pd.DataFrame(rows, columns=["file", "field", "base", "new"])


__all__ = ["param_differences"]
