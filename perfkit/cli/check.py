"""``perfkit check``: validate every parameters file; one line per problem, exit code 2."""

from __future__ import annotations

import argparse
import sys

from perfkit.cli.common import add_db, add_params
from perfkit.errors import SpecError


def cmd_check(args: argparse.Namespace) -> int:
    from perfkit.project.check import check

    problems = check(args.params, store=args.db)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"perfkit check: {len(problems)} problem(s) in {args.params}", file=sys.stderr)
        return SpecError.exit_code
    print(f"perfkit check: {args.params} is valid")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register check."""
    p = sub.add_parser("check", help="validate every parameters file",
                       description="Validate every parameters file; each problem names file, entry "
                       "and field. Exit code 2 when there is any problem.")
    add_db(p)
    add_params(p)
    p.set_defaults(func=cmd_check)
