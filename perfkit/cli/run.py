"""``perfkit run`` (every report of a month, the monthly batch; defaults from
``parameters/run.yaml``) and ``perfkit render`` (one report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfkit.batch.config import ROLES, load_run_config
from perfkit.cli.common import MONTH_HELP, add_db, add_params, month, positive
from perfkit.metrics.catalog import find_params


def cmd_run(args: argparse.Namespace) -> int:
    """Run the batch; print the summary line (and the failed entities on standard error)."""
    from perfkit.batch.runner import run

    cfg = load_run_config(find_params(args.params))
    roles = cfg.roles if args.role is None else ROLES if args.role == "all" else (args.role,)
    summary = run(
        args.month,
        roles=roles,
        only=args.only.split(",") if args.only else None,
        workers=args.workers or cfg.workers,
        scheduler=args.scheduler or cfg.scheduler,
        force=args.force,
        out=args.out,
        db=args.db,
        params=args.params,
        assets=args.assets or cfg.assets,
        notebooks_dir=args.notebooks,
        exporter=args.exporter,
        progress=args.progress,
        snapshot=args.snapshot,
        engine=args.engine,
    )
    print(summary.line())
    print(f"index: {summary.index}")
    if summary.failed:
        print(f"perfkit: error: {summary.failure_line()}", file=sys.stderr)
    return summary.exit_code


def run_store(args: argparse.Namespace) -> Path:
    """The store ``perfkit run`` reads: ``--db``, run.yaml's ``db``, else the project's."""
    from perfkit.batch.runner import run_paths

    return run_paths(find_params(args.params), db=args.db)["db"]


def cmd_render(args: argparse.Namespace) -> int:
    """Render one report; print the file written."""
    from perfkit.batch.render import render

    out = render(args.month, args.role, args.out, entity=args.entity, db=args.db,
                 params=args.params, notebooks_dir=args.notebooks, assets=args.assets)
    print(out)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register run and render."""
    p = sub.add_parser(
        "run",
        help="render every report of a month (the monthly batch)",
        description="Render every report of a month: one job per (month, role, entity), executed in "
        "parallel; output/<month>/ gets the HTML reports, the executed notebooks, manifest.json, "
        "index.html and distribution.csv. A rerun redoes only failed, missing or changed jobs. "
        "Defaults come from parameters/run.yaml. Exit code 6 when any report failed.",
    )
    p.add_argument("--month", type=month, default=None, metavar="YYYY-MM",
                   help="month YYYY-MM, latest or previous (default: the latest complete month "
                   "in the store)")
    p.add_argument("--role", choices=(*ROLES, "all"), default=None,
                   help="which reports (default: roles in run.yaml, i.e. all)")
    p.add_argument("--only", default=None, metavar="ID,...",
                   help="only these entity ids (branch_id, employee_id or 'company'), comma-separated")
    p.add_argument("--workers", type=positive, default=None, metavar="N",
                   help="parallel local jobs (default: run.yaml, else the number of CPU cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask distributed scheduler, e.g. tcp://host:8786 (default: local processes)")
    p.add_argument("--force", action="store_true",
                   help="redo every job, even those that are up to date")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="output folder (default: run.yaml, else the project's output/)")
    p.add_argument("--db", type=Path, default=None, metavar="PATH",
                   help="DuckDB store path (default: run.yaml, $PERFKIT_DB or the project's store)")
    p.add_argument("--assets", choices=("inline", "shared"), default=None,
                   help="widget bundle in every file (inline) or once in <month>/assets/ (shared)")
    p.add_argument("--params", type=Path, default=None, metavar="DIR",
                   help="parameters folder holding run.yaml (default: the project's parameters/)")
    p.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                   help="folder of the role notebooks (default: run.yaml, else the project's notebooks/)")
    p.add_argument("--exporter", default=None, metavar="NAME",
                   help="HTML exporter: perfkit (offline report template, default) or plain "
                   "(outputs as text, for checking a batch without the template)")
    p.add_argument("--engine", choices=("perfkit", "fresh"), default=None,
                   help="perfkit: each notebook in a new kernel forked from a warm per-worker fork "
                   "server (fast, default); fresh: a kernel started from scratch per notebook")
    p.add_argument("--progress", choices=("bar", "log", "off"), default=None,
                   help="progress display (default: a bar on a terminal, log lines under CI)")
    p.add_argument("--snapshot", action=argparse.BooleanOptionalAction, default=None,
                   help="compute the month's data once and give every report its slice (default: "
                   "when two or more reports run); --no-snapshot: each notebook computes its own")
    p.set_defaults(func=cmd_run, month_default="latest", store_for=run_store, out_kind="folder")

    p = sub.add_parser(
        "render", help="render one report (execute the role notebook, export one HTML file)",
        description="Render one report end to end: papermill executes notebooks/<role>.ipynb with "
        "the month and entity, perfkit.report.export writes one offline HTML file.")
    add_db(p)
    p.add_argument("--month", type=month, required=True, help=MONTH_HELP)
    p.add_argument("--role", choices=ROLES, required=True,
                   help="which view: company (总部), branch (营业部) or employee (员工)")
    p.add_argument("--entity", help="branch id (role branch) or employee id (role employee)")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")
    add_params(p)
    p.add_argument("--notebooks", type=Path, default=None,
                   help="folder of the role notebooks (default: the project's notebooks/)")
    p.add_argument("--assets", choices=("inline", "shared"), default="inline",
                   help="inline: one self-contained file; shared: widget bundle in assets/ beside it")
    p.set_defaults(func=cmd_render, store_for=run_store)
