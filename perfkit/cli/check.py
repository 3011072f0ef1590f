"""``perfkit check``: validate every parameters file (one line per problem, exit code 2) and list
how the parameters differ from the installed defaults."""

from __future__ import annotations

import argparse
import sys

from perfkit.cli.common import add_db, add_params
from perfkit.errors import SpecError
from perfkit.version import __version__


def cmd_check(args: argparse.Namespace) -> int:
    from perfkit.metrics.catalog import find_params
    from perfkit.project.check import check
    from perfkit.project.upgrade import differences
    from perfkit.projectfile import find_project

    params = find_params(args.params)
    problems = check(params, store=args.db)
    for p in problems:
        print(p, file=sys.stderr)
    project = find_project()
    if project is not None and project.perfkit_version not in (None, __version__):
        print(f"perfkit check: this project was made with perfkit {project.perfkit_version}, "
              f"perfkit {__version__} is installed")
    diffs = differences(params)
    if diffs:
        print(f"perfkit check: {len(diffs)} difference(s) from perfkit {__version__}'s default "
              "parameters (fields, not values):")
        for d in diffs:
            print(f"  {d}")
    if problems:
        print(f"perfkit check: {len(problems)} problem(s) in {params}", file=sys.stderr)
        return SpecError.exit_code
    print(f"perfkit check: {params} is valid")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register check."""
    p = sub.add_parser("check", help="validate every parameters file",
                       description="Validate every parameters file; each problem names file, entry "
                       "and field. Exit code 2 when there is any problem. Also lists, per file, the "
                       "fields in which the parameters differ from the installed perfkit's defaults "
                       "(new settings of a newer perfkit, settings it no longer reads).")
    add_db(p)
    add_params(p)
    p.set_defaults(func=cmd_check, check_params=False)  # it reports every problem itself
