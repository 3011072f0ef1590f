"""Benchmark of ``perfkit compare`` (what-if): how long an analyst waits for one comparison.

    .venv/bin/python bench/bench_compare.py [--db data/crm.duckdb] [--month 2026-10]
    .venv/bin/python bench/bench_compare.py --db /work/bench_1m.duckdb --clients 1000000

Three comparisons against the project's parameters, each in a fresh Python process (imports done
before the clock starts, as in a warm JupyterLab kernel), timed cold (no measures cache: the first
question after new data) and then again warm (the cache an earlier run or report left):

* a scorecard-only change (two indicator weights swapped in scorecard.yaml);
* a grade-band change;
* an 有效户 change (``effective_min_assets`` 10000 → 50000 元 in indicators.yaml), which changes
  the measures of one side.

The store is built with ``perfkit.data.demo.generate`` when ``--db`` does not exist.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHANGES = {
    "scorecard weights": ("scorecard.yaml", [
        ("{id: leads_new, weight: 30,", "{id: leads_new, weight: 40,"),
        ("{id: leads_opened, weight: 30,", "{id: leads_opened, weight: 20,")]),
    "grade band": ("scorecard.yaml", [("{min: 60, label: 基本合格, code: D}",
                                        "{min: 55, label: 基本合格, code: D}")]),
    "有效户 threshold": ("indicators.yaml", [("effective_min_assets: 10000 ",
                                             "effective_min_assets: 50000 ")]),
}

PROBE = """
import sys, time
from perfkit.month.compare import compare
import perfkit.appraisal.levels, perfkit.appraisal.pay  # noqa: F401 - imported before the clock
t0 = time.perf_counter()
c = compare(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
print(f"{time.perf_counter() - t0:.2f} {len(c.frame)} {len(c.movers)}")
"""


def variant(params: Path, folder: Path, file: str, edits: list[tuple[str, str]]) -> Path:
    shutil.copytree(params, folder)
    text = (folder / file).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, (file, old)
        text = text.replace(old, new)
    (folder / file).write_text(text, encoding="utf-8")
    return folder


def timed(db: Path, month: str, base: Path, new: Path, cache: Path) -> tuple[float, int, int]:
    env = {**os.environ, "PERFKIT_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(db), month, str(base), str(new)],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "data" / "crm.duckdb")
    ap.add_argument("--month", default=None, help="default: the store's latest complete month")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters")
    ap.add_argument("--clients", type=int, default=1_000_000, help="when --db must be built")
    ap.add_argument("--employees", type=int, default=1500)
    ap.add_argument("--branches", type=int, default=60)
    args = ap.parse_args()
    if not args.db.exists():
        from perfkit.data.demo import generate

        t0 = time.perf_counter()
        generate(args.db, clients=args.clients, employees=args.employees, branches=args.branches)
        print(f"built {args.db} in {time.perf_counter() - t0:.0f} s")
    from perfkit.data.store import resolve_month

    month = resolve_month(args.db, args.month or "latest")
    print(f"store {args.db}, month {month}, load average {os.getloadavg()[0]:.1f}\n")
    print("| change | cold | warm | entities | movers |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-compare-") as tmp:
        for name, (file, edits) in CHANGES.items():
            new = variant(args.params, Path(tmp) / name.split()[0], file, edits)
            cache = Path(tmp) / f"cache-{name.split()[0]}"
            cold, n, movers = timed(args.db, month, args.params, new, cache)
            warm, _, _ = timed(args.db, month, args.params, new, cache)
            print(f"| {name} | {cold:.1f} s | {warm:.1f} s | {n:,} | {movers:,} |")


if __name__ == "__main__":
    main()
