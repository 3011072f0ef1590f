"""How a project's parameters differ from the defaults of the installed perfkit, per file and field —
what ``perfkit check`` lists after an upgrade, so a newer perfkit never silently ignores or
overrides a firm's customisation.

Files are compared by their fields, not their values (values are the firm's to choose): a field the
defaults have and the project lacks is new in this perfkit (it takes the default value); a field the
project has and the defaults lack is one perfkit no longer reads, or the firm's own. Entries of a
list that carry an ``id`` (indicators, task rules, scorecard indicators) are matched by id;
other lists by the union of their entries' fields. Measure files (``measures/*.sql``) and the
other files are compared by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from perfkit.projectfile import installed_defaults

NEW = "new"          # in the defaults, not in the project
UNREAD = "unread"    # in the project, not in the defaults


@dataclass(frozen=True)
class Difference:
    """One difference between a project's parameters file and the installed default."""

    file: str
    field: str | None  # dotted path (``families.potential.weight``); None: the whole file
    kind: str          # NEW or UNREAD

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        if self.kind == NEW:
            what = ("in the installed defaults, not in this project" if self.field is None else
                    "in the installed defaults, not set here (perfkit uses its default)")
        else:
            what = ("not in the installed defaults (the firm's own file)" if self.field is None
                    else "not in the installed defaults (no longer read, or the firm's own)")
        return f"{where}: {what}"


def _fields(node: Any, prefix: str = "") -> dict[str, Any]:
    """Every field path of a parsed YAML document → its value."""
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out[path] = value
            out.update(_fields(value, path))
    elif isinstance(node, list) and node and all(isinstance(e, dict) for e in node):
        if all("id" in e for e in node):
            for entry in node:
                out[f"{prefix}[{entry['id']}]"] = entry
                out.update(_fields(entry, f"{prefix}[{entry['id']}]"))
        else:
            for entry in node:
                out.update(_fields(entry, f"{prefix}[]"))
    return out


def _parent_present(path: str, present: dict[str, Any]) -> bool:
    """Whether the entry or mapping ``path`` sits in exists on that side (a missing indicator is
    one difference, not one per field)."""
    cut = max(path.rfind("."), path.rfind("["))
    if cut <= 0:
        return True
    parent = path[:cut]
    return (parent[:-2] if parent.endswith("[]") else parent) in present


def _compare(name: str, project: Any, default: Any) -> list[Difference]:
    mine, theirs = _fields(project), _fields(default)
    diffs = [Difference(name, f, NEW) for f in theirs if f not in mine and _parent_present(f, mine)]
    diffs += [Difference(name, f, UNREAD) for f in mine
              if f not in theirs and _parent_present(f, theirs)]
    return diffs


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.suffix in (".yaml", ".yml", ".sql")}


def differences(params: str | Path, defaults: str | Path | None = None) -> list[Difference]:
    """How the parameters folder ``params`` differs from ``defaults`` (default: the installed
    perfkit's ``parameters/``), file by file. Unreadable YAML is left to the validators."""
    params = Path(params)
    defaults = Path(defaults) if defaults is not None else installed_defaults() / "parameters"
    if params.resolve() == defaults.resolve():
        return []
    mine, theirs = _files(params), _files(defaults)
    diffs = [Difference(f, None, NEW) for f in sorted(theirs - mine)]
    diffs += [Difference(f, None, UNREAD) for f in sorted(mine - theirs)]
    for name in sorted(mine & theirs):
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            project = yaml.safe_load((params / name).read_text(encoding="utf-8"))
            default = yaml.safe_load((defaults / name).read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        diffs += _compare(name, project, default)
    return diffs
