"""The ``perfkit`` command line: argument parsing only. Each command group is one module that adds its
subcommands (``add_commands``) and makes one API call per command; :func:`main` maps every
:class:`~perfkit.errors.PerfkitError` to one line on standard error and its exit code.

========================  =====================================================
module                    commands
========================  =====================================================
:mod:`.store`             demo, import, info, schema, upgrade-store
:mod:`.reports`           indicators, tasks, tables, scores, levels, pay
:mod:`.run`               run, render
:mod:`.month`             snapshot, publish
:mod:`.compare`           compare
:mod:`.deliver`           deliver
:mod:`.check`             check
:mod:`.project`           init, lab
========================  =====================================================
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from perfkit.cli import check, compare, deliver, month, project, reports, run, store
from perfkit.cli.common import check_output_first, check_params_first, resolve_month_arg
from perfkit.errors import OutputError, PerfkitError
from perfkit.projectfile import load_project

#: The command groups, in the order ``perfkit --help`` lists them.
GROUPS = (project, store, reports, compare, run, month, deliver, check)


def build_parser() -> argparse.ArgumentParser:
    """The ``perfkit`` parser with every command of :data:`GROUPS`."""
    parser = argparse.ArgumentParser(
        prog="perfkit",
        description="perfkit — CRM performance-appraisal (客户管理绩效考核) reports for a brokerage",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an unexpected error")
    parser.add_argument("--project", type=Path, default=None, metavar="DIR",
                        help="the perfkit project to work in (default: the nearest folder holding "
                        "perfkit.yaml, from the current folder up; $PERFKIT_PROJECT)")
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
        if args.project is not None:
            os.environ["PERFKIT_PROJECT"] = str(load_project(args.project).root)
        check_params_first(args)
        check_output_first(args)
        resolve_month_arg(args)
        return args.func(args)
    except PerfkitError as exc:
        print(f"perfkit: error: {exc}", file=sys.stderr)
        if args.debug and exc.detail:
            print(exc.detail, file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a write that failed: the path and the reason, in one line
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"perfkit: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return OutputError.exit_code
    except Exception as exc:  # noqa: BLE001 - one line; --debug shows the traceback
        if args.debug:
            raise
        print(f"perfkit: error: internal error {exc.__class__.__name__}: "
              f"{' '.join(str(exc).split())[:300]} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("perfkit: interrupted", file=sys.stderr)
        return 130
