"""The repository's contracts: environment.yml mirrors pyproject.toml, notebooks carry no outputs,
the layout fixed by the design card exists."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge package names that differ from PyPI's
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req)
    assert m, req
    name = re.sub(r"\[.*\]", "", m.group(1)).lower().replace("_", "-")
    return name, m.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):  # the pip: section
            out.update(_split(r) for r in dep.get("pip", []))
        else:
            name, spec = _split(dep)
            if name in {"python", "pip", "nodejs"}:
                continue
            out[name] = spec
    return out


def test_environment_yml_mirrors_pyproject():
    py = {CONDA_NAMES.get(k, k): v for k, v in _pyproject_requirements().items()}
    env = _environment_requirements()
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml, missing from environment.yml"
    assert sorted(set(env) - set(py)) == [], "in environment.yml, missing from pyproject.toml"
    assert {k: env[k] for k in py} == py, "version ranges differ"


def test_environment_python_matches_requires_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons and pythons[0].replace(" ", "") == "python" + project["requires-python"]


def test_layout_fixed_by_design_card():
    for name in ["notebooks", "perfkit", "parameters", "output", "tests", "environment.yml",
                 "pyproject.toml", "Makefile", "README.md", ".ci/run"]:
        assert (ROOT / name).exists(), name
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "/data/" in ignored and "/output/*" in ignored


def test_notebooks_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        nb = json.loads(path.read_text())
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} cell {i} has a count"
        assert "widgets" not in nb.get("metadata", {}), f"{path.name} carries widget state"


def test_table_reference_is_generated_from_the_schema():
    from perfkit.data.schema import markdown_reference

    text = (ROOT / "docs" / "schema.md").read_text()
    block = text.split("<!-- schema:start -->\n")[1].split("<!-- schema:end -->")[0]
    assert block == markdown_reference(), "run: perfkit schema, and paste into docs/schema.md"


def test_readme_is_short_and_every_relative_link_resolves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250, "the README is read in ten minutes; move detail to docs/"
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to a missing {target}"
