"""Benchmark of the monthly batch: `perfkit run` for the demo month (all roles) beside a serial loop of
the `papermill` CLI followed by `jupyter nbconvert --to html` over the same jobs, in the same run.

    .venv/bin/python bench/bench_batch.py [--db data/crm.duckdb] [--month 2026-10] [--workers N]
                                          [--max-jobs N] [--out DIR] [--skip-serial]

Needs the role notebooks (notebooks/company.ipynb, branch.ipynb, employee.ipynb) and the demo store
(`perfkit demo`; built here with the default flags when missing). ``--max-jobs`` renders the same
first N jobs (company, branches, then employees) in both arms, to keep a run short.
Prints wall time and reports per minute for both, as a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perfkit.batch import plan_jobs, run
from perfkit.batch.executors import default_workers
from perfkit.store import default_db, months, open_store

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
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("CI", "true")  # log lines, not a progress bar, in the output

    if not args.db.exists():
        from perfkit.demo import generate

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

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        out = args.out or Path(tmp)
        s = run(month, only=only, workers=args.workers, force=True, out=out / "batch", db=args.db,
                params=params, notebooks_dir=notebooks, progress="off")
        rows = [("perfkit run", f"{args.workers or default_workers()} workers", s.ok, s.seconds)]
        if s.failed:
            print(s.failure_line(), file=sys.stderr)
        if not args.skip_serial:
            secs, ok = serial_cli(jobs, out / "serial")
            rows.append(("papermill CLI + nbconvert CLI", "serial", ok, secs))

    print(f"\nmonth {month}, {len(jobs)} reports (company, branches, employees), "
          f"{os.cpu_count()} cores\n")
    print("| method | parallelism | reports ok | wall time (s) | reports/min |")
    print("|---|---|---|---|---|")
    for name, par, ok, secs in rows:
        print(f"| {name} | {par} | {ok} | {secs:.1f} | {ok / secs * 60:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
