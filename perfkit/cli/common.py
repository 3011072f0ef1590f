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
from perfkit.errors import RequestError, SpecError
from perfkit.files import atomic_path, ensure_writable
from perfkit.sheets import frame_csv, write_xlsx

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("perfkit")


MONTH_HELP = "month YYYY-MM, latest (the latest complete month in the store) or previous"


def month(text: str) -> str:
    """argparse type: a ``YYYY-MM`` month, or ``latest`` / ``previous`` (resolved against the
    store by :func:`resolve_month_arg` before the command runs)."""
    from perfkit.data.store import MONTH_WORDS

    if text not in MONTH_WORDS and not re.match(MONTH_PATTERN, text):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, latest or previous, got {text!r}")
    return text


def plain_month(text: str) -> str:
    """argparse type: a ``YYYY-MM`` month (nothing to resolve: e.g. the demo's last month)."""
    if not re.match(MONTH_PATTERN, text):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, got {text!r}")
    return text


def resolve_month_arg(args: argparse.Namespace) -> None:
    """Turn ``args.month`` into ``YYYY-MM`` when it is ``latest`` / ``previous``, or missing for a
    command that defaults to the latest month (``set_defaults(month_default="latest")``); say which
    month was taken. The store is ``args.store_for(args)`` when the command sets one, else
    ``--db`` or the project's."""
    from perfkit.data.store import MONTH_WORDS, default_db, resolve_month

    given = getattr(args, "month", None)
    if given is None:
        given = getattr(args, "month_default", None)
    if given not in MONTH_WORDS:
        return
    store_for = getattr(args, "store_for", None)
    db = store_for(args) if store_for else (getattr(args, "db", None) or default_db())
    args.month = resolve_month(db, given)
    print(f"perfkit: month {args.month} ({given} complete month in {db})", file=sys.stderr)


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
        help="DuckDB store path (default: $PERFKIT_DB, else the project's store)",
    )


def add_wait(p: argparse.ArgumentParser) -> None:
    """``--wait``: a command that writes the store waits for a running batch instead of stopping."""
    p.add_argument("--wait", action="store_true",
                   help="wait while a perfkit run reads the store (default: stop with a message "
                   "naming it)")


def add_params(p: argparse.ArgumentParser) -> None:
    """``--params DIR`` (default: the project's parameters folder)."""
    p.add_argument("--params", type=Path, default=None,
                   help="parameters folder (default: the project's parameters/)")


def add_output(p: argparse.ArgumentParser) -> None:
    """``--format table|csv|xlsx`` and ``--out FILE``."""
    p.add_argument("--format", choices=("table", "csv", "xlsx"), default="table",
                   help="output format (default: a table on the terminal)")
    p.add_argument("--out", type=Path, help="write to FILE instead of standard output")


def write_frames(frames: dict[str, pd.DataFrame], fmt: str, out: Path | None) -> None:
    """Write one or more titled frames as a terminal table, CSV or an Excel workbook (one sheet
    each). CSV is written with a byte-order mark, so Excel on Windows opens Chinese text; neither
    can hold a live formula (:mod:`perfkit.sheets`)."""
    import pandas as pd

    if out is not None:
        ensure_writable(Path(out).resolve().parent)
    if fmt == "xlsx":
        if out is None:
            raise RequestError("--format xlsx needs --out FILE.xlsx")
        with atomic_path(out) as tmp:
            write_xlsx(frames, tmp)
        log.info("wrote %s", out)
        return
    parts = []
    for title, df in frames.items():
        if fmt == "csv":
            body = frame_csv(df)
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


def check_params_first(args: argparse.Namespace) -> None:
    """Validate the parameters folder a command reads before it opens a store or a kernel: the
    first problem as one :class:`SpecError` line (exit 2), ``perfkit check`` for all of them.
    Commands that do not read the parameters, or report on them themselves, set
    ``check_params=False``."""
    if not hasattr(args, "params") or not getattr(args, "check_params", True):
        return
    from perfkit.metrics.catalog import find_params
    from perfkit.project.check import check

    params = find_params(args.params)
    problems = check(params)
    if problems:
        more = f" (and {len(problems) - 1} more: `perfkit check` lists them)" if len(problems) > 1 \
            else ""
        err = SpecError(f"{problems[0]}{more}")
        err.detail = problems[0].detail
        raise err


def check_output_first(args: argparse.Namespace) -> None:
    """Prove ``--out`` writable before the command computes anything: the file's folder, or the
    folder itself for a command that sets ``out_kind="folder"`` (run, deliver)."""
    out = getattr(args, "out", None)
    if out is None:
        return
    folder = Path(out) if getattr(args, "out_kind", "file") == "folder" else Path(out).resolve().parent
    ensure_writable(folder)
