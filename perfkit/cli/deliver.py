"""``perfkit deliver``: e-mail every recipient of a month his own reports (delivery.yaml)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfkit.cli.common import MONTH_HELP, add_db, add_params, month
from perfkit.cli.run import run_store


def cmd_deliver(args: argparse.Namespace) -> int:
    from perfkit.delivery.runner import deliver

    summary = deliver(args.month, out=args.out, db=args.db, params=args.params,
                      dry_run=args.dry_run, only=args.only.split(",") if args.only else None,
                      resend=args.resend, unpublished=args.unpublished, progress=args.progress)
    print(summary.line())
    if summary.exit_code:
        print(f"perfkit: error: {summary.failed + summary.refused} message(s) not sent; see "
              "the log above and delivery.json", file=sys.stderr)
    return summary.exit_code


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register deliver."""
    p = sub.add_parser(
        "deliver", help="e-mail every recipient his own reports of a month",
        description="Send each recipient of the month one message (To him only) with exactly his "
        "reports attached: the company report to headquarters (delivery.yaml), a branch report "
        "to its 营业部负责人 (with his employees' reports in one zip when configured), an "
        "employee report to the employee (employees.email). Scope is checked again before each "
        "message. Only a published month is delivered unless --unpublished; a rerun sends only "
        "what was not delivered yet or changed. Every step is recorded in "
        "output/<month>/delivery.json. Exit code 7 when a message failed or was refused.")
    add_db(p)
    add_params(p)
    p.add_argument("--month", type=month, default=None, help=MONTH_HELP + " (default: latest)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder of perfkit run (default: run.yaml, else the project's)")
    p.add_argument("--dry-run", action="store_true",
                   help="print who would get which files; send and record nothing")
    p.add_argument("--only", default=None, metavar="ID,...",
                   help="only these recipients or report entities (employee, branch ids, "
                   "'company', a headquarters address), comma-separated")
    p.add_argument("--resend", action="store_true",
                   help="send again also what was already delivered")
    p.add_argument("--unpublished", action="store_true",
                   help="deliver a month that is not published (every message says so)")
    p.add_argument("--progress", choices=("bar", "log", "off"), default=None,
                   help="progress display (default: a bar on a terminal, log lines under CI)")
    p.set_defaults(func=cmd_deliver, month_default="latest", out_kind="folder", store_for=run_store)
