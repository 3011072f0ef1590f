"""``perfkit`` command line: parses options, makes one API call, maps errors to one line + exit code."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from perfkit.errors import PerfkitError

log = logging.getLogger("perfkit")


def _month(text: str) -> str:
    import re

    from perfkit.schema import MONTH_PATTERN

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
    from perfkit.demo import generate
    from perfkit.store import default_db

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
    from perfkit.importer import import_paths
    from perfkit.store import default_db

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
    from perfkit.store import default_db, months, open_store, summary

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
    from perfkit.schema import markdown_reference

    print(markdown_reference())
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
