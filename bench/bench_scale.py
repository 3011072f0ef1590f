"""Scale benchmark of the monthly batch: a store sized like a large brokerage, a month rendered with
`perfkit run` (a sample of employees, every branch, the company), and on a smaller job set the ratio
to the naive serial loop (`papermill` CLI + `jupyter nbconvert --to html` CLI), in the same run.

    .venv/bin/python bench/bench_scale.py --db /work/bench_scale.duckdb [--employees-sample 300]
        [--branches-sample N] [--serial-jobs 30] [--workers N] [--out DIR] [--skip-serial]
        [--branches 250] [--employees 5000] [--clients 2000000] [--shared-sample 30]

The store is built with `perfkit demo --branches 250 --employees 5000 --clients 2000000` when
``--db`` does not exist (minutes; keep it outside the repository). Steps, each timed:

1. the month snapshot (computed once per batch; built here first so that its time is reported
   apart from the rendering);
2. ``--serial-jobs`` jobs in the month's proportions (company, branches, employees; at least one of
   each) rendered by `perfkit run` and by the naive serial loop: the ratio of reports per minute;
3. `perfkit run --only company,<every branch>,<sample of employees>` with the ``perfkit`` engine:
   reports per minute, worker-seconds per report by role, peak memory (summed PSS of this process
   and every child, sampled every 0.2 s; also the peak of the first and of the last third of the run,
   to show whether it grows with the number of reports), output size (inline);
4. output size with shared assets: a sample of the executed notebooks re-exported with
   ``assets="shared"`` (per-report HTML plus the assets written once);
5. the projection of a full month (the company, every branch, every employee of the store, scaled to
   5,300 reports) on 16 cores from the measured worker-seconds per report of each role, plus the
   snapshot build.

Prints Markdown for the README; the load average before and after every step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import PeakMemory, load, serial_cli  # noqa: E402

from perfkit.batch import plan_jobs, run  # noqa: E402
from perfkit.batch.executors import default_workers  # noqa: E402
from perfkit.data.store import months, open_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FULL_MONTH = 5300
SERVER_CORES = 16


class Timeline(PeakMemory):
    """:class:`PeakMemory` that also keeps every sample (seconds since start, bytes)."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(interval)
        self.samples: list[tuple[float, int]] = []
        self._t0 = time.perf_counter()

    def _sample(self) -> None:
        import contextlib

        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    try:
                        total += p.memory_full_info().pss
                    except AttributeError:
                        total += p.memory_info().rss
            self.samples.append((time.perf_counter() - self._t0, total))
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def thirds(self) -> tuple[int, int]:
        """Peak of the first third and of the last third of the samples."""
        if len(self.samples) < 3:
            return self.peak, self.peak
        k = len(self.samples) // 3
        return max(b for _, b in self.samples[:k]), max(b for _, b in self.samples[-k:])


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def pick(ids: list[str], n: int) -> list[str]:
    """``n`` ids spread evenly over the sorted list (deterministic)."""
    ids = sorted(ids)
    if n >= len(ids):
        return ids
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def role_seconds(manifest: Path) -> dict[str, list[float]]:
    jobs = json.loads(manifest.read_text(encoding="utf-8"))["jobs"]
    out: dict[str, list[float]] = {}
    for key, rec in jobs.items():
        if rec.get("status") == "ok" and rec.get("seconds"):
            out.setdefault(key.split("/")[0], []).append(float(rec["seconds"]))
    return out


def html_bytes(month_dir: Path) -> tuple[int, int]:
    files = [p for p in month_dir.rglob("*.html") if p.name != "index.html"]
    return len(files), sum(p.stat().st_size for p in files)


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path,
                    default=Path(tempfile.gettempdir()) / "perfkit-bench-scale.duckdb",
                    help="the large store (built when missing; keep it outside the repository)")
    ap.add_argument("--branches", type=int, default=250)
    ap.add_argument("--employees", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=2_000_000)
    ap.add_argument("--month", default=None, help="default: the store's latest month")
    ap.add_argument("--employees-sample", type=int, default=300)
    ap.add_argument("--branches-sample", type=int, default=None,
                    help="default: every branch (the issue's job set); fewer to keep a run short")
    ap.add_argument("--serial-jobs", type=int, default=30)
    ap.add_argument("--shared-sample", type=int, default=30)
    ap.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    ap.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--skip-serial", action="store_true")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters")
    args = ap.parse_args(argv)
    os.environ.setdefault("CI", "true")  # log lines, not a progress bar
    workers = args.workers or default_workers()
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    if not args.db.exists():
        from perfkit.data.demo import generate

        print(f"building {args.db} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        generate(args.db, branches=args.branches, employees=args.employees, clients=args.clients,
                 months=13, end_month="2026-10", seed=20261031)
        say(f"store built in {time.perf_counter() - t0:.0f} s")
    con = open_store(args.db)
    month = args.month or months(con)[-1]
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: S608 - fixed names
              for t in ("branches", "employees", "clients")}
    con.close()
    params, notebooks = args.params, args.notebooks
    everything, _ = plan_jobs(month, db=args.db, params=params, notebooks_dir=notebooks)
    by_role: dict[str, list[str]] = {}
    for j in everything:
        by_role.setdefault(j.role, []).append(j.entity_id)
    month_counts = {r: len(v) for r, v in by_role.items()}
    sample = pick(by_role.get("employee", []), args.employees_sample)
    branches = by_role.get("branch", [])
    if args.branches_sample is not None:
        branches = pick(branches, args.branches_sample)
    only = ["company", *branches, *sample]
    say(f"store {args.db}: {counts['branches']:,} branches, {counts['employees']:,} employees, "
        f"{counts['clients']:,} clients; month {month}: {month_counts} reports; {workers} workers, "
        f"{os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(args.out or tmp_name)
        # 1. the snapshot
        from perfkit.month.build import build

        say(f"load average before the snapshot: {load()}")
        t0 = time.perf_counter()
        with Timeline() as mem:
            snap = build(args.db, month, params)
        snap_s = time.perf_counter() - t0
        snap_bytes = sum(p.stat().st_size for p in Path(snap).rglob("*") if p.is_file())
        say(f"snapshot {snap.name}: {snap_s:.0f} s, {mb(snap_bytes)} on disk, peak {mb(mem.peak)}")

        # 2. ratio to the naive serial loop, on jobs in the month's proportions
        if not args.skip_serial:
            k = args.serial_jobs
            n_branch = max(1, round(k * month_counts.get("branch", 0) / sum(month_counts.values())))
            ids = ["company", *pick(by_role.get("branch", []), n_branch),
                   *pick(sample, k - 1 - n_branch)]
            jobs = [j for j in everything if j.entity_id in set(ids)]
            say("")
            say(f"ratio on {len(jobs)} jobs (1 company, {n_branch} branches, "
                f"{len(jobs) - 1 - n_branch} employees); load average {load()}")
            with Timeline() as mem_fast:
                fast = run(month, only=ids, workers=workers, force=True, out=tmp / "fast",
                           db=args.db, params=params, notebooks_dir=notebooks, progress="off",
                           engine="perfkit")
            with Timeline() as mem_serial:
                secs, ok = serial_cli(jobs, tmp / "serial")
            rate_fast = fast.ok / fast.seconds * 60
            rate_serial = ok / secs * 60
            say(f"load average after: {load()}")
            say("")
            say("| method | parallelism | reports ok | wall time (s) | reports/min | × serial loop "
                "| peak memory |")
            say("|---|---|---|---|---|---|---|")
            say(f"| `perfkit run` (perfkit engine, snapshot) | {workers} workers | {fast.ok} | "
                f"{fast.seconds:.1f} | {rate_fast:.1f} | {rate_fast / rate_serial:.1f}× | "
                f"{mb(mem_fast.peak)} |")
            say(f"| `papermill` CLI + `jupyter nbconvert --to html` CLI | serial | {ok} | "
                f"{secs:.1f} | {rate_serial:.1f} | 1.0× | {mb(mem_serial.peak)} |")
        # 3. the batch
        say(f"load average before the batch: {load()}")
        with Timeline() as mem:
            s = run(month, only=only, workers=workers, force=True, out=tmp / "batch", db=args.db,
                    params=params, notebooks_dir=notebooks, progress="log", engine="perfkit")
        first, last = mem.thirds()
        n_html, size = html_bytes(s.out_dir)
        per_role = role_seconds(s.manifest)
        say(f"load average after the batch: {load()}")
        say(f"batch: {s.ok} ok, {s.failed} failed in {s.seconds:.0f} s = "
            f"{s.reports_per_minute:.1f} reports/min; peak memory {mb(mem.peak)} (first third "
            f"{mb(first)}, last third {mb(last)}); {n_html} HTML files, {size / 2**20:,.0f} MB "
            f"inline ({size / max(n_html, 1) / 2**20:.2f} MB per report)")
        if s.failed:
            say(s.failure_line())
        say("")
        say("| role | reports | worker-seconds per report (median) | mean |")
        say("|---|---|---|---|")
        for role in ("company", "branch", "employee"):
            v = per_role.get(role, [])
            if v:
                say(f"| {role} | {len(v)} | {statistics.median(v):.2f} | {statistics.mean(v):.2f} |")

        # 4. shared assets
        n, inline_mean, shared_mean, asset_bytes = shared_sizes(s.out_dir, args.shared_sample,
                                                               tmp / "shared")
        say("")
        say(f"output size ({n} reports re-exported both ways): inline {inline_mean / 2**20:.2f} MB "
            f"per report; shared assets {shared_mean / 2**10:.0f} KB per report + "
            f"{asset_bytes / 2**20:.2f} MB of assets once per month")

        # 5. projection
        core_s = sum(statistics.mean(per_role[r]) * c for r, c in month_counts.items()
                     if per_role.get(r))
        reports = sum(month_counts.values())
        core_s_full = core_s / reports * FULL_MONTH
        minutes = (core_s_full / SERVER_CORES + snap_s) / 60
        say(f"projection: the store's full month ({reports:,} reports) is {core_s / 3600:.1f} "
            f"core-hours at the measured worker-seconds per role; {FULL_MONTH:,} reports in the "
            f"same mix on {SERVER_CORES} cores ≈ {core_s_full / SERVER_CORES / 60:.0f} min + the "
            f"snapshot {snap_s / 60:.1f} min = **{minutes:.0f} min**")

    if args.out:
        (args.out / "bench_scale.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
