"""The ``perfkit`` command line: argument parsing only. Each command group is one module that adds its
subcommands (``add_commands``) and makes one API call per command; :func:`main` maps every
:class:`~perfkit.errors.PerfkitError` to one line on standard error and its exit code.

========================  =====================================================
module                    commands
========================  =====================================================
:mod:`.store`             demo, import, info, schema
:mod:`.reports`           indicators, tasks, tables, scores, levels, pay
:mod:`.run`               run, render
:mod:`.month`             snapshot, publish
:mod:`.check`             check
========================  =====================================================
"""

from __future__ import annotations

import argparse
import logging
import sys

from perfkit.cli import check, month, reports, run, store
from perfkit.errors import PerfkitError

#: The command groups, in the order ``perfkit --help`` lists them.
GROUPS = (store, reports, run, month, check)


def build_parser() -> argparse.ArgumentParser:
    """The ``perfkit`` parser with every command of :data:`GROUPS`."""
    parser = argparse.ArgumentParser(
        prog="perfkit",
        description="perfkit — CRM performance-appraisal (客户管理绩效考核) reports for a brokerage",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (an error: one line on standard error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        return args.func(args)
    except PerfkitError as exc:
        print(f"perfkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfkit: interrupted", file=sys.stderr)
        return 130
