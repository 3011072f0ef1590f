"""``perfkit indicators``, ``tasks``, ``tables``, ``scores``, ``levels`` and ``pay``: one month's
figures as a table on the terminal, a CSV file or an Excel workbook."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from perfkit.cli.common import MONTH_HELP, add_db, add_output, add_params, month, write_frames
from perfkit.errors import RequestError

LEVELS = ("company", "branch", "employee")
BY_LEVEL = "branch id (level branch) or employee id (level employee)"
BY_EMPLOYEE = "an employee id, or a branch id for its employees"


def cmd_indicators(args: argparse.Namespace) -> int:
    from perfkit.metrics.indicators import indicators

    # the history list column does not fit a flat table: the month and the one before only
    df = indicators(args.db, args.month, args.level, entity=args.entity, params=args.params,
                    history=1)
    write_frames({"indicators": df.drop(columns="history")}, args.format, args.out)
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from perfkit.metrics.tasks import tasks

    df = tasks(args.db, args.month, level=args.level, entity=args.entity,
               indicator=args.indicator, params=args.params)
    if df.empty and args.format == "table" and args.out is None:
        what = f" behind {args.indicator}" if args.indicator else ""
        print(f"无任务 / no tasks{what} for {args.entity or args.level} in {args.month}")
        return 0
    write_frames({"tasks": df}, args.format, args.out)
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from perfkit.metrics.tables import stat_tables

    frames = stat_tables(args.db, args.month, args.level, entity=args.entity, params=args.params)
    if args.name:
        if args.name not in frames:
            raise RequestError(f"unknown table {args.name!r}; known: {', '.join(frames)}")
        frames = {args.name: frames[args.name]}
    write_frames(frames, args.format, args.out)
    return 0


def cmd_scores(args: argparse.Namespace) -> int:
    from perfkit.appraisal.scorecard import breakdown, scores

    frame = breakdown if args.breakdown else scores
    df = frame(args.db, args.month, args.level, entity=args.entity, params=args.params)
    write_frames({"scores": df}, args.format, args.out)
    return 0


def cmd_levels(args: argparse.Namespace) -> int:
    from perfkit.appraisal.levels import level_review

    summary, conditions = level_review(args.db, args.month, entity=args.entity, params=args.params)
    frames = {"levels": summary}
    if args.conditions or args.format == "xlsx":
        frames["conditions"] = conditions
    write_frames(frames, args.format, args.out)
    return 0


def cmd_pay(args: argparse.Namespace) -> int:
    from perfkit.appraisal.pay import pay

    write_frames({"pay": pay(args.db, args.month, entity=args.entity, params=args.params)},
                 args.format, args.out)
    return 0


def report_command(sub: argparse._SubParsersAction, name: str, help: str,
                   func: Callable[[argparse.Namespace], int],
                   levels: Sequence[str] | None = LEVELS,
                   entity: str = BY_LEVEL) -> argparse.ArgumentParser:
    """A figures command: --db, --month, --level (one of ``levels``; none when None), --entity,
    --params, --format and --out."""
    q = sub.add_parser(name, help=help, description=help)
    add_db(q)
    q.add_argument("--month", type=month, required=True, help=MONTH_HELP)
    if levels is not None:
        q.add_argument("--level", choices=levels, default=levels[0],
                       help=f"grain (default {levels[0]})")
    q.add_argument("--entity", help=entity)
    add_params(q)
    add_output(q)
    q.set_defaults(func=func)
    return q


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register indicators, tasks, tables, scores, levels and pay."""
    report_command(sub, "indicators", "indicator values with last month, change, target and rank",
                   cmd_indicators)
    q = report_command(sub, "tasks", "client-level task lists (phone and id numbers masked)",
                       cmd_tasks, levels=("employee", "branch", "company"))
    q.add_argument("--indicator", help="only the tasks behind this indicator id")
    q = report_command(sub, "tables", "statistical tables (查看报表) by branch or by employee",
                       cmd_tables, levels=("company", "branch"))
    q.add_argument("--name", help="one table by its Chinese name, e.g. 流失客户情况统计表")
    q = report_command(sub, "scores", "scorecard: composite score, grade and stars per entity",
                       cmd_scores, levels=("employee", "branch"))
    q.add_argument("--breakdown", action="store_true",
                   help="points per indicator (why the score is what it is)")
    q = report_command(sub, "levels", "level review (职级评定): current level, recommendation and "
                       "every condition", cmd_levels, levels=None, entity=BY_EMPLOYEE)
    q.add_argument("--conditions", action="store_true",
                   help="also list every condition with value, threshold and met (xlsx: always)")
    report_command(sub, "pay", "performance pay, commission-share pay and bonus with their formulas",
                   cmd_pay, levels=None, entity=BY_EMPLOYEE)
