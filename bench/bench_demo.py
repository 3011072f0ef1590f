"""Benchmark ``perfkit demo``: build a large synthetic store and report seconds per table.

    .venv/bin/python bench/bench_demo.py                # 1,000,000 clients, 13 months
    .venv/bin/python bench/bench_demo.py --clients 200000

The store is written to a temporary directory and removed afterwards (``--keep DIR`` keeps it).
Wall seconds depend on what else runs on the machine, so the script also prints CPU seconds
(all threads) and the load average before and after; peak memory is the process's proportional set
size (PSS), sampled every 0.2 s. Clients are simulated and written 500,000 at a time
(``perfkit.data.demo.generator.CHUNK_CLIENTS``), so the peak does not grow with ``--clients``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import PeakMemory  # noqa: E402

from perfkit.data.demo import generate  # noqa: E402


class _Timings(logging.Handler):
    """Collects the per-table timing records that perfkit.data.demo logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.rows: list[tuple[str, int, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "demo_table", None)
        if name is not None:
            self.rows.append((name, record.demo_rows, record.demo_build, record.demo_write))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1_000_000)
    p.add_argument("--branches", type=int, default=12)
    p.add_argument("--employees", type=int, default=180)
    p.add_argument("--months", type=int, default=13)
    p.add_argument("--seed", type=int, default=20261031)
    p.add_argument("--keep", type=Path, default=None, help="write the store into this folder and keep it")
    args = p.parse_args(argv)

    timings = _Timings()
    log = logging.getLogger("perfkit.data.demo")
    log.setLevel(logging.INFO)
    log.addHandler(timings)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "bench.duckdb"
        t0, c0 = time.perf_counter(), time.process_time()
        with PeakMemory() as mem:
            counts = generate(db, branches=args.branches, employees=args.employees,
                              clients=args.clients, months=args.months, seed=args.seed)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = db.stat().st_size
    total_rows = sum(counts.values())
    print(f"perfkit demo --clients {args.clients:,} --months {args.months} "
          f"(branches {args.branches}, employees {args.employees}, {os.cpu_count()} CPUs)")
    print("build = numpy/Arrow seconds in the main thread; write = DuckDB load seconds in a writer")
    print("thread (summed over the chunks of clients); building and writing overlap, so the total")
    print("is less than their sum.")
    print(f"{'table':<18}{'rows':>14}{'build s':>10}{'write s':>10}{'rows/s':>14}")
    summed: dict[str, list[float]] = {}
    for name, rows, build, write in timings.rows:  # one record per table and chunk
        acc = summed.setdefault(name, [0, 0.0, 0.0])
        acc[0] += rows
        acc[1] += build
        acc[2] += write
    for name, (rows, build, write) in summed.items():
        rate = f"{rows / write:,.0f}" if rows and write > 0 else ""
        print(f"{name:<18}{rows:>14,}{build:>10.1f}{write:>10.1f}{rate:>14}")
    print(f"{'total (wall)':<18}{total_rows:>14,}{wall:>10.1f}{'':>10}{total_rows / wall:>14,.0f}")
    print(f"cpu seconds (all threads): {cpu:.1f}; peak memory {mem.peak / 2**20:,.0f} MB (PSS)")
    print(f"store size {size / 1e6:,.0f} MB")
    load_after = os.getloadavg()
    print("load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
