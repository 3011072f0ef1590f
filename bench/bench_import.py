"""Benchmark of ``perfkit import`` of a large Excel workbook: python-calamine against openpyxl.

    .venv/bin/python bench/bench_import.py [--db data/crm.duckdb] [--rows 200000] [--repeat 3]

Writes ``--rows`` rows of the store's ``client_months`` (10 columns) to an .xlsx workbook once (kept
in a scratch folder, as Excel would save it: dates and numbers typed), then imports it into a copy of
the store with each engine, best of ``--repeat``: the sheet read alone (text cells into DuckDB) and
the whole import (read, every check, replace by key, commit). Prints a Markdown table for
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from perfkit.data import excel
from perfkit.data.importer import import_paths
from perfkit.data.readers import ReadOptions, read_file
from perfkit.data.store import default_db


def write_workbook(db: Path, rows: int, path: Path) -> None:
    import openpyxl

    con = duckdb.connect(str(db), read_only=True)
    cur = con.execute(f"SELECT * FROM client_months ORDER BY month DESC, client_id LIMIT {rows}")
    header = [d[0] for d in cur.description]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("client_months")
    ws.append(header)
    while batch := cur.fetchmany(10_000):
        for row in batch:
            ws.append(list(row))
    wb.save(path)
    con.close()


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    db = Path(args.db or default_db())
    scratch = Path(tempfile.gettempdir()) / "perfkit-bench-import"
    scratch.mkdir(exist_ok=True)
    book = scratch / f"client_months_{args.rows}.xlsx"
    if not book.exists():
        t0 = time.perf_counter()
        write_workbook(db, args.rows, book)
        print(f"wrote {book} ({book.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    calamine = excel._calamine_rows

    def refuse(*_):
        raise excel._Unreadable("benchmark: openpyxl")

    results = []
    for engine in ("python-calamine", "openpyxl"):
        excel._calamine_rows = calamine if engine == "python-calamine" else refuse

        def read_only() -> None:
            con = duckdb.connect()
            read_file(book, con, "t", ReadOptions())
            con.close()

        def whole() -> None:
            copy = scratch / "store.duckdb"
            shutil.copy(db, copy)
            import_paths(copy, [book])
            os.unlink(copy)

        results.append((engine, best(read_only, args.repeat), best(whole, args.repeat)))
    excel._calamine_rows = calamine
    print(f"\n{args.rows:,} rows × 10 columns ({book.stat().st_size / 1e6:.1f} MB), best of "
          f"{args.repeat}; load average {os.getloadavg()[0]:.1f}\n")
    print("| engine | read the sheet | whole import |")
    print("|---|---:|---:|")
    for engine, read_s, whole_s in results:
        print(f"| {engine} | {read_s:.1f} s | {whole_s:.1f} s |")


if __name__ == "__main__":
    main()
