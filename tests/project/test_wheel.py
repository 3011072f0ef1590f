"""The wheel as a brokerage's IT installs it: built from this checkout, installed with its
dependencies into a fresh virtualenv in a temporary folder, then used with no ``node``/``npm`` on
the PATH, no ``node_modules`` and the checkout not importable: ``perfkit init``, ``perfkit demo``
(small), ``perfkit run`` (the latest complete month) and one report of each role opened in Chromium
offline, its drill-down clicked, nothing fetched.

Dependencies come from uv's cache (the one ``make venv`` filled), so nothing is downloaded twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from browser_support import browser, require

ROOT = Path(__file__).resolve().parents[2]
NODE_TOOLS = ("node", "nodejs", "npm", "npx", "corepack")


def _no_node_path(tmp: Path, venv: Path) -> str:
    """A PATH of the new virtualenv plus every system tool except Node's."""
    shims = tmp / "bin"
    shims.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in sorted(Path(folder).glob("*")) if Path(folder).is_dir() else ():
            if tool.name not in NODE_TOOLS and not (shims / tool.name).exists():
                (shims / tool.name).symlink_to(tool)
    return f"{venv / 'bin'}{os.pathsep}{shims}"


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    wheels = tmp / "dist"
    require((ROOT / "node_modules" / "@jupyter-widgets" / "html-manager").is_dir(),
            "node_modules is missing (make assets): the wheel build needs the widget manager")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(ROOT)], check=True, timeout=600)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # pip's in-tree build folder
    (wheel,) = wheels.glob("perfkit-*.whl")
    venv = tmp / "venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    require(uv, "uv is not installed in the test environment (make venv)")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python",
                    str(venv / "bin" / "python"),
                    str(wheel)], check=True, timeout=900)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PERFKIT_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["PATH"] = _no_node_path(tmp, venv)
    env["HOME"] = str(tmp / "home")
    return {"tmp": tmp, "wheel": wheel, "venv": venv, "env": env}


def test_the_wheel_carries_its_assets(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert {"perfkit/report/assets/embed.js", "perfkit/report/assets/embed.js.LICENSE.txt",
            "perfkit/report/assets/assets.json", "perfkit/defaults/parameters/scorecard.yaml",
            "perfkit/defaults/notebooks/employee.ipynb",
            "perfkit/report/templates/perfkit_report/index.html.j2"} <= names
    meta = json.loads(zipfile.ZipFile(installed["wheel"]).read("perfkit/report/assets/assets.json"))
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@jupyter-widgets/html-manager"]["version"]
    assert meta["package"] == "@jupyter-widgets/html-manager" and meta["version"] == pinned
    js = zipfile.ZipFile(installed["wheel"]).read("perfkit/report/assets/embed.js").decode()
    assert "Automatic publicPath is not supported" not in js and "https://" not in js


def test_installed_wheel_renders_every_role_offline(installed, tmp_path):
    env, venv = installed["env"], installed["venv"]
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import perfkit, perfkit.report.bundle as b; "
                  "print(perfkit.__file__); print(b.bundle_path())"], env, tmp_path)
    assert str(venv) in where.splitlines()[0] and str(ROOT) not in where
    assert "perfkit/report/assets/embed.js" in where.splitlines()[1]

    perfkit = str(venv / "bin" / "perfkit")
    _run([perfkit, "init", "firm"], env, tmp_path)
    project = tmp_path / "firm"
    sub = project / "notebooks"
    _run([perfkit, "demo", "--branches", "2", "--employees", "6", "--clients", "300",
          "--months", "3"], env, sub)
    out = _run([perfkit, "run", "--workers", "2", "--progress", "off"], env, sub, timeout=600)
    assert "month 2026-10" in out
    month = project / "output" / "2026-10"
    branch = sorted((month / "branches").glob("*.html"))[0]
    employee = sorted((month / "employees").glob("*.html"))[0]

    from report.test_reports import _assert_clean, _click_link, _fresh, _open, _visible_page

    with browser(tmp_path / "chromium") as s:
        for page in (month / "company.html", branch, employee):
            _fresh(s)
            _open(s, page, f"wheel_{page.stem}.png")
            first = _visible_page(s)
            second = _click_link(s, 1)
            assert second["active"] == 1 and second["text"] != first["text"], page
            _assert_clean(s)


def test_the_sdist_carries_what_the_wheel_build_reads(tmp_path):
    """``python -m build`` makes the wheel from the sdist: it needs the npm lock files and the
    default parameters and notebooks."""
    import tarfile

    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    require(uv, "uv is not installed in the test environment (make venv)")
    subprocess.run([uv, "build", "--sdist", "--quiet", "--out-dir", str(tmp_path), str(ROOT)],
                   check=True, timeout=300)
    (sdist,) = tmp_path.glob("perfkit-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = {"package.json", "package-lock.json", "perfkit/report/wheel.py"}
    expected |= {p.relative_to(ROOT).as_posix() for folder in ("parameters", "notebooks")
                 for p in (ROOT / folder).rglob("*") if p.is_file()
                 and ".ipynb_checkpoints" not in p.parts}
    assert expected <= names, sorted(expected - names)
