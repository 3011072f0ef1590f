"""Benchmark of the month snapshot: time to build it, and a report's data load with and without it.

    .venv/bin/python bench/bench_snapshot.py [--db data/crm.duckdb] [--month 2026-10] [--repeat 3]
                                             [--employee ID] [--branch ID]

The snapshot is built twice in a scratch cache folder: cold (no measures cache either, as for the first
run on new data; its peak memory, the PSS of this process, is printed too) and with the measures
cache already filled. The data load of a report is the
construction of its class in ``perfkit.report`` (everything ``__post_init__`` loads; no widgets drawn),
timed in a fresh Python process per sample (pandas, pyarrow, duckdb, matplotlib and seaborn imported
and the chart style set before the clock starts, as in a kernel that has run its imports), with the measures cache warm — what a batch notebook pays after the first
job — and then from the snapshot. Prints a Markdown table for the README (medians of ``--repeat``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import PeakMemory  # noqa: E402

from perfkit.data.store import default_db, months, open_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys, time
import pyarrow.parquet
from perfkit.report import charts
from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport
charts.setup()  # matplotlib + seaborn + fonts: imported once per kernel, not data loading
cls = {"company": CompanyReport, "branch": BranchReport, "employee": EmployeeReport}[sys.argv[1]]
kw = {"branch": {"branch_id": sys.argv[3]}, "employee": {"employee_id": sys.argv[3]}}.get(sys.argv[1], {})
snap = sys.argv[5] or None
t0 = time.perf_counter()
cls(sys.argv[2], db=sys.argv[4], snapshot=snap, **kw)
print(json.dumps(time.perf_counter() - t0))
"""


def load_seconds(role: str, month: str, entity: str, db: Path, snapshot: str, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, role, month, entity, str(db), snapshot],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=default_db())
    ap.add_argument("--month", default=None, help="default: the store's latest month")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--employee", default=None, help="default: the first employee of the branch")
    ap.add_argument("--branch", default=None, help="default: the first branch")
    args = ap.parse_args(argv)

    db = args.db.resolve()
    con = open_store(db)
    try:
        month = args.month or months(con)[-1]
        branch = args.branch or con.execute("SELECT min(branch_id) FROM branches").fetchone()[0]
        emp = args.employee or con.execute(
            "SELECT min(employee_id) FROM employees WHERE branch_id = ?", [branch]).fetchone()[0]
        size = con.execute("SELECT (SELECT count(*) FROM branches), (SELECT count(*) FROM employees), "
                           "(SELECT count(*) FROM clients)").fetchone()
    finally:
        con.close()

    from perfkit.month.build import build

    scratch = Path(tempfile.mkdtemp(prefix="perfkit-bench-snapshot-"))
    env = {**os.environ, "PERFKIT_CACHE": str(scratch)}
    os.environ["PERFKIT_CACHE"] = str(scratch)
    try:
        t0 = time.perf_counter()
        with PeakMemory() as mem:
            build(db, month, root=scratch / "cold")
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        path = build(db, month, root=scratch / "warm")
        warm = time.perf_counter() - t0
        snap_bytes = sum(p.stat().st_size for p in path.iterdir())

        rows = []
        for role, entity in (("employee", emp), ("branch", branch), ("company", "company")):
            direct = [load_seconds(role, month, entity, db, "", env) for _ in range(args.repeat)]
            sliced = [load_seconds(role, month, entity, db, str(path), env)
                      for _ in range(args.repeat)]
            d, s = statistics.median(direct), statistics.median(sliced)
            rows.append((role, entity, d, s))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"store {db}: {size[0]} branches, {size[1]} employees, {size[2]:,} clients; "
          f"month {month}; medians of {args.repeat} fresh processes")
    print(f"snapshot build: {cold:.1f} s cold (measures computed; peak {mem.peak / 2**20:,.0f} MB "
          f"PSS), {warm:.1f} s with the measures cache; {snap_bytes / 1e6:.1f} MB of Parquet; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| report | data load, direct | data load, snapshot slice | speed-up |")
    print("|---|---:|---:|---:|")
    for role, entity, d, s in rows:
        print(f"| {role} {entity} | {d:.2f} s | {s:.2f} s | {d / s:.0f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
