"""``perfkit demo``, ``import``, ``info``, ``upgrade-store`` and ``schema``: building a store, looking at it,
migrating it."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from perfkit.cli.common import add_db, add_params, add_wait, non_negative, plain_month, print_counts

log = logging.getLogger("perfkit")


def cmd_demo(args: argparse.Namespace) -> int:
    from perfkit.data.demo import generate
    from perfkit.data.store import default_db

    db = args.db or default_db()
    t0 = time.perf_counter()
    counts = generate(db, branches=args.branches, employees=args.employees, clients=args.clients,
                      months=args.months, end_month=args.end_month, seed=args.seed, wait=args.wait)
    log.info("wrote demo store %s in %.1fs", db, time.perf_counter() - t0)
    print_counts(db, counts)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from perfkit.data.importer import import_paths
    from perfkit.data.store import default_db
    from perfkit.metrics.catalog import find_params

    params = find_params(args.params) if args.mapping else None
    counts = import_paths(args.db or default_db(), args.files, table=args.table,
                          mapping=args.mapping, encoding=args.encoding, params_dir=params,
                          sheet=args.sheet, wait=args.wait)
    for name, n in counts.items():
        print(f"{name}: {n} rows imported")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from perfkit.data.store import default_db, months, open_store, summary

    db = args.db or default_db()
    con = open_store(db)
    try:
        ms = months(con)
        print_counts(db, summary(con))
        print(f"months: {ms[0]} … {ms[-1]} ({len(ms)})" if ms else "months: none")
    finally:
        con.close()
    return 0


def cmd_upgrade_store(args: argparse.Namespace) -> int:
    from perfkit.data.migrate import upgrade_store
    from perfkit.data.store import default_db

    print(upgrade_store(args.db or default_db(), backup=not args.no_backup, wait=args.wait).line())
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from perfkit.data.schema import markdown_reference

    print(markdown_reference())
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register demo, import, info and schema."""
    p = sub.add_parser(
        "demo",
        help="build a deterministic synthetic CRM store",
        description="Build a deterministic synthetic CRM store (Chinese names, realistic "
        "distributions). The same flags and seed always give the same data. An existing store at "
        "--db is replaced.",
    )
    add_db(p)
    p.add_argument("--branches", type=non_negative, default=12,
                   help="number of branches (default 12)")
    p.add_argument("--employees", type=non_negative, default=180,
                   help="number of employees (default 180)")
    p.add_argument("--clients", type=non_negative, default=60_000,
                   help="number of clients and leads (default 60000)")
    p.add_argument("--months", type=non_negative, default=13, help="months of history (default 13)")
    p.add_argument("--end-month", type=plain_month, default="2026-10",
                   help="last month YYYY-MM (default 2026-10)")
    p.add_argument("--seed", type=int, default=20261031, help="random seed (default 20261031)")
    add_wait(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "import",
        help="import CSV / Excel / Parquet exports into the store",
        description="Validate and import CSV, Excel (.xlsx) and Parquet files into the store, in one "
        "transaction: on any violation nothing is written. Rows are replaced by key, never "
        "duplicated. Pass --table for files of one table, or a folder / files named after tables "
        "(clients.csv, client_months.parquet …).",
    )
    add_db(p)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files or folders to import")
    p.add_argument("--table", help="target table for every FILE (default: from each file name)")
    p.add_argument("--mapping", help="name of a source-system mapping in parameters/import.yaml "
                   "(headers and codes → store)")
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of CSV files, e.g. gbk (default utf-8)")
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first sheet)")
    add_params(p)
    add_wait(p)
    p.set_defaults(func=cmd_import, check_params=False)  # import.yaml is checked by the import

    p = sub.add_parser("info", help="row counts and months of a store")
    add_db(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "upgrade-store", help="migrate a store of an earlier perfkit to this schema version",
        description="Bring a store written by an earlier perfkit to this schema version in place "
        "(e.g. 3 → 4: employees.email), after a backup copy <store>.schema<N>.bak; one "
        "transaction, so a failure leaves the store as it was.")
    add_db(p)
    p.add_argument("--no-backup", action="store_true", help="do not keep a backup copy")
    add_wait(p)
    p.set_defaults(func=cmd_upgrade_store)

    p = sub.add_parser("schema", help="print the table reference (Markdown)")
    p.set_defaults(func=cmd_schema)
