"""File readers for ``perfkit import``: CSV and Parquet here, Excel in :mod:`perfkit.data.excel`,
all in the registry of :mod:`perfkit.data.rawfile` (keyed by file extension; importing this module
registers them, and re-exports the registry's API).

A reader loads one file into a DuckDB temporary table of VARCHAR columns named by the file's own
headers, plus ``_row``: the row number a user sees. Typing and validation happen later, set-wise, in
:mod:`perfkit.data.importer`; readers only make the bytes into text cells and refuse files that are not
what their extension says.

Row-number convention (used in every import error message):

* CSV and Excel: the spreadsheet row number, counting the header as row 1 — the first data row is
  row 2, as Excel or WPS show it. A CSV record with a quoted line break is still one row; blank
  lines in a CSV are skipped and not counted.
* Parquet: the record number, 1-based (Parquet has no header line).

Empty cells (and cells of only spaces) become NULL later; readers keep text as it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import tempfile
from pathlib import Path

import duckdb

from perfkit.data.excel import read_xlsx
from perfkit.data.rawfile import (
    ROW_COLUMN,
    RawFile,
    ReadOptions,
    _head,
    _headers,
    _looks_like,
    _quote,
    known_extensions,
    read_file,
    register_reader,
)
from perfkit.errors import ImportFileError

__all__ = ["ROW_COLUMN", "RawFile", "ReadOptions", "known_extensions", "read_file", "register_reader"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


# --------------------------------------------------------------------------- CSV


def _gbk_hint(sample: bytes, encoding: str) -> str:
    """A hint naming the encoding the bytes probably are in (UTF-8 or GBK), or ''."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig") and _valid_utf8(sample):
        return "; the bytes are valid UTF-8: try --encoding utf-8 (the default)"
    if codecs.lookup(encoding).name in ("gbk", "gb18030", "gb2312"):
        return ""
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        try:  # the sample may end inside a character
            text = sample[:-1].decode("gb18030")
        except UnicodeDecodeError:
            return ""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "; the bytes decode as GBK (common in Chinese office exports): try --encoding gbk"
    return ""


def _decode_to_utf8(path: Path, encoding: str, out: io.TextIOBase | None) -> str:
    """Decode ``path`` with ``encoding`` chunk by chunk (writing UTF-8 text to ``out`` if given).

    Returns the first chunk of text (for the header). Raises ImportFileError with the line number
    of the first undecodable byte and a GBK hint when the bytes look like GBK.
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r} (try utf-8 or gbk)",
                              file=str(path)) from None
    first = ""
    line = 1
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                good = chunk[: exc.start]
                at = line + good.count(b"\n")
                raise ImportFileError(
                    f"is not valid {encoding} text (undecodable bytes on line {at})"
                    + _gbk_hint(chunk[max(0, exc.start - 200): exc.start + 200], encoding),
                    file=str(path),
                ) from None
            if "\x00" in text:
                raise ImportFileError(
                    "contains NUL characters: not a text CSV file (a binary or UTF-16 file? "
                    "for UTF-16 pass --encoding utf-16)",
                    file=str(path),
                )
            line += chunk.count(b"\n")
            if not first:
                first = text
            if out is not None and text:
                out.write(text)
            if final:
                break
    return first.lstrip("\ufeff")


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv(path: Path, con: duckdb.DuckDBPyConnection, name: str, options: ReadOptions) -> RawFile:
    """Read a delimited text file (comma, tab, semicolon or ``|``, sniffed from the header line).

    Text is decoded with ``options.encoding`` (a UTF-8 BOM is ignored); non-UTF-8 text is
    transcoded to a temporary UTF-8 file for DuckDB's CSV reader. Errors: empty file, header only,
    NUL bytes / a binary file, undecodable bytes (with a ``--encoding gbk`` hint), ragged rows.
    """
    if path.stat().st_size == 0:
        raise ImportFileError("is empty (no header, no rows)", file=str(path))
    head = _head(path)
    enc = codecs.lookup(options.encoding).name if _known(options.encoding) else options.encoding
    if not enc.startswith(("utf-16", "utf-32")):
        what = _looks_like(head)
        if what:
            raise ImportFileError(f"is not a CSV text file: it looks like {what}", file=str(path))
        with path.open("rb") as fh:
            if b"\x00" in fh.read(_CHUNK):
                raise ImportFileError(
                    "contains NUL bytes: not a text CSV file (a binary or UTF-16 file? "
                    "for UTF-16 pass --encoding utf-16)",
                    file=str(path),
                )
    plain_utf8 = enc == "utf-8" and not head.startswith(codecs.BOM_UTF8)
    with tempfile.TemporaryDirectory(prefix="perfkit-import-") as tmp:
        source = path
        if plain_utf8:
            first = _decode_to_utf8(path, "utf-8", None)
        else:
            source = Path(tmp) / "utf8.csv"
            with source.open("w", encoding="utf-8", newline="") as out:
                first = _decode_to_utf8(path, "utf-8-sig" if enc == "utf-8" else enc, out)
        if not first.strip():
            raise ImportFileError("is empty (no header, no rows)", file=str(path))
        if not plain_utf8 and enc != "utf-8" and _is_utf8_text(path):
            log.warning("%s: decoded as %s, but it is valid UTF-8 text with non-ASCII characters; "
                        "if its headers look garbled, import it with --encoding utf-8", path, enc)
        header_line = first.splitlines()[0]
        delim = _sniff_delimiter(header_line)
        records = csv.reader(io.StringIO(first), delimiter=delim)
        headers = _headers(next(records), path)
        if next(records, None) is None and len(first) < _CHUNK:
            raise ImportFileError("has a header but no data rows", file=str(path))
        cols = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in headers) + "}"
        sql = (
            f"CREATE TEMP TABLE {name} AS SELECT * FROM read_csv(?, header = true, delim = ?, "
            f"quote = '\"', escape = '\"', columns = {cols}, auto_detect = false, "
            "null_padding = false, strict_mode = true, skip = 0)"
        )
        try:
            con.execute(sql, [str(source), delim])
        except duckdb.Error as exc:
            raise ImportFileError(
                "cannot be parsed as CSV: " + _csv_problem(str(exc), delim), file=str(path)
            ) from None
    # rowid follows insertion (= file) order but starts high inside a transaction: count from the
    # smallest one. The header is spreadsheet row 1.
    con.execute(f"ALTER TABLE {name} ADD COLUMN {ROW_COLUMN} BIGINT")
    con.execute(f"UPDATE {name} SET {ROW_COLUMN} = rowid - (SELECT min(rowid) FROM {name}) + 2")
    n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    if n == 0:
        raise ImportFileError("has a header but no data rows", file=str(path))
    return RawFile(path, name, headers, int(n))


def _csv_problem(text: str, delim: str) -> str:
    """DuckDB's CSV error in one line: which line, and what is wrong with it."""
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = f"line {line.group(1)}" if line else "a line"
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if fields:
        return (f"{where} has {fields.group(2)} fields, the header has {fields.group(1)} "
                f"(separator {delim!r})")
    if "unterminated quote" in text:
        return f"{where} has a quoted value that is never closed"
    return " ".join(part.strip() for part in text.strip().splitlines()[:2])


def _valid_utf8(sample: bytes) -> bool:
    """Whether ``sample`` (a slice of a file, possibly cutting characters at both ends) is UTF-8."""
    start = 0
    while start < min(3, len(sample)) and 0x80 <= sample[start] <= 0xBF:
        start += 1
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample[start:], final=False)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8_text(path: Path) -> bool:
    """Whether the file starts with valid UTF-8 that is not plain ASCII."""
    with path.open("rb") as fh:
        sample = fh.read(1 << 16)
    return _valid_utf8(sample) and any(b > 0x7F for b in sample)


def _known(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


# --------------------------------------------------------------------------- Parquet


def read_parquet(path: Path, con: duckdb.DuckDBPyConnection, name: str, options: ReadOptions) -> RawFile:
    """Read a Parquet file with DuckDB; every column is cast to text (dates as YYYY-MM-DD,
    numbers in their shortest exact form) so it is validated like any other file.
    ``_row`` is the 1-based record number. Errors: no ``PAR1`` magic, unreadable file, no rows."""
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError("is empty (no header, no rows)", file=str(path))
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        what = _looks_like(head)
        raise ImportFileError(
            "is not a Parquet file (no PAR1 magic" + (f"; it looks like {what}" if what else "") + ")",
            file=str(path),
        )
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        headers = _headers([r[0] for r in described], path)
        raw_names = [r[0] for r in described]
        select = ", ".join(
            f"CAST({_quote(src)} AS VARCHAR) AS {_quote(h)}"
            for src, h in zip(raw_names, headers, strict=True)
        )
        con.execute(
            f"CREATE TEMP TABLE {name} AS SELECT file_row_number + 1 AS {ROW_COLUMN}, {select} "
            "FROM read_parquet(?, file_row_number = true)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise ImportFileError(f"is not a readable Parquet file ({str(exc).splitlines()[0]})",
                              file=str(path)) from None
    n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    if n == 0:
        raise ImportFileError("has no rows", file=str(path))
    return RawFile(path, name, headers, int(n))


register_reader(".csv", read_csv)
register_reader(".parquet", read_parquet)

register_reader(".xlsx", read_xlsx)
register_reader(".xlsm", read_xlsx)
