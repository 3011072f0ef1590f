"""``run``: plan the month's jobs, skip what is up to date, execute the rest, keep the manifest
current after every job, then write ``index.html`` and ``distribution.csv``."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.batch.config import ROLES, load_run_config
from perfkit.batch.execute import ENGINES, ExecOptions, Exporter, now
from perfkit.batch.executors import get_executor
from perfkit.batch.fingerprint import job_fingerprint
from perfkit.batch.index import load_scores, write_outputs
from perfkit.batch.manifest import Manifest, job_record
from perfkit.batch.plan import Job, entities, job_parameters, output_paths, published_only, select
from perfkit.batch.progress import Progress, fmt_seconds
from perfkit.data.store import store_fingerprint
from perfkit.digest import parameter_files, perfkit_fingerprint, sha256_file
from perfkit.errors import OutputError, RenderError, RequestError
from perfkit.files import ensure_writable
from perfkit.metrics.catalog import find_params
from perfkit.metrics.entities import load_appraised

log = logging.getLogger("perfkit.batch")

#: The manifest is rewritten whole, so during a run at most this often (and once at the end, also
#: when interrupted): per result it would cost O(jobs²) for a 5,000-report month. A run killed
#: outright loses at most this many seconds of results, whose reports then render again.
MANIFEST_SAVE_SECONDS = 2.0

LOCK = ".perfkit-run.lock"


@dataclass(frozen=True)
class RunSummary:
    """What a run did. ``seconds`` is wall time; ``failed_entities`` are ``role/entity_id`` keys."""

    month: str
    out_dir: Path
    ok: int
    failed: int
    skipped: int
    seconds: float
    failed_entities: tuple[str, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"

    @property
    def manifest(self) -> Path:
        return self.out_dir / "manifest.json"

    @property
    def reports_per_minute(self) -> float:
        """Reports rendered (status ok) per minute of wall time; 0 when nothing ran."""
        return self.ok / self.seconds * 60 if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 when no job failed, else :attr:`RenderError.exit_code` (130 when interrupted)."""
        return 130 if self.interrupted else RenderError.exit_code if self.failed else 0

    def line(self) -> str:
        """One line: counts, time and speed."""
        return (f"perfkit run {self.month}: {self.ok} ok, {self.failed} failed, {self.skipped} skipped "
                f"in {fmt_seconds(self.seconds)} ({self.reports_per_minute:.1f} reports/min)")

    def failure_line(self) -> str:
        """One line naming the failed entities (empty when none failed)."""
        if not self.failed:
            return ""
        names = ", ".join(self.failed_entities[:20])
        more = f" and {self.failed - 20} more" if self.failed > 20 else ""
        return f"{self.failed} report(s) failed: {names}{more}; see {self.manifest}"


@contextlib.contextmanager
def _lock(month_dir: Path) -> Iterator[None]:
    """One run per month folder at a time; a lock left by a killed run is taken over."""
    import psutil

    path = month_dir / LOCK
    month_dir.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now()}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                other = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                other = {}
            if other.get("host") == me["host"] and psutil.pid_exists(int(other.get("pid", -1))):
                raise RequestError(
                    f"another perfkit run (pid {other['pid']}) is writing {month_dir}; wait for it, "
                    f"or remove {path} if it is gone"
                ) from None
            log.info("taking over the lock of an interrupted run (%s)", other or "unreadable")
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _clean_temps(month_dir: Path) -> int:
    """Remove temporary files an interrupted run left (``.<name>.<random>.tmp<suffix>``)."""
    n = 0
    for p in month_dir.rglob(".*.tmp*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    if n:
        log.info("removed %d temporary file(s) left by an interrupted run", n)
    return n


def check_kernel() -> None:
    """Make sure the ``python3`` kernel can import perfkit (it runs every role notebook).

    Raises :class:`RenderError` naming the kernel's Python when it cannot.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from perfkit.batch.execute import KERNEL_NAME
    from perfkit.batch.forkserver import ensure_importable

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise RenderError(f"no Jupyter kernel {KERNEL_NAME!r}: pip install ipykernel") from None
    exe = spec.argv[0]
    v = sys.version_info
    if exe in ("python", f"python{v[0]}", f"python{v[0]}.{v[1]}"):
        return  # jupyter_client runs it with this very interpreter
    ensure_importable()
    res = subprocess.run([exe, "-c", "import perfkit"], capture_output=True, text=True, timeout=60)
    if res.returncode:
        raise RenderError(
            f"the {KERNEL_NAME!r} kernel ({spec.resource_dir}) runs {exe}, which cannot import "
            f"perfkit; install perfkit there or `python -m ipykernel install --sys-prefix`"
        )


def _takes_snapshot(notebook: Path) -> bool:
    """Whether the notebook's ``parameters`` cell declares ``snapshot`` (the role notebooks do)."""
    import re

    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    for cell in nb.get("cells", ()):
        if "parameters" in cell.get("metadata", {}).get("tags", ()):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            return re.search(r"^snapshot\s*=", src, re.MULTILINE) is not None
    return False


def _with_snapshot(todo: list[Job], takers: set[Path], db: Path, month: str, params: Path,
                   store_sha: str) -> list[Job]:
    """Build (or reuse) the month snapshot and pass its folder to the jobs whose notebook takes it
    (papermill parameter ``snapshot``; not part of the job fingerprint, which covers the same
    inputs)."""
    from dataclasses import replace

    from perfkit.month.build import build

    path = build(db, month, params, store_sha=store_sha,
                 progress=lambda line: log.info("%s", line))
    return [replace(j, parameters={**j.parameters, "snapshot": str(path)})
            if j.notebook in takers else j for j in todo]


def plan_jobs(
    month: str,
    *,
    roles: Sequence[str] = ROLES,
    only: Iterable[str] | None = None,
    db: Path,
    params: Path = Path("parameters"),
    notebooks_dir: Path = Path("notebooks"),
) -> tuple[list[Job], dict[str, Any]]:
    """The jobs of ``month`` and what they share: fingerprint parts (``store``, ``parameters_files``,
    ``perfkit_version``, ``notebooks``), ``existing``, the keys of every entity the month has
    before ``only`` and the run matrix select, and ``excluded`` (key → reason): entities the store
    has now but a published month's version does not (added after publication).

    A published month is planned from its latest version (:mod:`perfkit.month.frozen`): its
    entities, and the parameters files and role notebooks it was published with, whatever the
    current files say (run.yaml still says what to render).

    Raises :class:`RequestError` for a month without data or an unknown id, :class:`RenderError`
    for a missing role notebook."""
    from perfkit.data.store import months, open_store
    from perfkit.month import frozen
    from perfkit.month.published import latest, published_entities

    cfg = load_run_config(params)
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise RequestError(f"unknown role {bad[0]!r}; known: {', '.join(ROLES)}")
    pub = latest(db, month)  # a published month: made with the files it was published with
    kept = frozen.folder(db, pub) if pub is not None else None
    shown = frozen.params_in(kept, pub, params)  # what the reports are made with
    con = open_store(db)
    try:
        have = months(con)
        if month not in have:
            span = f"{have[0]} … {have[-1]}" if have else "none"
            raise RequestError(f"month {month} has no data in {db} (months: {span})")
        found = entities(con, month, roles, min_days=load_appraised(shown).min_days)
        store_sha = store_fingerprint(con, month)
    finally:
        con.close()
    excluded: dict[str, str] = {}
    if pub is not None:
        found, excluded = published_only(found, published_entities(db, pub),
                                         f"已发布的 {month} v{pub.version} ")
        then, now_ = (v.split("+")[0] for v in (pub.perfkit_version or "", perfkit_fingerprint()))
        if then and then != now_:
            log.warning("%s v%d was published with perfkit %s; rendering it with perfkit %s",
                        month, pub.version, then, now_)
    chosen = select(found, only=only, branch_ids=cfg.entities.branch,
                    employee_ids=cfg.entities.employee,
                    without_report=[k.split("/", 1)[1] for k in excluded])
    shared = {"store": store_sha, "parameters_files": parameter_files(shown),
              "perfkit_version": perfkit_fingerprint()}
    nb_sha: dict[str, str] = {}
    notebook = {r: frozen.notebook_in(kept, r, notebooks_dir / f"{r}.ipynb").resolve()
                for r in {e.role for e in chosen}}
    jobs = []
    for e in chosen:
        nb = notebook[e.role]
        if e.role not in nb_sha:
            if not nb.exists():
                raise RenderError(f"role notebook not found: {nb}", file=str(nb))
            nb_sha[e.role] = sha256_file(nb)
        parameters = job_parameters(e.role, month, e.entity_id, db, shown)
        fp = job_fingerprint(notebook_sha=nb_sha[e.role], params_files=shared["parameters_files"],
                             store_sha=store_sha, version=shared["perfkit_version"],
                             parameters=parameters)
        html, executed = output_paths(e.role, e.entity_id)
        jobs.append(Job(month, e, nb, parameters, fp, html, executed))
    shared["notebooks"] = nb_sha
    shared["existing"] = {f"{e.role}/{e.entity_id}" for e in found} | set(excluded)
    shared["excluded"] = excluded  # of the roles asked for: entities() listed only those
    shared["params"] = shown
    return jobs, shared


def run_paths(params: Path, *, db: Path | None = None, out: Path | None = None,
              notebooks: Path | None = None) -> dict[str, Path]:
    """The batch's store, output and notebooks folders: the arguments when given, else run.yaml's
    ``db`` / ``out`` / ``notebooks`` (relative to the project folder, the parent of ``params``),
    else the project's (:mod:`perfkit.projectfile`)."""
    from perfkit.projectfile import find_project, project_path

    cfg = load_run_config(params)
    project = find_project()
    base = project.root if project is not None and project.parameters == Path(params).resolve() \
        else Path(params).resolve().parent
    given = {"db": (db, cfg.db, "store"), "out": (out, cfg.out, "output"),
             "notebooks": (notebooks, cfg.notebooks, "notebooks")}
    return {key: Path(arg) if arg is not None else base / configured if configured is not None
            else project_path(kind) for key, (arg, configured, kind) in given.items()}


def _run(
    month: str | None,
    *,
    roles: Sequence[str] = ROLES,
    only: Iterable[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    force: bool = False,
    out: Path | None = None,
    db: Path | None = None,
    params: Path | None = None,
    assets: str = "inline",
    notebooks_dir: Path | None = None,
    exporter: str | Exporter | None = None,
    progress: str | None = None,
    snapshot: bool | None = None,
    engine: str | None = None,
) -> RunSummary:
    """:func:`run`, the store already held for reading."""
    from perfkit.data.store import resolve_month

    t0 = time.perf_counter()
    params = find_params(params)
    cfg = load_run_config(params)
    paths = run_paths(params, db=db, out=out, notebooks=notebooks_dir)
    db, out, notebooks_dir = paths["db"], paths["out"], paths["notebooks"]
    month = resolve_month(db, month)
    jobs, shared = plan_jobs(month, roles=roles, only=only, db=db, params=params,
                             notebooks_dir=notebooks_dir)
    engine = engine or cfg.engine
    if engine not in ENGINES:
        raise RequestError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    month_dir = ensure_writable((Path(out) / month).resolve())  # before a worker starts
    opts = ExecOptions(out_dir=str(month_dir), exporter=exporter, assets=assets,
                       retries=cfg.retries, start_timeout=cfg.start_timeout,
                       cell_timeout=cfg.cell_timeout, engine=engine,
                       recycle_after=cfg.recycle_after, recycle_mb=cfg.recycle_mb)
    with _lock(month_dir):
        _clean_temps(month_dir)
        manifest = Manifest.load(month_dir, month)
        manifest.drop_obsolete(roles, shared["existing"])
        for key, reason in shared["excluded"].items():
            manifest.exclude(key, reason)
        manifest.meta.update({"perfkit_version": shared["perfkit_version"],
                              "store": str(db.resolve()), "store_fingerprint": shared["store"]})
        todo, skipped = [], len(shared["excluded"])
        if skipped:
            log.info("%s: %d entit%s of the store not in the published version, no report (the "
                     "reason is in the manifest)", month, skipped, "y" if skipped == 1 else "ies")
        for job in jobs:
            reason = "forced" if force else manifest.stale_reason(job)
            if reason is None:
                manifest.jobs[job.key]["status"] = "skipped"
                skipped += 1
            else:
                log.debug("%s: runs (%s)", job.key, reason)
                todo.append(job)
        manifest.save()
        parts = {k: shared[k] for k in ("parameters_files", "store", "perfkit_version")}
        executor = get_executor(scheduler, workers)
        log.info("%s: %d job(s) to run, %d up to date, on %s, %s engine (%s)", month, len(todo),
                 skipped, executor.name, engine, month_dir)
        if todo and executor.name == "local" and engine == "fresh":
            check_kernel()
        takers = {j.notebook for j in todo if _takes_snapshot(j.notebook)}
        if takers and (snapshot or (snapshot is None and len(todo) > 1)):
            todo = _with_snapshot(todo, takers, db, month, shared["params"], shared["store"])
        bar = Progress(len(todo), progress)
        counts = {"ok": 0, "failed": 0}
        failed: list[str] = []
        errors: dict[str, str] = {}

        saved = [-MANIFEST_SAVE_SECONDS]  # the first result is written at once

        def on_result(job: Job, result: dict[str, Any]) -> None:
            rec = job_record(job, {"notebook": shared["notebooks"][job.role], **parts})
            rec.update(result)
            manifest.jobs[job.key] = rec
            if time.monotonic() - saved[0] >= MANIFEST_SAVE_SECONDS:  # O(jobs) each: not per job
                try:
                    manifest.save()
                except OSError as exc:  # a full disk: the run goes on, the final save retries
                    log.error("could not write %s: %s", manifest.path, exc.strerror or exc)
                saved[0] = time.monotonic()
            counts[rec["status"]] = counts.get(rec["status"], 0) + 1
            if rec["status"] == "failed":
                failed.append(job.key)
                err = rec.get("error") or {}
                errors[job.key] = f"{err.get('exception')}: {err.get('message')}"
            bar.update(job.key, rec)

        interrupted = False
        try:
            executor.run(todo, opts, on_result)
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted: workers and kernels stopped; finished jobs are in %s",
                        manifest.path)
        finally:
            bar.close()
            try:
                manifest.save()  # every result, also when interrupted
            except OSError as exc:
                log.error("could not write %s: %s", manifest.path, exc.strerror or exc)
            _clean_temps(month_dir)
        scores = load_scores(db, month, shared["params"]) if not interrupted else {}
        try:
            index, _ = write_outputs(month_dir, month, manifest.jobs, scores)
        except OSError as exc:
            raise OutputError(f"the reports are rendered, but the index could not be written: "
                              f"{exc.strerror or exc}", file=str(month_dir)) from None
    summary = RunSummary(month, month_dir, counts["ok"], counts["failed"], skipped,
                         time.perf_counter() - t0, tuple(failed), errors, interrupted)
    log.debug("%s; index: %s", summary.line(), index)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def run(month: str | None = None, *, db: Path | None = None, params: Path | None = None,
        out: Path | None = None, notebooks_dir: Path | None = None, **kwargs: Any) -> RunSummary:
    """Render every report of ``month`` (None or ``latest``: the store's latest complete month;
    ``previous``) for ``roles`` into ``out/<month>/``; ``out``, ``db``, ``params`` and
    ``notebooks_dir`` default to run.yaml's, else the project's (:func:`run_paths`). Jobs that are up to date (same fingerprint, output present) are skipped unless
    ``force``. ``only`` restricts to entity ids (``company`` for the company report). ``scheduler``:
    None = local process pool of ``workers`` (default: cores), ``tcp://…`` or a Dask ``Client`` =
    that cluster. ``exporter``: None = :func:`perfkit.report.export.export`, a registered name (``plain``)
    or a callable. ``progress``: ``bar`` / ``log`` / ``off`` / None (auto). ``snapshot``: compute
    the month's data once (:mod:`perfkit.month.build`, reused while its fingerprint holds) and give
    every job its slice (jobs whose notebook declares a ``snapshot`` parameter); None = when two or
    more jobs run, False = every notebook computes its own. ``engine``: ``perfkit`` (a kernel forked
    from a warm fork server per notebook) or ``fresh`` (a kernel started from scratch per notebook);
    None = run.yaml's (default ``perfkit``).

    Failed jobs do not raise: see :attr:`RunSummary.failed`. Ctrl-C stops the workers and their
    kernels, keeps the manifest of what finished, and re-raises KeyboardInterrupt.
    """
    from perfkit.data.lock import locked_store
    from perfkit.data.store import resolve_month

    params = find_params(params)
    paths = run_paths(params, db=db, out=out, notebooks=notebooks_dir)
    # one state of the store for every report: no import, publish or demo while this runs
    with locked_store(paths["db"], f"perfkit run {month or 'latest'}", write=False):
        month = resolve_month(paths["db"], month)
        return _run(month, db=paths["db"], params=params, out=paths["out"],
                    notebooks_dir=paths["notebooks"], **kwargs)
