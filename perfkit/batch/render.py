"""``perfkit render``: one report end to end (execute the role notebook, export one HTML file).

It plans exactly the job the monthly batch would run for (month, role, entity) and runs it with the
batch's executor, so a single report and a batch report are the same file.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from perfkit.batch.execute import ExecOptions, execute_job
from perfkit.batch.plan import Entity, Job
from perfkit.batch.runner import plan_jobs, run_paths
from perfkit.errors import RenderError, RequestError
from perfkit.files import atomic_path, ensure_writable
from perfkit.metrics.catalog import find_params
from perfkit.metrics.entities import COMPANY_ID

log = logging.getLogger(__name__)


def render(
    month: str,
    role: str,
    out: str | Path,
    *,
    entity: str | None = None,
    db: str | Path | None = None,
    params: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
    assets: str = "inline",
) -> Path:
    """Render the ``role`` report of ``entity`` (branch or employee id; none for company) for
    ``month`` into ``out``.

    Raises :class:`RequestError` for a month without data, an unknown entity or a missing entity id,
    and :class:`RenderError` when the notebook fails (the executed notebook is kept beside ``out``
    as ``<out>.ipynb`` so the failing cell can be read).
    """
    if role != "company" and not entity:
        raise RequestError(f"role {role} needs --entity (a {role} id)")
    ensure_writable(Path(out).resolve().parent)  # before the notebook runs, not after
    params_dir = find_params(params)
    paths = run_paths(params_dir, db=db, notebooks=notebooks_dir)
    from perfkit.data.lock import locked_store

    with locked_store(paths["db"], f"perfkit render {month} {role} {entity or ''}".strip(),
                      write=False):  # one state of the store, as for perfkit run
        return _render_job(month, role, Path(out), entity, paths, params_dir, assets)


def _render_job(month: str, role: str, out: Path, entity: str | None, paths: dict[str, Path],
                params_dir: Path, assets: str) -> Path:
    """Plan, execute and export the one job of :func:`render` (the store held for reading)."""
    jobs, shared = plan_jobs(month, roles=[role], db=paths["db"], params=params_dir,
                             notebooks_dir=paths["notebooks"])
    key = f"{role}/{entity or COMPANY_ID}"
    job = next((j for j in jobs if j.key == key), None)
    if key in shared["excluded"]:
        raise RequestError(shared["excluded"][key])
    if job is None:
        raise RequestError(
            f"unknown {role} id {entity!r} for {month}: not in the store, or not employed that "
            f"month" if role == "employee" else f"unknown {role} id {entity!r}"
        )
    return _execute_to(job, Path(out), assets)


def _execute_to(job: Job, out: Path, assets: str) -> Path:
    """Execute ``job`` and write its HTML to ``out`` (RenderError naming the failing cell)."""
    with tempfile.TemporaryDirectory(prefix="perfkit-render-") as tmp:
        result = execute_job(job, ExecOptions(out_dir=tmp, assets=assets))
        executed = Path(tmp) / job.executed
        if result["status"] != "ok":
            err = result["error"] or {}
            kept = out.with_suffix(out.suffix + ".ipynb")
            if executed.exists():
                with atomic_path(kept) as dst:
                    shutil.copyfile(executed, dst)
            where = f" in cell {err['cell_index']}" if err.get("cell_index") is not None else ""
            raise RenderError(
                f"{job.title}: {err.get('stage', 'render')} failed{where}: "
                f"{err.get('exception')}: {err.get('message')}"
                + (f" (executed notebook kept at {kept})" if executed.exists() else ""),
                file=str(job.notebook),
            )
        page = (Path(tmp) / job.html).read_text(encoding="utf-8")
        if assets == "shared":
            # the batch links <month>/assets from <month>/<folder>/; here assets/ sits beside out
            shutil.copytree(Path(tmp) / "assets", out.parent / "assets", dirs_exist_ok=True)
            up = "../" * (len(Path(job.html).parts) - 1)
            page = page.replace(f'="{up}assets/', '="assets/')
        with atomic_path(out) as dst:
            dst.write_text(page, encoding="utf-8")
            dst.chmod(0o644)
    log.info("wrote %s (%s, %.1fs)", out, job.title, result["seconds"])
    return out


def render_whatif(month: str, base: str | Path, params: str | Path | None, out: str | Path, *,
                  db: str | Path | None = None, level: str = "employee",
                  notebooks_dir: str | Path | None = None) -> Path:
    """The what-if report (``whatif.ipynb``: ``month`` under ``base`` and ``params``, see
    :mod:`perfkit.month.compare`) as one offline HTML file ``out``, exported like the role reports.
    The project's ``notebooks/whatif.ipynb``, else the one perfkit was installed with."""
    import hashlib

    from perfkit.projectfile import installed_defaults

    ensure_writable(Path(out).resolve().parent)
    params_dir = find_params(params)
    paths = run_paths(params_dir, db=db, notebooks=notebooks_dir)
    notebook = paths["notebooks"] / "whatif.ipynb"
    if not notebook.is_file():
        notebook = installed_defaults() / "notebooks" / "whatif.ipynb"
    base_arg = str(base) if str(base).startswith("published") else str(Path(base).resolve())
    parameters = {"month": month, "base": base_arg, "params": str(params_dir),
                  "db": str(paths["db"]), "level": level}
    key = hashlib.sha256(repr(sorted(parameters.items())).encode()).hexdigest()
    label = f"{_side_name(base)} → {_side_name(params_dir)}"
    job = Job(month, Entity("whatif", "whatif", label), notebook, parameters, key,
              "whatif.html", "whatif.ipynb")
    from perfkit.data.lock import locked_store

    with locked_store(paths["db"], f"perfkit compare {month}", write=False):
        return _execute_to(job, Path(out), "inline")


def _side_name(side: str | Path) -> str:
    """A version as the report's title names it: ``published v1`` or the folder's name."""
    text = str(side)
    if text.startswith("published"):
        return text.replace(":", " ")
    path = Path(text).resolve()
    return path.name if path.name != "parameters" else f"{path.parent.name}/{path.name}"
