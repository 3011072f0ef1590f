"""What the command groups share: option types and arguments (month, store), and writing frames to
the terminal, a CSV file or an Excel workbook."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.data.schema import MONTH_PATTERN
from perfkit.errors import RequestError
from perfkit.files import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("perfkit")


def month(text: str) -> str:
    """argparse type: a ``YYYY-MM`` month."""
    if not re.match(MONTH_PATTERN, text):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, got {text!r}")
    return text


def non_negative(text: str) -> int:
    """argparse type: a whole number ≥ 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def positive(text: str) -> int:
    """argparse type: a whole number ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text}")
    return value


def add_db(p: argparse.ArgumentParser) -> None:
    """``--db PATH``."""
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="DuckDB store path (default: $PERFKIT_DB or data/crm.duckdb)",
    )


def add_params(p: argparse.ArgumentParser, *, found: bool = False) -> None:
    """``--params DIR``; ``found``: the default is looked up in the current folder and its
    parents (else it is ``parameters/`` here)."""
    if found:
        p.add_argument("--params", type=Path, default=None,
                       help="parameters folder (default: parameters/ here or in a parent folder)")
    else:
        p.add_argument("--params", type=Path, default=Path("parameters"),
                       help="parameters folder (default parameters/)")


def add_output(p: argparse.ArgumentParser) -> None:
    """``--format table|csv|xlsx`` and ``--out FILE``."""
    p.add_argument("--format", choices=("table", "csv", "xlsx"), default="table",
                   help="output format (default: a table on the terminal)")
    p.add_argument("--out", type=Path, help="write to FILE instead of standard output")


def write_frames(frames: dict[str, pd.DataFrame], fmt: str, out: Path | None) -> None:
    """Write one or more titled frames as a terminal table, CSV or an Excel workbook (one sheet
    each). CSV is written with a byte-order mark, so Excel on Windows opens Chinese text."""
    import pandas as pd

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
            tmp.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        log.info("wrote %s", out)


def print_counts(db: Path, counts: dict[str, int]) -> None:
    """The store's path and a row count per table."""
    print(f"store {db}")
    width = max(len(k) for k in counts)
    for name, n in counts.items():
        print(f"  {name:<{width}}  {n:>12,}")
