"""Scale benchmark: a large brokerage's month on one machine — the store, its month snapshot,
`perfkit indicators`, the reports (company, a branch, a sample of employees) — with wall time, peak
memory (summed PSS) and file sizes, and a projection of a full month.

    .venv/bin/python bench/bench_scale.py --db /work/scale/s10m.duckdb --out /work/scale/out10m \\
        --branches 460 --employees 6000 --clients 10000000
    .venv/bin/python bench/bench_scale.py --db /work/scale/s1m.duckdb --branches 460 \\
        --employees 6000 --clients 1000000 --steps build,snapshot     # a point of the size table

Keep the store outside the repository; `make test` never builds it. Steps (``--steps``, in this
order; default ``build,snapshot,indicators,reports,project``):

build       `perfkit demo` with the size flags, when ``--db`` does not exist (a subprocess: wall
            time, peak memory of it and its children, store size);
snapshot    `perfkit snapshot` in a subprocess with an empty cache folder (no measures cached:
            everything computed), wall time, peak memory, size on disk;
indicators  `perfkit indicators --level employee` in a subprocess with an empty cache (cold: the
            month and the one before); then, in this process, the month's measures and
            indicator values against DuckDB's scan of every column they read (best of
            ``--repeat``; the ratio bench_indicators.py reports);
reports     `perfkit run --only company,<branch>,<sample of employees>` (perfkit engine,
            ``--workers``) reading the snapshot built above: worker-seconds per report, peak
            memory of the batch, HTML size per role; ``--branch`` names the branch (default: the
            one with the most employees);
serial      the same jobs by the naive serial loop (`papermill` + `jupyter nbconvert`), for the
            ratio to perfkit (slow: off by default);
shared      output size with shared assets (``--shared-sample`` reports re-exported);
project     a full month of ``--project-clients`` clients and ``--project-reports`` reports on
            ``--project-cores`` cores, from the measured figures (the model is printed): those of
            this run, else of the last run into ``--out`` (its ``bench_scale.json``), plus the
            reports of the runs named by ``--reports-from`` (e.g. a 150-employee branch measured
            on a store of 4 such branches).

Prints Markdown for bench/README.md, the load average at each step, and writes ``bench_scale.json``
(every figure), ``bench_scale.md`` and the log of each subprocess (``build.log``, ``snapshot.log``:
a line per frame with its seconds, ``indicators.log``) into ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import PeakMemory, load, serial_cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STEPS = ("build", "snapshot", "indicators", "reports", "serial", "shared", "project")


class Timeline(PeakMemory):
    """:class:`PeakMemory` that also keeps every sample (seconds since start, bytes)."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(interval)
        self.samples: list[tuple[float, int]] = []
        self._t0 = time.perf_counter()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = _pss([me, *me.children(recursive=True)])
            self.samples.append((time.perf_counter() - self._t0, total))
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def thirds(self) -> tuple[int, int]:
        """Peak of the first third and of the last third of the samples."""
        if len(self.samples) < 3:
            return self.peak, self.peak
        k = len(self.samples) // 3
        return max(b for _, b in self.samples[:k]), max(b for _, b in self.samples[-k:])


def _pss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            try:
                total += p.memory_full_info().pss
            except AttributeError:  # no PSS on this platform
                total += p.memory_info().rss
    return total


def measured(cmd: list[str], env: dict[str, str] | None = None, log_file: Path | None = None,
             interval: float = 0.5) -> tuple[float, int, str]:
    """Run ``cmd``; (wall seconds, peak summed PSS of it and its descendants, its stdout); its
    stderr (perfkit's log: a line per table or frame) goes to ``log_file``. Raises when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, stop = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _pss([root, *root.children(recursive=True)]))
            stop.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    stop.set()
    t.join()
    wall = time.perf_counter() - t0
    if log_file is not None:
        log_file.write_text(err, encoding="utf-8")
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak, out


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def pick(ids: list[str], n: int) -> list[str]:
    """``n`` ids spread evenly over the sorted list (deterministic)."""
    ids = sorted(ids)
    if n >= len(ids):
        return ids
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def role_seconds(manifest: Path) -> dict[str, dict[str, float]]:
    """role → {entity id: worker-seconds} of the jobs that succeeded."""
    jobs = json.loads(manifest.read_text(encoding="utf-8"))["jobs"]
    out: dict[str, dict[str, float]] = {}
    for key, rec in jobs.items():
        if rec.get("status") == "ok" and rec.get("seconds"):
            role, _, entity = key.partition("/")
            out.setdefault(role, {})[entity or role] = float(rec["seconds"])
    return out


def html_sizes(month_dir: Path) -> dict[str, dict[str, int]]:
    """role → {entity id: bytes} of the rendered reports."""
    out: dict[str, dict[str, int]] = {}
    if (month_dir / "company.html").exists():
        out["company"] = {"company": (month_dir / "company.html").stat().st_size}
    for role, folder in (("branch", "branches"), ("employee", "employees")):
        for p in sorted((month_dir / folder).glob("*.html")):
            out.setdefault(role, {})[p.stem] = p.stat().st_size
    return out


def shared_sizes(month_dir: Path, sample: int, tmp: Path) -> tuple[int, float, float, int]:
    """Re-export ``sample`` executed notebooks (spread over the roles) inline and with shared
    assets: (reports, mean inline bytes, mean shared bytes, assets folder bytes)."""
    from perfkit.report.export import export

    nbs = sorted((month_dir / "notebooks").rglob("*.ipynb"))
    picked = [nbs[int(i * len(nbs) / sample)] for i in range(min(sample, len(nbs)))]
    assets = tmp / "assets"
    inline, shared = [], []
    for i, nb in enumerate(picked):
        meta = {"month": month_dir.name}
        a = export(nb, tmp / "inline" / f"{i}.html", title="bench", meta=meta)
        b = export(nb, tmp / "shared" / f"{i}.html", title="bench", meta=meta, assets="shared",
                   assets_dir=assets)
        inline.append(a.stat().st_size)
        shared.append(b.stat().st_size)
    asset_bytes = sum(p.stat().st_size for p in assets.iterdir())
    return len(picked), statistics.mean(inline), statistics.mean(shared), asset_bytes


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line y = a + b·x (b = 0 with fewer than two distinct x)."""
    if len(set(xs)) < 2:
        return (statistics.mean(ys) if ys else 0.0), 0.0
    b, a = statistics.linear_regression(xs, ys)
    return a, b


def task_rows(snapshot: Path, column: str) -> dict[str, int]:
    """Rows of the snapshot's task list per ``column`` (employee_id or branch_id)."""
    import duckdb

    file = str(snapshot / "tasks.parquet").replace("'", "''")
    return dict(duckdb.sql(f"SELECT {column}, count(*) FROM '{file}' GROUP BY 1").fetchall())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True,
                    help="the large store (built when missing; keep it outside the repository)")
    ap.add_argument("--branches", type=int, default=460)
    ap.add_argument("--employees", type=int, default=6000)
    ap.add_argument("--clients", type=int, default=10_000_000)
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--steps", default="build,snapshot,indicators,reports,project",
                    help=f"comma-separated, of: {', '.join(STEPS)}")
    ap.add_argument("--branch", default=None, help="branch report (default: the largest branch)")
    ap.add_argument("--employees-sample", type=int, default=30)
    ap.add_argument("--shared-sample", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the indicators ratio")
    ap.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    ap.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters")
    ap.add_argument("--project-clients", type=int, default=17_000_000)
    ap.add_argument("--project-reports", type=int, default=5300)
    ap.add_argument("--project-branches", type=int, default=460)
    ap.add_argument("--project-cores", type=int, default=16)
    ap.add_argument("--reports-from", type=Path, nargs="*", default=[],
                    help="bench_scale.json of other runs whose reports join the projection's fit")
    args = ap.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        ap.error(f"unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
    os.environ.setdefault("CI", "true")  # log lines, not a progress bar
    from perfkit.batch.executors import default_workers

    workers = args.workers or default_workers()
    tmp_holder = tempfile.TemporaryDirectory(prefix="bench-scale-")
    out = args.out or Path(tmp_holder.name)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "cache"  # the snapshot and measures of this run, nothing older
    earlier = out / "bench_scale.json"
    res: dict = json.loads(earlier.read_text(encoding="utf-8")) if earlier.exists() else {}
    res.update({"db": str(args.db), "month": args.month, "steps": steps,
                "cores": os.cpu_count(), "workers": workers})
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    def env_with(**kw: str) -> dict[str, str]:
        return {**os.environ, **kw}

    perfkit = str(BIN / "perfkit")
    # 1. the store
    if "build" in steps and not args.db.exists():
        say(f"load average before the build: {load()}")
        wall, peak, _ = measured([perfkit, "demo", "--branches", str(args.branches), "--employees",
                                  str(args.employees), "--clients", str(args.clients), "--db",
                                  str(args.db)], log_file=out / "build.log")
        res["build"] = {"seconds": wall, "peak": peak, "bytes": size_of(args.db)}
        say(f"build: `perfkit demo --branches {args.branches} --employees {args.employees} "
            f"--clients {args.clients}` {wall:.0f} s, peak {mb(peak)}, store "
            f"{mb(size_of(args.db))}; load average after {load()}")
    from perfkit.data.store import open_store

    con = open_store(args.db)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
              for t in ("branches", "employees", "clients", "client_months", "contacts")}
    per_branch = dict(con.execute("SELECT branch_id, count(*) FROM employees GROUP BY 1").fetchall())
    con.close()
    res["store"] = {**counts, "bytes": size_of(args.db)}
    say(f"store {args.db}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        + f"; {mb(size_of(args.db))}; {os.cpu_count()} cores, {workers} workers")

    # 2. the snapshot, cold
    snap: Path | None = None
    if "snapshot" in steps:
        for part in cache.glob("measures-*.parquet"):  # cold: no measures of an earlier run
            part.unlink()
        say(f"load average before the snapshot: {load()}")
        wall, peak, text = measured([perfkit, "snapshot", "--db", str(args.db), "--month",
                                     args.month, "--params", str(args.params), "--force"],
                                    env=env_with(PERFKIT_CACHE=str(cache)),
                                    log_file=out / "snapshot.log")
        snap = Path(text.strip().splitlines()[-1])
        res["snapshot"] = {"seconds": wall, "peak": peak, "bytes": size_of(snap), "path": str(snap)}
        say(f"snapshot: {wall:.0f} s, peak {mb(peak)}, {mb(size_of(snap))} of Parquet; "
            f"load average after {load()}")

    # 3. perfkit indicators, cold, and the month's measures against the scan of their input
    if "indicators" in steps:
        from bench_indicators import input_scan, perfkit_values, referenced_columns

        from perfkit.metrics.catalog import load_catalog

        say(f"load average before indicators: {load()}")
        with tempfile.TemporaryDirectory(prefix="bench-scale-cold-") as cold:
            wall, peak, _ = measured([perfkit, "indicators", "--db", str(args.db), "--month",
                                      args.month, "--level", "employee", "--params",
                                      str(args.params), "--format", "csv", "--out",
                                      str(Path(cold) / "indicators.csv")],
                                     env=env_with(PERFKIT_CACHE=cold),
                                     log_file=out / "indicators.log")
        catalog = load_catalog(args.params)
        inputs = referenced_columns(catalog)
        con = open_store(args.db)
        t_scan = t_pk = float("inf")
        for _ in range(args.repeat):  # interleaved: both share whatever else the machine does
            t0 = time.perf_counter()
            input_scan(con, inputs)
            t_scan = min(t_scan, time.perf_counter() - t0)
            t0 = time.perf_counter()
            perfkit_values(con, args.month, catalog)
            t_pk = min(t_pk, time.perf_counter() - t0)
        con.close()
        res["indicators"] = {"cli_seconds": wall, "cli_peak": peak, "scan_seconds": t_scan,
                             "month_seconds": t_pk, "ratio": t_pk / t_scan}
        say(f"indicators: `perfkit indicators --level employee` cold {wall:.0f} s (the month and "
            f"the one before, for prev_value and change), peak {mb(peak)}; the month's measures and values "
            f"{t_pk:.2f} s against {t_scan:.2f} s of DuckDB scanning their input columns = "
            f"**{t_pk / t_scan:.2f}×** (best of {args.repeat}); load average {load()}")

    # 4. the reports
    if "reports" in steps or "serial" in steps:
        from perfkit.batch import plan_jobs, run

        jobs, _ = plan_jobs(args.month, db=args.db, params=args.params,
                            notebooks_dir=args.notebooks)
        by_role: dict[str, list[str]] = {}
        for j in jobs:
            by_role.setdefault(j.role, []).append(j.entity_id)
        branch = args.branch or max(sorted(per_branch), key=lambda b: per_branch[b])
        sample = pick(by_role.get("employee", []), args.employees_sample)
        only = ["company", branch, *sample]
        res["month_reports"] = {r: len(v) for r, v in by_role.items()}
        os.environ["PERFKIT_CACHE"] = str(cache)  # the snapshot of step 2 (built here if absent)
        if "reports" in steps:
            say(f"load average before the reports: {load()}")
            with Timeline() as mem:
                s = run(args.month, only=only, workers=workers, force=True, out=out / "batch",
                        db=args.db, params=args.params, notebooks_dir=args.notebooks,
                        progress="log", engine="perfkit")
            first, last = mem.thirds()
            secs, sizes = role_seconds(s.manifest), html_sizes(s.out_dir)
            # the snapshot the run read: the newest (another perfkit's fingerprint builds anew)
            built = sorted((cache / "snapshots").glob(f"{args.month}-*"),
                           key=lambda p: p.stat().st_mtime)
            snap = built[-1] if built else snap
            if snap and "snapshot" in res:
                res["snapshot"]["path"] = str(snap)
            rows = {"employee": task_rows(snap, "employee_id"),
                    "branch": task_rows(snap, "branch_id")} if snap else {}
            res["reports"] = {"ok": s.ok, "failed": s.failed, "seconds": s.seconds,
                              "peak": mem.peak, "peak_first_third": first,
                              "peak_last_third": last, "worker_seconds": secs, "bytes": sizes,
                              "branch": branch, "branch_employees": per_branch[branch],
                              "task_rows": {r: {k: v.get(k, 0) for k in secs.get(r, {})}
                                            for r, v in rows.items()}}
            say(f"reports: {s.ok} ok, {s.failed} failed in {s.seconds:.0f} s on {workers} "
                f"workers; peak {mb(mem.peak)} (first third {mb(first)}, last third {mb(last)}); "
                f"load average after {load()}")
            if s.failed:
                say(s.failure_line())
            say("")
            say("| report | reports | worker-seconds (median / max) | HTML (median / max) | task rows (median) |")
            say("|---|---:|---:|---:|---:|")
            for role in ("company", "branch", "employee"):
                v, z = secs.get(role, {}), sizes.get(role, {})
                if not v:
                    continue
                label = (f"branch {branch} ({per_branch[branch]} employees)" if role == "branch"
                         else role)
                tr = [rows.get(role, {}).get(k, 0) for k in v]
                say(f"| {label} | {len(v)} | {statistics.median(v.values()):.2f} / "
                    f"{max(v.values()):.2f} s | {statistics.median(z.values()) / 2**20:.2f} / "
                    f"{max(z.values()) / 2**20:.2f} MB | "
                    + (f"{statistics.median(tr):,.0f} |" if role != "company" else "— |"))
        if "serial" in steps:
            picked = [j for j in jobs if j.entity_id in set(only)]
            say(f"serial loop on the same {len(picked)} jobs; load average {load()}")
            with Timeline() as mem_serial:
                t_serial, ok = serial_cli(picked, out / "serial")
            res["serial"] = {"seconds": t_serial, "ok": ok, "peak": mem_serial.peak}
            if "reports" in res:
                ratio = (res["reports"]["ok"] / res["reports"]["seconds"]) / (ok / t_serial)
                say(f"serial: {ok} reports in {t_serial:.0f} s, peak {mb(mem_serial.peak)}; "
                    f"perfkit run is **{ratio:.1f}×** faster")
        if "shared" in steps and "reports" in res:
            n, inline, shared, assets = shared_sizes(out / "batch" / args.month, args.shared_sample,
                                                     out / "shared")
            res["shared"] = {"reports": n, "inline": inline, "shared": shared, "assets": assets}
            say(f"output size ({n} reports re-exported both ways): inline {inline / 2**20:.2f} MB "
                f"per report; shared assets {shared / 2**10:.0f} KB per report + "
                f"{assets / 2**20:.2f} MB of assets once per month")

    # 5. the projection
    if "project" in steps and "reports" in res and "snapshot" in res:
        say("")
        say(project(res, args))
    (out / "bench_scale.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    (out / "bench_scale.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp_holder.cleanup() if args.out is None else None
    return 0


def project(res: dict, args: argparse.Namespace) -> str:
    """A full month of ``args.project_clients`` clients and ``args.project_reports`` reports on
    ``args.project_cores`` cores. Model: the snapshot's time grows in proportion to the clients
    (what the three store sizes of bench/README.md show) and is DuckDB work spread over the cores
    (bounds: no speed-up beyond the 2 cores measured, and a speed-up in proportion to the cores);
    a report's worker-seconds are a + b × its task rows (least squares over the reports measured,
    per role; their mean when they show no trend), task rows per client as measured, the month's reports one company, every branch and
    employees for the rest, spread evenly over the cores."""
    r, snap = res["reports"], res["snapshot"]
    secs = {role: dict(v) for role, v in r["worker_seconds"].items()}
    rows_of = {role: dict(v) for role, v in r["task_rows"].items()}
    for other in args.reports_from:  # more reports for the fit (ids prefixed: other stores)
        o = json.loads(other.read_text(encoding="utf-8"))["reports"]
        for role in ("branch", "employee"):
            for k, v in o["worker_seconds"].get(role, {}).items():
                secs.setdefault(role, {})[f"{other.parent.name}/{k}"] = v
                rows_of.setdefault(role, {})[f"{other.parent.name}/{k}"] = (
                    o["task_rows"].get(role, {}).get(k, 0))
    clients = res["store"]["clients"]
    scale = args.project_clients / clients
    cores_now = res["cores"] or 2
    snap_slow = snap["seconds"] * scale
    snap_fast = snap_slow * cores_now / args.project_cores
    employees = args.project_reports - 1 - args.project_branches
    # task rows per employee report at the projected size: the store's tasks per client
    all_rows = sum(task_rows(Path(snap["path"]), "employee_id").values())
    per_emp_then = all_rows * scale / employees
    per_branch_then = all_rows * scale / args.project_branches
    core_s = r["worker_seconds"].get("company", {}).get("company", 0.0)
    parts = []
    for role, count, x_then in (("employee", employees, per_emp_then),
                                ("branch", args.project_branches, per_branch_then)):
        role_secs, rows = secs.get(role, {}), rows_of.get(role, {})
        xs, ys = [rows.get(k, 0) for k in role_secs], list(role_secs.values())
        a, b = fit(xs, ys)
        if b < 0:  # no trend in the reports measured: their mean, whatever the rows
            a, b = statistics.mean(ys), 0.0
        each = a + b * x_then
        core_s += count * each
        parts.append(f"{count:,} {role} reports × {each:.2f} s (a = {a:.2f} s, b = {b * 1000:.3f} ms "
                     f"per task row over {len(ys)} reports measured; {x_then:,.0f} rows each)")
    reports_min = core_s / args.project_cores / 60
    return (f"Projection — {args.project_clients:,} clients, {args.project_reports:,} reports, "
            f"{args.project_cores} cores: snapshot {snap_slow / 60:.1f} min at this machine's "
            f"{cores_now} cores ({snap['seconds']:.0f} s × {scale:.2f}), "
            f"{snap_fast / 60:.1f} min if it speeds up with the cores; reports "
            f"{core_s / 3600:.1f} core-hours = {reports_min:.1f} min on {args.project_cores} cores "
            f"({'; '.join(parts)}; the company report {r['worker_seconds'].get('company', {}).get('company', 0):.1f} s); "
            f"**{(snap_fast / 60 + reports_min):.0f}–{(snap_slow / 60 + reports_min):.0f} min** "
            f"in all.")


if __name__ == "__main__":
    sys.exit(main())
