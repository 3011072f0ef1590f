"""Benchmark of the monthly batch: `perfkit run` for the demo month (all roles) with each kernel engine
(``perfkit``: kernels forked from a warm fork server; ``fresh``: a kernel started from scratch per
notebook) beside a serial loop of the `papermill` CLI followed by `jupyter nbconvert --to html` over
the same jobs, in the same run.

    .venv/bin/python bench/bench_batch.py [--db data/crm.duckdb] [--month 2026-10] [--workers N]
                                          [--max-jobs N] [--out DIR] [--skip-serial]
                                          [--engines perfkit,fresh]

Needs the role notebooks (notebooks/company.ipynb, branch.ipynb, employee.ipynb) and the demo store
(`perfkit demo`; built here with the default flags when missing). ``--max-jobs`` renders the same
first N jobs (company, branches, then employees) in every arm, to keep a run short.
Prints, as Markdown tables for the README: wall time, reports per minute and peak memory (summed
proportional set size of this process and all its children, sampled every 0.2 s) per arm and the ratio to the serial
loop (the ``perfkit`` arm's time includes building the month snapshot, forced, as a batch does
once). Then the floor: for every report, the notebook's own cell time (papermill's per-cell
durations in the ``perfkit`` arm, i.e. in a kernel with every import done) plus its export
(re-exported in this process after a warm-up), summed and divided by the workers, against the
measured wall time of rendering them; per role, the means. The machine's load average is printed
before and after.
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

from perfkit.batch import plan_jobs, run
from perfkit.batch.executors import default_workers
from perfkit.data.store import default_db, months, open_store

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def serial_cli(jobs, out: Path) -> tuple[float, int]:
    """papermill CLI then nbconvert CLI per job, one after the other; (seconds, reports ok)."""
    out.mkdir(parents=True, exist_ok=True)
    ok = 0
    t0 = time.perf_counter()
    for i, job in enumerate(jobs):
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
    return time.perf_counter() - t0, ok


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=default_db())
    ap.add_argument("--month", default=None, help="default: the store's latest month")
    ap.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    ap.add_argument("--max-jobs", type=int, default=None, help="only the first N jobs in both arms")
    ap.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="role notebooks")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters", help="parameters folder")
    ap.add_argument("--skip-serial", action="store_true", help="time the batch only")
    ap.add_argument("--engines", default="perfkit,fresh",
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
    month_reports = len(jobs)
    jobs = jobs[: args.max_jobs] if args.max_jobs else jobs
    only = [j.entity_id for j in jobs] if args.max_jobs else None

    engines = [e for e in args.engines.split(",") if e]
    workers = args.workers or default_workers()
    rows = []
    fl = snap_s = fast_render = None
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        out = args.out or Path(tmp)
        for engine in engines:
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                if engine == "perfkit":  # timed apart: the batch's one-off cost, then the reports
                    from perfkit.month.build import build

                    build(args.db, month, params, force=True)
                    snap_s = time.perf_counter() - t0
                s = run(month, only=only, workers=workers, force=True, out=out / f"batch-{engine}",
                        db=args.db, params=params, notebooks_dir=notebooks, progress="off",
                        engine=engine)
                total = time.perf_counter() - t0
            rows.append((f"`perfkit run --engine {engine}`", f"{workers} workers", s.ok, total,
                         mem.peak))
            if s.failed:
                print(s.failure_line(), file=sys.stderr)
            if engine == "perfkit":
                fast_render = (s.ok, s.seconds)
                fl = floor(s.out_dir, {j.executed: j.role for j in jobs})
        if not args.skip_serial:
            with PeakMemory() as mem:
                secs, ok = serial_cli(jobs, out / "serial")
            rows.append(("`papermill` CLI + `jupyter nbconvert --to html` CLI", "serial", ok, secs,
                         mem.peak))
    load_after = load()

    print(f"\nmonth {month}, {len(jobs)} reports (company, branches, employees), "
          f"{os.cpu_count()} cores; load average before {load_before}, after {load_after}\n")
    serial = next((r for r in rows if r[1] == "serial"), None)
    print("| method | parallelism | reports ok | wall time (s) | reports/min | × serial loop "
          "| peak memory (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, par, ok, secs, peak in rows:
        rate = ok / secs * 60
        ratio = f"{rate / (serial[2] / serial[3] * 60):.1f}×" if serial and serial[2] else "—"
        print(f"| {name} | {par} | {ok} | {secs:.1f} | {rate:.1f} | {ratio} | {peak / 2**20:.0f} |")
    if fl is not None and fast_render is not None:
        ok, render_s = fast_render
        print(f"\nthe perfkit arm: month snapshot {snap_s:.1f} s (built once per batch, forced), "
              f"then {ok} reports in {render_s:.1f} s")
        if serial and serial[2] and ok:
            share = snap_s * len(jobs) / month_reports
            serial_rate = serial[2] / serial[3]
            print(f"the snapshot serves the month's {month_reports} reports: these {len(jobs)} "
                  f"reports' share is {share:.1f} s; with it instead of the whole build the perfkit "
                  f"arm is {render_s + share:.1f} s = "
                  f"{ok / (render_s + share) / serial_rate:.1f}× the serial loop (the whole "
                  f"build: {ok / (render_s + snap_s) / serial_rate:.1f}×)")
        print("\nfloor: the notebooks' own cell time (papermill, forked kernel) plus one export "
              "(re-exported here), per report, against the measured worker time\n")
        print("| role | reports | cells (s, mean) | export (s, mean) | floor (s, mean) |")
        print("|---|---|---|---|---|")
        all_pairs = []
        for role, pairs in fl.items():
            all_pairs += pairs
            c = statistics.mean(p[0] for p in pairs)
            e = statistics.mean(p[1] for p in pairs)
            print(f"| {role} | {len(pairs)} | {c:.2f} | {e:.2f} | {c + e:.2f} |")
        floor_cpu = sum(c + e for c, e in all_pairs)
        floor_wall = floor_cpu / workers
        print(f"\nfloor of the {len(all_pairs)} reports: {floor_cpu:.1f} s of cells + export, "
              f"/ {workers} workers = {floor_wall:.1f} s wall; measured {render_s:.1f} s wall for "
              f"rendering them ({render_s / floor_wall:.2f}× the floor; "
              f"{render_s / max(ok, 1):.2f} s per report, floor {floor_wall / len(all_pairs):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
