"""Benchmark of one report's cells on a warm kernel: the role notebook's code run again and again in
one Jupyter kernel, with what a kernel forked from the batch's fork server has in memory (every
import, the month snapshot, the parsed parameters), timed per cell in wall and CPU time.

    .venv/bin/python bench/bench_cells.py [--role employee] [--entity E00016] [--db data/crm.duckdb]
        [--month 2026-10] [--runs 3] [--profile FILE]

The first run warms the kernel (imports, caches) and is reported apart; the next ``--runs`` are
averaged. CPU time is the kernel process's (``time.process_time()``: every thread of it), so it
moves less with the machine's load than wall time. Widgets are built and sent as in a report (the
kernel's comm messages included); ``--profile`` writes cProfile's statistics of one more run
(cumulative and own time) to FILE. Budget (issue 18): an employee report's cells at most 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import io, pathlib, time, cProfile, pstats
from IPython.display import display
import ipywidgets
from perfkit.files import read_yaml
from perfkit.month.snapshot import preload
preload(snapshot, 64 << 20)  # as the fork server does (a snapshot of the demo size)
for path in pathlib.Path(params).glob("*.yaml"):
    read_yaml(path, expect=None)
CELLS = {cells!r}

def run():
    wall, cpu = [], []
    for source in CELLS:
        t0, c0 = time.perf_counter(), time.process_time()
        expression = "\\n" not in source.strip() and not source.lstrip().startswith(("from", "import"))
        value = eval(source, globals()) if expression else exec(source, globals())
        if value is not None:
            display(value)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ipywidgets.Widget.close_all()
    return wall, cpu

first = run()
runs = [run() for _ in range({runs})]
if {profile!r}:
    pr = cProfile.Profile()
    pr.enable()
    run()
    pr.disable()
    out = io.StringIO()
    stats = pstats.Stats(pr, stream=out)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    pathlib.Path({profile!r}).write_text(out.getvalue(), encoding="utf-8")
print("PERFKIT-CELLS " + __import__("json").dumps({{"first": first, "runs": runs}}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", default="employee", choices=("company", "branch", "employee"))
    ap.add_argument("--entity", default=None, help="branch or employee id (default: the first)")
    ap.add_argument("--db", type=Path, default=ROOT / "data" / "crm.duckdb")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--params", type=Path, default=ROOT / "parameters")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", default="", help="write cProfile statistics of one run here")
    args = ap.parse_args(argv)

    from perfkit.batch import plan_jobs
    from perfkit.month.build import build

    snapshot = build(args.db, args.month, args.params)
    jobs, _ = plan_jobs(args.month, roles=[args.role], db=args.db, params=args.params,
                        notebooks_dir=ROOT / "notebooks")
    job = next(j for j in jobs if args.entity in (None, j.entity_id))
    nb = nbformat.read(job.notebook, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"
             and "parameters" not in c.metadata.get("tags", [])]
    params = {**job.parameters, "snapshot": str(snapshot)}
    setup = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    program = setup + PROGRAM.format(cells=cells, runs=args.runs,
                                     profile=str(Path(args.profile).resolve()) if args.profile else "")
    run_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(program)])
    NotebookClient(run_nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(job.notebook.parent)}}).execute()
    text = "".join(o.get("text", "") for o in run_nb.cells[0].outputs if o.output_type == "stream")
    line = next(x for x in text.splitlines() if x.startswith("PERFKIT-CELLS "))
    data = json.loads(line.removeprefix("PERFKIT-CELLS "))
    walls = [sum(w) for w, _ in data["runs"]]
    cpus = [sum(c) for _, c in data["runs"]]
    n = len(data["runs"])
    print(f"\n{job.title}: {len(cells)} code cells, {n} runs after one warm-up; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| cell | wall (ms) | CPU (ms) |")
    print("|---|---:|---:|")
    for i, source in enumerate(cells):
        wall = sum(r[0][i] for r in data["runs"]) / n * 1000
        cpu = sum(r[1][i] for r in data["runs"]) / n * 1000
        print(f"| `{source.strip().splitlines()[-1][:48]}` | {wall:.0f} | {cpu:.0f} |")
    print(f"| **all** | **{sum(walls) / n * 1000:.0f}** | **{sum(cpus) / n * 1000:.0f}** |")
    print(f"\nfirst run (warm-up): {sum(data['first'][0]) * 1000:.0f} ms wall, "
          f"{sum(data['first'][1]) * 1000:.0f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
