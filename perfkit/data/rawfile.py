"""What every reader of ``perfkit import`` shares: the registry keyed by file extension, the loaded
file (:class:`RawFile`), options, and small helpers (magic-byte sniffing, header cleaning, loading
Python columns). The readers are in :mod:`perfkit.data.readers` (CSV, Parquet) and
:mod:`perfkit.data.excel`; see the first for the row-number convention.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from perfkit.errors import ImportFileError

log = logging.getLogger(__name__)

ROW_COLUMN = "_row"


@dataclass(frozen=True)
class ReadOptions:
    """Options a reader may use: text ``encoding`` (CSV) and Excel ``sheet`` (None = first sheet)."""

    encoding: str = "utf-8"
    sheet: str | None = None


@dataclass(frozen=True)
class RawFile:
    """A file loaded into the temporary table ``name``: its headers (in file order) and row count."""

    path: Path
    name: str
    headers: tuple[str, ...]
    rows: int


Reader = Callable[[Path, duckdb.DuckDBPyConnection, str, ReadOptions], RawFile]

_READERS: dict[str, Reader] = {}


def register_reader(extension: str, reader: Reader) -> None:
    """Register ``reader`` for files ending in ``extension`` (e.g. ``".csv"``; case-insensitive)."""
    _READERS[extension.lower()] = reader


def known_extensions() -> tuple[str, ...]:
    """The registered extensions, e.g. ``('.csv', '.parquet', '.xlsx')``."""
    return tuple(sorted(_READERS))


def get_reader(path: Path) -> Reader:
    """The reader for ``path``'s extension; the error names the file and the supported extensions."""
    ext = path.suffix.lower()
    try:
        return _READERS[ext]
    except KeyError:
        hint = " (old Excel format: save it as .xlsx)" if ext == ".xls" else ""
        raise ImportFileError(
            f"unsupported file type {ext or '(no extension)'!r}{hint}; "
            f"supported: {', '.join(known_extensions())}",
            file=str(path),
        ) from None


def read_file(
    path: Path, con: duckdb.DuckDBPyConnection, name: str, options: ReadOptions | None = None
) -> RawFile:
    """Load ``path`` into the temporary table ``name`` with the reader registered for its extension."""
    options = options or ReadOptions()
    if not path.is_file():
        raise ImportFileError("file not found", file=str(path))
    t0 = time.perf_counter()
    raw = get_reader(path)(path, con, name, options)
    log.info("read %s: %d rows, %d columns in %.2fs", path, raw.rows, len(raw.headers),
             time.perf_counter() - t0)
    return raw


# --------------------------------------------------------------------------- sniffing helpers

_MAGIC = {
    b"PK\x03\x04": "an Excel .xlsx (zip) file",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls (or encrypted Office) file",
    b"%PDF": "a PDF file",
}


def _head(path: Path, n: int = 8) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _looks_like(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    return None


def _headers(names: list[object], path: Path) -> tuple[str, ...]:
    """Clean header cells: strip spaces and BOMs, name empty ones ``_unnamed_N``, refuse duplicates."""
    out: list[str] = []
    for i, h in enumerate(names, start=1):
        text = "" if h is None else str(h).replace("\ufeff", "").strip()
        out.append(text or f"_unnamed_{i}")
    seen: set[str] = set()
    for h in out:
        if h in seen:
            raise ImportFileError(f"header {h!r} appears more than once", file=str(path))
        seen.add(h)
    return tuple(out)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _load_columns(
    con: duckdb.DuckDBPyConnection, name: str, headers: tuple[str, ...],
    columns: list[list[str | None]], rows: list[int], path: Path,
) -> RawFile:
    """Create temp table ``name`` from Python column lists (used by the Excel reader)."""
    import pyarrow as pa

    data = {f"c{i}": pa.array(col, type=pa.string()) for i, col in enumerate(columns)}
    data[ROW_COLUMN] = pa.array(rows, type=pa.int64())
    arrow = pa.table(data)
    view = f"{name}_arrow"
    con.register(view, arrow)
    try:
        select = ", ".join(f"c{i} AS {_quote(h)}" for i, h in enumerate(headers))
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT {ROW_COLUMN}, {select} FROM {view}")
    finally:
        con.unregister(view)
    return RawFile(path, name, headers, len(rows))
