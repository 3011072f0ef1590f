"""``perfkit compare``: a month under two parameter versions side by side (what-if, 方案对比)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfkit.cli.common import MONTH_HELP, add_db, month, write_frames
from perfkit.errors import RequestError, SpecError

#: columns of the terminal table (the CSV and Excel have every figure)
SHOWN = ("entity_id", "entity_name", "parent_id", "composite_base", "composite_new",
         "composite_delta", "grade_base", "grade_new", "stars_delta", "level_decision_delta",
         "total_pay_delta")


def _check_first(folders: list[Path | None]) -> None:
    """Every parameters folder of the comparison passes ``perfkit check`` before any work."""
    from perfkit.metrics.catalog import find_params
    from perfkit.project.check import check

    for folder in folders:
        params = find_params(folder)
        problems = check(params)
        if problems:
            more = f" (and {len(problems) - 1} more: `perfkit check --params {params}` lists " \
                   "them)" if len(problems) > 1 else ""
            raise SpecError(f"{problems[0]}{more}")


def cmd_compare(args: argparse.Namespace) -> int:
    base_is_published = str(args.base).startswith("published")
    _check_first([args.params] + ([] if base_is_published else [Path(args.base)]))
    if args.format == "html":
        from perfkit.batch.render import render_whatif

        if args.out is None:
            raise RequestError("--format html needs --out FILE.html")
        out = render_whatif(args.month, args.base, args.params, args.out, db=args.db,
                            level=args.level)
        print(f"wrote {out}")
        return 0
    from perfkit.month.compare import compare

    c = compare(args.db, args.month, args.base, args.params or _default_params(), level=args.level)
    if c.no_difference:
        print(c.summary_lines()[0])
        return 0
    if args.format == "table":
        for line in c.summary_lines():
            print(line, file=sys.stderr)
        shown = [col for col in SHOWN if col in c.frame.columns]
        write_frames({"compare": c.movers[shown].round(2)}, "table", args.out)
        return 0
    frames = {"compare": c.frame}
    if args.format == "xlsx":
        frames.update(grades=c.grades, stars=c.stars, parameters=c.params_diff)
        if not c.pay_by_branch.empty:
            frames["pay"] = c.pay_by_branch
    write_frames(frames, args.format, args.out)
    return 0


def _default_params() -> Path:
    from perfkit.metrics.catalog import find_params

    return find_params(None)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register compare."""
    p = sub.add_parser(
        "compare", help="a month under two parameter versions: who moves and what it costs",
        description="Score a month under two parameter versions and set them side by side: per "
        "entity <figure>_base, _new and _delta for composite, KPI and family scores, grade, stars, "
        "rank, the level decision and pay, with the indicators that moved each composite "
        "(attr_*); a summary of grade, star and level moves and the pay bill by branch. "
        "--format html renders notebooks/whatif.ipynb to one offline HTML file.")
    add_db(p)
    p.add_argument("--month", type=month, required=True, help=MONTH_HELP)
    p.add_argument("--base", required=True, metavar="DIR|published[:vN]",
                   help="the version compared against: a parameters folder, or the month as "
                   "published (published = its latest version, published:v1 …)")
    p.add_argument("--params", type=Path, default=None,
                   help="the new version's parameters folder (default: the project's parameters/)")
    p.add_argument("--level", choices=("employee", "branch"), default="employee",
                   help="entities compared (default employee)")
    p.add_argument("--format", choices=("table", "csv", "xlsx", "html"), default="table",
                   help="table (the movers, on the terminal), csv or xlsx (every figure; xlsx adds "
                   "the summaries), html (the what-if report)")
    p.add_argument("--out", type=Path, help="write to FILE instead of standard output")
    p.set_defaults(func=cmd_compare, check_params=False)  # both folders are checked by the command
