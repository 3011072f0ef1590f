"""``perfkit`` command line: parses options, makes one API call, maps errors to one line + exit code."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.errors import PerfkitError, RequestError, SpecError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("perfkit")


def _month(text: str) -> str:
    import re

    from perfkit.data.schema import MONTH_PATTERN

    if not re.match(MONTH_PATTERN, text):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, got {text!r}")
    return text


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="DuckDB store path (default: $PERFKIT_DB or data/crm.duckdb)",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from perfkit.data.demo import generate
    from perfkit.data.store import default_db

    db = args.db or default_db()
    t0 = time.perf_counter()
    counts = generate(
        db,
        branches=args.branches,
        employees=args.employees,
        clients=args.clients,
        months=args.months,
        end_month=args.end_month,
        seed=args.seed,
    )
    log.info("wrote demo store %s in %.1fs", db, time.perf_counter() - t0)
    _print_counts(db, counts)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from perfkit.data.importer import import_paths
    from perfkit.data.store import default_db

    db = args.db or default_db()
    counts = import_paths(
        db,
        args.files,
        table=args.table,
        mapping=args.mapping,
        encoding=args.encoding,
        params_dir=args.params,
        sheet=args.sheet,
    )
    for name, n in counts.items():
        print(f"{name}: {n} rows imported")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from perfkit.data.store import default_db, months, open_store, summary

    db = args.db or default_db()
    con = open_store(db)
    try:
        ms = months(con)
        _print_counts(db, summary(con))
        print(f"months: {ms[0]} … {ms[-1]} ({len(ms)})" if ms else "months: none")
    finally:
        con.close()
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from perfkit.data.schema import markdown_reference

    print(markdown_reference())
    return 0


def _write_frames(frames: dict[str, pd.DataFrame], fmt: str, out: Path | None) -> None:
    """Write one or more titled frames as a terminal table, CSV or an Excel workbook."""
    import pandas as pd

    from perfkit.files import atomic_path

    if fmt == "xlsx":
        if out is None:
            raise RequestError("--format xlsx needs --out FILE.xlsx")
        with atomic_path(out) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for title, df in frames.items():
                df.to_excel(xw, sheet_name=title[:31], index=False)
        log.info("wrote %s", out)
        return
    parts = []
    for title, df in frames.items():
        if fmt == "csv":
            body = df.to_csv(index=False)
        else:
            with pd.option_context("display.max_rows", 500, "display.max_columns", 50,
                                   "display.width", 200, "display.unicode.east_asian_width", True):
                body = df.to_string(index=False, na_rep="—") + "\n"
        parts.append((f"# {title}\n" if len(frames) > 1 else "") + body)
    text = "\n".join(parts)
    if out is None:
        sys.stdout.write(text)
    else:
        with atomic_path(out) as tmp:
            # utf-8-sig so that Excel on Windows opens Chinese CSV correctly
            tmp.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        log.info("wrote %s", out)


def _report_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Drop list-valued columns (history) that do not fit a flat table."""
    return df.drop(columns=[c for c in ("history",) if c in df.columns])


def cmd_indicators(args: argparse.Namespace) -> int:
    from perfkit.metrics.indicators import indicators

    df = indicators(args.db, args.month, args.level, entity=args.entity, params=args.params)
    _write_frames({"indicators": _report_frame(df)}, args.format, args.out)
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from perfkit.metrics.tasks import tasks

    df = tasks(args.db, args.month, level=args.level, entity=args.entity,
               indicator=args.indicator, params=args.params)
    _write_frames({"tasks": df}, args.format, args.out)
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from perfkit.metrics.tables import stat_tables

    frames = stat_tables(args.db, args.month, args.level, entity=args.entity, params=args.params)
    if args.name:
        if args.name not in frames:
            raise RequestError(f"unknown table {args.name!r}; known: {', '.join(frames)}")
        frames = {args.name: frames[args.name]}
    _write_frames(frames, args.format, args.out)
    return 0


def cmd_scores(args: argparse.Namespace) -> int:
    from perfkit.appraisal.scorecard import breakdown, scores

    if args.breakdown:
        df = breakdown(args.db, args.month, args.level, entity=args.entity, params=args.params)
    else:
        df = scores(args.db, args.month, args.level, entity=args.entity, params=args.params)
    _write_frames({"scores": df}, args.format, args.out)
    return 0


def cmd_levels(args: argparse.Namespace) -> int:
    from perfkit.appraisal.levels import level_review

    summary, conditions = level_review(args.db, args.month, entity=args.entity, params=args.params)
    frames = {"levels": summary}
    if args.conditions or args.format == "xlsx":
        frames["conditions"] = conditions
    _write_frames(frames, args.format, args.out)
    return 0


def cmd_pay(args: argparse.Namespace) -> int:
    from perfkit.appraisal.pay import pay

    _write_frames({"pay": pay(args.db, args.month, entity=args.entity, params=args.params)},
                  args.format, args.out)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from perfkit.batch.render import render

    out = render(args.month, args.role, args.out, entity=args.entity, db=args.db,
                 params=args.params, notebooks_dir=args.notebooks, assets=args.assets)
    print(out)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from perfkit.check import check

    problems = check(args.params, store=args.db)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"perfkit check: {len(problems)} problem(s) in {args.params}", file=sys.stderr)
        return SpecError.exit_code
    print(f"perfkit check: {args.params} is valid")
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    from perfkit.month.build import build

    path = build(args.db, args.month, args.params, root=args.root, force=args.force)
    print(path)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from perfkit.month.publish import publish
    from perfkit.month.published import versions

    if args.list:
        rows = versions(args.db, args.month)
        if not rows:
            print(f"no published versions{f' of {args.month}' if args.month else ''}")
            return 0
        for p in rows:
            print(f"{p.month}  v{p.version}  {p.published_at:%Y-%m-%d %H:%M}  {p.published_by}  "
                  f"fingerprint {p.fingerprint[:12]}  frames {p.frames}  changes {p.changes}"
                  + (f"  reason: {p.reason}" if p.reason else ""))
        return 0
    if args.month is None:
        raise SpecError("perfkit publish: --month is required (or --list to show the versions)")
    if args.reason and not args.revise:
        raise SpecError("perfkit publish: --reason goes with --revise (the first publication "
                        "needs no reason)")
    pub = publish(args.db, args.month, args.params, by=args.by, revise=args.revise,
                  reason=args.reason)
    print(f"published {pub.month} v{pub.version} ({pub.published_at:%Y-%m-%d %H:%M} by "
          f"{pub.published_by}): {pub.frames} frames, {pub.changes} changed figures")
    return 0


def _print_counts(db: Path, counts: dict[str, int]) -> None:
    print(f"store {db}")
    width = max(len(k) for k in counts)
    for name, n in counts.items():
        print(f"  {name:<{width}}  {n:>12,}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfkit",
        description="perfkit — CRM performance-appraisal (客户管理绩效考核) reports for a brokerage",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="build a deterministic synthetic CRM store",
        description="Build a deterministic synthetic CRM store (Chinese names, realistic distributions). "
        "The same flags and seed always give the same data. An existing store at --db is replaced.",
    )
    _add_db(p)
    p.add_argument("--branches", type=_positive, default=12, help="number of branches (default 12)")
    p.add_argument("--employees", type=_positive, default=180, help="number of employees (default 180)")
    p.add_argument("--clients", type=_positive, default=60_000, help="number of clients and leads (default 60000)")
    p.add_argument("--months", type=_positive, default=13, help="months of history (default 13)")
    p.add_argument("--end-month", type=_month, default="2026-10", help="last month YYYY-MM (default 2026-10)")
    p.add_argument("--seed", type=int, default=20261031, help="random seed (default 20261031)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "import",
        help="import CSV / Excel / Parquet exports into the store",
        description="Validate and import CSV, Excel (.xlsx) and Parquet files into the store, in one "
        "transaction: on any violation nothing is written. Rows are replaced by key, never duplicated. "
        "Pass --table for files of one table, or a folder / files named after tables "
        "(clients.csv, client_months.parquet …).",
    )
    _add_db(p)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files or folders to import")
    p.add_argument("--table", help="target table for every FILE (default: from each file name)")
    p.add_argument(
        "--mapping",
        help="name of a source-system mapping in parameters/import.yaml (headers and codes → store)",
    )
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV files, e.g. gbk (default utf-8)")
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first sheet)")
    p.add_argument("--params", type=Path, default=Path("parameters"), help="parameters folder (default parameters/)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("info", help="row counts and months of a store")
    _add_db(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("schema", help="print the table reference (Markdown)")
    p.set_defaults(func=cmd_schema)

    def report_command(name: str, help: str, func, levels=("company", "branch", "employee")):
        q = sub.add_parser(name, help=help, description=help)
        _add_db(q)
        q.add_argument("--month", type=_month, required=True, help="month YYYY-MM")
        q.add_argument("--level", choices=levels, default=levels[0], help=f"grain (default {levels[0]})")
        q.add_argument("--entity", help="branch id (level branch) or employee id (level employee)")
        q.add_argument("--params", type=Path, default=Path("parameters"),
                       help="parameters folder (default parameters/)")
        q.add_argument("--format", choices=("table", "csv", "xlsx"), default="table",
                       help="output format (default: a table on the terminal)")
        q.add_argument("--out", type=Path, help="write to FILE instead of standard output")
        q.set_defaults(func=func)
        return q

    report_command("indicators", "indicator values with last month, change, target and rank",
                   cmd_indicators)
    q = report_command("tasks", "client-level task lists (phone and id numbers masked)", cmd_tasks,
                       levels=("employee", "branch", "company"))
    q.add_argument("--indicator", help="only the tasks behind this indicator id")
    q = report_command("tables", "statistical tables (查看报表) by branch or by employee", cmd_tables,
                       levels=("company", "branch"))
    q.add_argument("--name", help="one table by its Chinese name, e.g. 流失客户情况统计表")
    q = report_command("scores", "scorecard: composite score, grade and stars per entity", cmd_scores,
                       levels=("employee", "branch"))
    q.add_argument("--breakdown", action="store_true",
                   help="points per indicator (why the score is what it is)")

    for name, help_, func in (
        ("levels", "level review (职级评定): current level, recommendation and every condition", cmd_levels),
        ("pay", "performance pay, commission-share pay and bonus with their formulas", cmd_pay),
    ):
        q = sub.add_parser(name, help=help_, description=help_)
        _add_db(q)
        q.add_argument("--month", type=_month, required=True, help="month YYYY-MM")
        q.add_argument("--entity", help="an employee id, or a branch id for its employees")
        q.add_argument("--params", type=Path, default=Path("parameters"),
                       help="parameters folder (default parameters/)")
        q.add_argument("--format", choices=("table", "csv", "xlsx"), default="table",
                       help="output format (default: a table on the terminal)")
        q.add_argument("--out", type=Path, help="write to FILE instead of standard output")
        q.set_defaults(func=func)
        if name == "levels":
            q.add_argument("--conditions", action="store_true",
                           help="also list every condition with value, threshold and met (xlsx: always)")

    p = sub.add_parser(
        "render", help="render one report (execute the role notebook, export one HTML file)",
        description="Render one report end to end: papermill executes notebooks/<role>.ipynb with "
        "the month and entity, perfkit.report.export writes one offline HTML file.")
    _add_db(p)
    p.add_argument("--month", type=_month, required=True, help="month YYYY-MM")
    p.add_argument("--role", choices=("company", "branch", "employee"), required=True,
                   help="which view: company (总部), branch (营业部) or employee (员工)")
    p.add_argument("--entity", help="branch id (role branch) or employee id (role employee)")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")
    p.add_argument("--params", type=Path, default=None,
                   help="parameters folder (default: parameters/ here or in a parent folder)")
    p.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                   help="folder of the role notebooks (default notebooks/)")
    p.add_argument("--assets", choices=("inline", "shared"), default="inline",
                   help="inline: one self-contained file; shared: widget bundle in assets/ beside it")
    p.set_defaults(func=cmd_render)

    from perfkit.batch import add_cli

    add_cli(sub)

    p = sub.add_parser(
        "snapshot", help="compute a month's report data once (the batch's month snapshot)",
        description="Compute everything the role reports of a month need, for every entity, and "
        "keep it as Parquet files in a folder keyed by the input fingerprint (store content, "
        "parameters files, perfkit version). An up-to-date snapshot is reused; prints its folder. "
        "perfkit run builds it itself; this command builds it ahead or alone.")
    _add_db(p)
    p.add_argument("--month", type=_month, required=True, help="month YYYY-MM")
    p.add_argument("--params", type=Path, default=None,
                   help="parameters folder (default: parameters/ here or in a parent folder)")
    p.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="folder of snapshots (default: $PERFKIT_CACHE/snapshots, else "
                   ".perfkit-cache/snapshots beside the store)")
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser(
        "publish", help="freeze a month's results in the store (published version; --revise)",
        description="Compute every figure the reports of a month show and freeze it in the store "
        "as a published version with who, when and the input fingerprint. Later reports of the "
        "month show the latest version, whatever the data or parameters say now. A published "
        "month is only published again with --revise --reason; every version is kept.")
    _add_db(p)
    p.add_argument("--month", type=_month, help="month YYYY-MM")
    p.add_argument("--params", type=Path, default=None,
                   help="parameters folder (default: parameters/ here or in a parent folder)")
    p.add_argument("--by", default=None, help="who publishes (default: the OS user)")
    p.add_argument("--revise", action="store_true",
                   help="publish a new version of an already published month (needs --reason)")
    p.add_argument("--reason", default=None, help="why the revision changes the figures")
    p.add_argument("--list", action="store_true",
                   help="list the published versions (of --month, or of every month)")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("check", help="validate every parameters file",
                       description="Validate every parameters file; each problem names file, entry "
                       "and field. Exit code 2 when there is any problem.")
    _add_db(p)
    p.add_argument("--params", type=Path, default=Path("parameters"),
                   help="parameters folder (default parameters/)")
    p.set_defaults(func=cmd_check)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except PerfkitError as exc:
        print(f"perfkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
