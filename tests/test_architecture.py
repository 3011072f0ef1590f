"""The package's architecture, read from the source with :mod:`ast` (nothing is imported):

- every module belongs to a layer, and imports point down the layers only (a module may import its
  own layer and the layers below it, never a higher one);
- the import graph has no cycle, inside a layer either;
- no module is longer than about 500 lines, and each opens with a docstring saying what it owns.

Every import counts, also one inside a function (a lazy import is still a dependency), and so do
``importlib.import_module("perfkit.…")`` calls and ``"perfkit.module:attribute"`` entry strings.
docs/architecture.md describes the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perfkit"

#: Bottom to top. ``shared`` holds the tiny helpers every layer may use; ``api`` is the package's
#: front door (``perfkit/__init__.py``), which may import anything and which no module imports.
LAYERS = ("shared", "data", "metrics", "appraisal", "month", "report", "batch", "delivery",
          "project", "cli", "api")
SHARED = {"perfkit.errors", "perfkit.files", "perfkit.formatting", "perfkit.digest",
          "perfkit.projectfile", "perfkit.version", "perfkit.sheets"}
API = {"perfkit", "perfkit._compat"}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    if module in API:
        return "api"
    if module in SHARED:
        return "shared"
    top = module.split(".")[1]
    if top in LAYERS:
        return top
    raise AssertionError(f"{module} belongs to no layer: put it in a layer's subpackage, or list "
                         "it as a shared helper in tests/test_architecture.py and "
                         "docs/architecture.md")


def _target(name: str, known: dict[str, Path]) -> str:
    """The module a dotted name refers to: itself when it is a module, else its nearest parent
    that is one (``perfkit.metrics.catalog.Catalog`` → ``perfkit.metrics.catalog``)."""
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every perfkit module ``name`` imports (at any depth of its code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, *([base] if base else [])])
            targets = [f"{base}.{a.name}" for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            targets = [str(node.args[0].value)]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith("perfkit.") and ":" in node.value
              and " " not in node.value):
            targets = [node.value.split(":", 1)[0]]
        for t in targets:
            if t == "perfkit" or t.startswith("perfkit."):
                target = _target(t, known)
                if target != name:
                    found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each as a path
    a → b → … → a through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(_path_through(sorted(comp), edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path_through(comp: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A cycle a → … → a inside one component (breadth-first from its first module)."""
    members = set(comp)
    start = comp[0]
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [*comp, comp[0]]  # pragma: no cover - a component always has a cycle


def test_every_module_belongs_to_a_layer():
    for name in modules():
        assert layer_of(name) in LAYERS


def test_imports_point_down_the_layers():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = []
    for name, targets in graph().items():
        for t in sorted(targets):
            if t in API and name not in API:
                upward.append(f"{name} imports the package front door {t} (import the module "
                              "that owns the name instead)")
            elif rank[layer_of(t)] > rank[layer_of(name)]:
                upward.append(f"{name} ({layer_of(name)}) imports {t} ({layer_of(t)})")
    assert upward == [], "imports from a lower layer into a higher one:\n" + "\n".join(upward)


def test_no_import_cycles():
    found = [" → ".join(c) for c in cycles(graph())]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_modules_fit_in_one_sitting():
    long = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in modules().items()}
    assert {n: k for n, k in long.items() if k > MAX_LINES} == {}


def test_every_module_says_what_it_owns():
    bare = [n for n, p in modules().items()
            if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert bare == []


# ── the checker itself: it finds what it is meant to find ──────────────────────────────────────


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_checker_finds_cycles_lazy_imports_and_entry_strings(tmp_path, monkeypatch):
    pkg = tmp_path / "perfkit"
    _write(pkg, {
        "__init__.py": '"""api"""\n',
        "errors.py": '"""e"""\n',
        "data/__init__.py": '"""d"""\n',
        "data/a.py": '"""a"""\nfrom perfkit.data import b\n',
        "data/b.py": '"""b"""\ndef f():\n    from perfkit.data.a import x\n',
        "metrics/__init__.py": '"""m"""\n',
        "metrics/m.py": '"""m"""\nfrom perfkit.report.view import V\n',
        "report/__init__.py": '"""r"""\n',
        "report/view.py": '"""v"""\nfrom perfkit import errors\n'
                          'from importlib import import_module\nimport_module("perfkit.metrics.m")\n',
        "batch/__init__.py": '"""b"""\n',
        "batch/ex.py": '"""x"""\nREGISTRY = {"html": "perfkit.report.view:export"}\n',
    })
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    edges = graph()
    assert edges["perfkit.data.b"] == {"perfkit.data.a"}           # a lazy import counts
    assert edges["perfkit.data.a"] == {"perfkit.data.b"}           # `from package import module`
    assert edges["perfkit.report.view"] == {"perfkit.errors", "perfkit.metrics.m"}
    assert edges["perfkit.batch.ex"] == {"perfkit.report.view"}    # an entry string counts
    assert sorted(" → ".join(c) for c in cycles(edges)) == [
        "perfkit.data.a → perfkit.data.b → perfkit.data.a",
        "perfkit.metrics.m → perfkit.report.view → perfkit.metrics.m",
    ]
    with pytest.raises(AssertionError, match=r"perfkit.metrics.m \(metrics\) imports "
                                             r"perfkit.report.view \(report\)"):
        test_imports_point_down_the_layers()
