"""Benchmark of the monthly batch: the warm demo month rendered by `perfkit run --force` beside a
serial loop of the `papermill` CLI followed by `jupyter nbconvert --to html` on the same jobs, in
one run.

    .venv/bin/python bench/bench_batch.py [--db data/crm.duckdb] [--month 2026-10] [--workers N]
        [--serial-sample 12] [--max-jobs N] [--engines perfkit[,fresh]] [--out DIR]
        [--skip-serial]

Needs the role notebooks and the demo store (`perfkit demo`; built here with the default flags
when missing). Steps:

1. the month snapshot, built first when missing or stale (a *warm* month is one whose snapshot
   exists: `perfkit run` reuses it; its build time is printed apart);
2. every job of the month (or the first ``--max-jobs``) with `perfkit run --force` for each engine
   of ``--engines`` (``perfkit``: kernels forked from a warm fork server; ``fresh``: a kernel started
   from scratch per notebook): wall time, reports per minute, peak memory (summed proportional set
   size of this process and every child, sampled every 0.2 s);
3. the floor: per report, the notebook's own cell time (papermill's per-cell durations in the
   ``perfkit`` arm: a kernel with every import done) and its export (re-exported here after a
   warm-up), per role; the employee report's cells against the 0.25 s budget;
4. the serial loop on ``--serial-sample`` of the same jobs in the month's proportions (the company,
   branches, employees; at least one of each): seconds per report by role, extrapolated to every
   job of step 2 (running all 192 serially takes about half an hour), and the ratio to the
   ``perfkit`` arm's wall time (budget: at least 20×).

Prints Markdown for bench/README.md and the load average before and after each step: the project's
machine has 2 cores shared with other work, and the figures move with its load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from perfkit.batch import plan_jobs
from perfkit.batch.executors import default_workers
from perfkit.data.store import default_db, months, open_store

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CELLS_BUDGET = 0.25  # s: an employee report's cells on a warm kernel (issue 18)
WALL_BUDGET = 60.0  # s: the warm demo month on 2 cores
RATIO_BUDGET = 20.0  # × the serial loop


def serial_cli(jobs, out: Path) -> tuple[float, int]:
    """papermill CLI then nbconvert CLI per job, one after the other; (seconds, reports ok)."""
    secs, ok = serial_times(jobs, out)
    return sum(secs), ok


def serial_times(jobs, out: Path) -> tuple[list[float], int]:
    """Like :func:`serial_cli`: the seconds of each job and the reports ok."""
    out.mkdir(parents=True, exist_ok=True)
    ok, secs = 0, []
    for i, job in enumerate(jobs):
        t0 = time.perf_counter()
        nb = out / f"{i:04d}.ipynb"
        cmd = [str(BIN / "papermill"), str(job.notebook), str(nb), "-k", "python3",
               "--no-progress-bar", "--cwd", str(job.notebook.parent)]
        for k, v in job.parameters.items():
            cmd += ["-p", k, str(v)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            r = subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                                str(nb), "--output-dir", str(out)], capture_output=True, text=True)
        if r.returncode == 0:
            ok += 1
        else:
            print(f"serial: {job.key} failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        secs.append(time.perf_counter() - t0)
    return secs, ok


class PeakMemory:
    """Peak memory (bytes) of this process plus all its descendants while in the block: the sum of
    their proportional set sizes (PSS: a page shared by n processes counts 1/n in each, so kernels
    forked from one server are not counted n times), resident size where PSS is unavailable."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    try:
                        total += p.memory_full_info().pss
                    except AttributeError:  # no PSS on this platform
                        total += p.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def floor(month_dir: Path, keys: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """Per role, [(cell seconds, export seconds)] of every executed notebook of a batch: the cells
    as papermill timed them in the forked kernel (every import done), the export timed here by
    re-exporting the notebook (one warm-up first). ``keys``: executed notebook path → role."""
    from perfkit.report.export import export

    out: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        first = next(iter(keys))
        export(month_dir / first, Path(tmp) / "r.html", title="bench", meta={})  # warm-up
        for rel, role in keys.items():
            nb = month_dir / rel
            doc = json.loads(nb.read_text(encoding="utf-8"))
            cells = sum((c.get("metadata", {}).get("papermill", {}).get("duration") or 0)
                        for c in doc["cells"])
            t0 = time.perf_counter()
            export(nb, Path(tmp) / "r.html", title="bench", meta={"month": month_dir.name})
            out.setdefault(role, []).append((cells, time.perf_counter() - t0))
    return out


def sample(jobs, n: int):
    """``n`` of ``jobs`` in the month's proportions, at least one of each role, spread evenly."""
    by_role: dict[str, list] = {}
    for j in jobs:
        by_role.setdefault(j.role, []).append(j)
    take = {r: max(1, round(n * len(js) / len(jobs))) for r, js in by_role.items()}
    while sum(take.values()) > max(n, len(take)):
        biggest = max(take, key=take.get)
        take[biggest] -= 1
    out = []
    for role, js in by_role.items():
        step = len(js) / take[role]
        out += [js[int(i * step)] for i in range(take[role])]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=default_db())
    ap.add_argument("--month", default=None, help="default: the store's latest month")
    ap.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    ap.add_argument("--max-jobs", type=int, default=None, help="only the first N jobs")
    ap.add_argument("--serial-sample", type=int, default=12,
                    help="jobs the serial loop runs (extrapolated to all)")
    ap.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="role notebooks")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters", help="parameters folder")
    ap.add_argument("--skip-serial", action="store_true", help="time the batch only")
    ap.add_argument("--engines", default="perfkit",
                    help="kernel engines to time with perfkit run, comma-separated (perfkit, fresh)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("CI", "true")  # log lines, not a progress bar, in the output

    if not args.db.exists():
        from perfkit.data.demo import generate

        print(f"building the demo store {args.db} …", file=sys.stderr)
        generate(args.db, branches=12, employees=180, clients=60_000, months=13,
                 end_month="2026-10", seed=20261031)
    con = open_store(args.db)
    month = args.month or months(con)[-1]
    con.close()
    params, notebooks = args.params, args.notebooks
    jobs, _ = plan_jobs(month, db=args.db, params=params, notebooks_dir=notebooks)
    jobs = jobs[: args.max_jobs] if args.max_jobs else jobs
    only = [j.entity_id for j in jobs] if args.max_jobs else None
    workers = args.workers or default_workers()
    loads = [("start", load())]

    from perfkit.month.build import build

    t0 = time.perf_counter()
    build(args.db, month, params)  # the warm month: its snapshot exists before the run
    snap_s = time.perf_counter() - t0
    loads.append(("snapshot", load()))

    rows, fl, perfkit_wall = [], None, None
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        out = args.out or Path(tmp)
        for engine in [e for e in args.engines.split(",") if e]:
            # the CLI as a user types it, in its own process: the memory sampler here takes no
            # time from the batch's own process (its GIL), only a little of the cores
            batch_out = out / f"batch-{engine}"
            cmd = [str(BIN / "perfkit"), "run", "--month", month, "--force", "--workers",
                   str(workers), "--out", str(batch_out), "--db", str(args.db), "--params",
                   str(params), "--notebooks", str(notebooks), "--engine", engine,
                   "--progress", "off", *(["--only", ",".join(only)] if only else [])]
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True)
                wall = time.perf_counter() - t0
            loads.append((f"perfkit run --engine {engine}", load()))
            manifest = json.loads((batch_out / month / "manifest.json").read_text(encoding="utf-8"))
            ok = sum(1 for j in manifest["jobs"].values() if j.get("status") == "ok")
            rows.append((f"`perfkit run --force` (engine {engine})", f"{workers} workers", ok,
                         wall, mem.peak, False))
            if r.returncode:
                print(f"perfkit run exited {r.returncode}: {r.stderr.strip()[-2000:]}",
                      file=sys.stderr)
            if engine == "perfkit":
                perfkit_wall = wall
                fl = floor(batch_out / month, {j.executed: j.role for j in jobs})
        serial = None
        if not args.skip_serial:
            chosen = sample(jobs, args.serial_sample)
            with PeakMemory() as mem:
                secs, ok = serial_times(chosen, out / "serial")
            loads.append(("serial loop", load()))
            per_role: dict[str, list[float]] = {}
            for job, t in zip(chosen, secs, strict=True):
                per_role.setdefault(job.role, []).append(t)
            counts: dict[str, int] = {}
            for j in jobs:
                counts[j.role] = counts.get(j.role, 0) + 1
            total = sum(statistics.mean(per_role[r]) * n for r, n in counts.items())
            serial = (per_role, total, len(chosen), ok)
            rows.append(("`papermill` CLI + `jupyter nbconvert --to html` CLI", "serial", len(jobs),
                         total, mem.peak, True))

    print(f"\nmonth {month}, {len(jobs)} reports (company, branches, employees), "
          f"{os.cpu_count()} cores, {workers} workers; month snapshot {snap_s:.1f} s before the "
          f"run (0 when it was built already: the warm month)")
    print("load average (1, 5, 15 min): " + "; ".join(f"{k} {v}" for k, v in loads) + "\n")
    print("| method | parallelism | reports | wall time (s) | reports/min | peak memory (MB) |")
    print("|---|---|---|---|---|---|")
    for name, par, ok, secs, peak, extrapolated in rows:
        note = " (extrapolated)" if extrapolated else ""
        print(f"| {name} | {par} | {ok} | {secs:.1f}{note} | {ok / secs * 60:.1f} | "
              f"{peak / 2**20:.0f} |")
    if serial is not None:
        per_role, total, n, ok = serial
        print(f"\nserial loop: {n} of the jobs run ({ok} ok), seconds per report: "
              + ", ".join(f"{r} {statistics.mean(t):.1f} ({len(t)})" for r, t in per_role.items())
              + f"; × the month's jobs = {total:.0f} s")
        if perfkit_wall:
            ratio = total / perfkit_wall
            print(f"perfkit is **{ratio:.1f}×** the serial loop (budget ≥ {RATIO_BUDGET:.0f}×); "
                  f"wall {perfkit_wall:.1f} s (budget ≤ {WALL_BUDGET:.0f} s on 2 cores)")
    if fl is not None:
        print("\nfloor: the notebooks' own cell time (papermill, forked kernel) and one export "
              "(re-exported here), seconds per report\n")
        print("| role | reports | cells mean | cells median | export mean | floor mean |")
        print("|---|---:|---:|---:|---:|---:|")
        all_pairs = []
        for role, pairs in fl.items():
            all_pairs += pairs
            cells = [p[0] for p in pairs]
            e = statistics.mean(p[1] for p in pairs)
            print(f"| {role} | {len(pairs)} | {statistics.mean(cells):.3f} | "
                  f"{statistics.median(cells):.3f} | {e:.3f} | {statistics.mean(cells) + e:.3f} |")
        if "employee" in fl:
            emp = statistics.mean(p[0] for p in fl["employee"])
            print(f"\nemployee report cells {emp:.3f} s of wall time in the batch, beside the "
                  f"other worker and the exports (alone on a warm kernel: bench/bench_cells.py, "
                  f"budget ≤ {CELLS_BUDGET} s)")
        floor_wall = sum(c + e for c, e in all_pairs) / workers
        if perfkit_wall:
            print(f"floor of the {len(all_pairs)} reports: {floor_wall:.1f} s wall on {workers} "
                  f"workers; measured {perfkit_wall:.1f} s ({perfkit_wall / floor_wall:.2f}× the "
                  f"floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
