"""The Excel reader of ``perfkit import`` (``.xlsx``, ``.xlsm``): one sheet → a temp table of text.

Workbooks are read with python-calamine (Rust; a 200,000-row sheet in a few seconds, see
``bench/README.md``); openpyxl is the fallback when calamine is not installed or cannot open a file
that openpyxl can. Both give the same cells: the first row is the header, rows that are entirely
empty are skipped (the others keep their spreadsheet row numbers), date cells become
``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM:SS``) text, whole numbers lose their ``.0`` and formulas give
their cached values.
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from perfkit.data.rawfile import (
    RawFile,
    ReadOptions,
    _head,
    _headers,
    _load_columns,
    _looks_like,
)
from perfkit.errors import ImportFileError

log = logging.getLogger(__name__)


def _cell_text(value: object) -> str | None:
    """An Excel cell as text: dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS), whole floats without .0."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


class _Unreadable(Exception):
    """The engine cannot open the workbook (the message says why)."""


def _calamine_rows(path: Path, sheet: str | None) -> tuple[str, list[str], Iterator[list]]:
    """(sheet title, sheet names, rows from A1) read with python-calamine."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine's errors have no common base
        raise _Unreadable(str(exc)) from None
    names = list(wb.sheet_names)
    title = names[0] if sheet is None else sheet
    if title not in names:
        return title, names, iter(())
    try:
        rows = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001
        raise _Unreadable(str(exc)) from None
    return title, names, iter(rows)


def _openpyxl_rows(path: Path, sheet: str | None) -> tuple[str, list[str], Iterator[tuple]]:
    """(sheet title, sheet names, rows from A1) read with openpyxl (all rows read before return)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _Unreadable(str(exc)) from None
    try:
        names = list(wb.sheetnames)
        title = names[0] if sheet is None else sheet
        if title not in names:
            return title, names, iter(())
        rows = list(wb[title].iter_rows(values_only=True))
    finally:
        wb.close()
    return title, names, iter(rows)


def _sheet_rows(path: Path, sheet: str | None) -> tuple[str, list[str], Iterator]:
    """The sheet's rows with calamine, else openpyxl (a file only openpyxl reads still imports)."""
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        log.debug("python-calamine is not installed: reading %s with openpyxl", path)
    else:
        try:
            return _calamine_rows(path, sheet)
        except _Unreadable as exc:
            log.debug("calamine cannot read %s (%s): trying openpyxl", path, exc)
    try:
        return _openpyxl_rows(path, sheet)
    except _Unreadable as exc:
        raise ImportFileError(f"is not a readable .xlsx workbook ({exc})", file=str(path)) from None


def read_xlsx(path: Path, con: duckdb.DuckDBPyConnection, name: str, options: ReadOptions) -> RawFile:
    """Read one sheet (``options.sheet`` or the first) of an .xlsx workbook into temp table ``name``.

    Errors: not a zip/xlsx file, unknown sheet, empty sheet, header only."""
    if path.stat().st_size == 0:
        raise ImportFileError("is empty (no header, no rows)", file=str(path))
    head = _head(path)
    if not head.startswith(b"PK\x03\x04"):
        what = _looks_like(head)
        if what and "xls" in what and "xlsx" not in what:
            raise ImportFileError(f"is not an .xlsx workbook: it looks like {what}; save it as .xlsx",
                                  file=str(path))
        raise ImportFileError(
            "is not an .xlsx workbook (not a zip archive"
            + (f"; it looks like {what}" if what else "; a CSV file renamed to .xlsx?") + ")",
            file=str(path),
        )
    title, names, rows_iter = _sheet_rows(path, options.sheet)
    if title not in names:
        raise ImportFileError(f"has no sheet {title!r}; sheets: {', '.join(names)}", file=str(path))
    header_row = next(rows_iter, None)
    cells_of_header = [_cell_text(v) for v in header_row] if header_row is not None else []
    if all(v is None for v in cells_of_header):
        raise ImportFileError(f"sheet {title!r} is empty (no header, no rows)", file=str(path))
    # drop trailing empty header cells (formatting often extends the used range)
    width = max(i for i, v in enumerate(cells_of_header) if v is not None) + 1
    headers = _headers(cells_of_header[:width], path)
    columns: list[list[str | None]] = [[] for _ in headers]
    row_numbers: list[int] = []
    for number, values in enumerate(rows_iter, start=2):
        cells = [_cell_text(v) for v in values[:width]]
        if all(c is None or not c.strip() for c in cells):
            continue
        cells += [None] * (width - len(cells))
        for col, cell in zip(columns, cells, strict=True):
            col.append(cell)
        row_numbers.append(number)
    if not row_numbers:
        raise ImportFileError(f"sheet {title!r} has a header but no data rows", file=str(path))
    return _load_columns(con, name, headers, columns, row_numbers, path)
