"""``perfkit upgrade-store``: bring a store written by an earlier perfkit to this schema version, in
place, after a backup copy — never leaving it unreadable.

Each step of :data:`MIGRATIONS` takes a store from version *n* to *n + 1*; the steps run in one
transaction with the new version stamp, so a failure leaves the store exactly as it was (and the
backup beside it). The backup is ``<store>.schema<n>.bak``, a byte copy taken after a checkpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from perfkit.data.lock import writes_store
from perfkit.data.schema import PUBLICATION_TABLES, SCHEMA_VERSION
from perfkit.data.store import META_TABLE
from perfkit.errors import SchemaVersionError, StoreError

log = logging.getLogger(__name__)

#: version n → the statements that make a version-n store a version n + 1 store.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    3: ("ALTER TABLE employees ADD COLUMN IF NOT EXISTS email VARCHAR",),
    # versions published before keep no files: their reports use the current ones (a warning says so)
    4: (next(t for t in PUBLICATION_TABLES if t.name == "publication_files").ddl(),),
}


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade_store` did: versions before and after, and the backup written."""

    store: Path
    before: int
    after: int
    backup: Path | None

    def line(self) -> str:
        if self.before == self.after:
            return f"store {self.store} is at schema version {self.after}: nothing to do"
        kept = f"; backup {self.backup}" if self.backup else ""
        return f"store {self.store}: schema version {self.before} → {self.after}{kept}"


def _version(con: duckdb.DuckDBPyConnection, where: str) -> int:
    has_meta = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                           [META_TABLE]).fetchone()[0]
    if not has_meta:
        raise SchemaVersionError("not a perfkit store (no perfkit_meta table)", file=where)
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise SchemaVersionError(f"unreadable schema version {row!r}", file=where) from None


@writes_store("perfkit upgrade-store", "path")
def upgrade_store(path: str | os.PathLike, *, backup: bool = True) -> Upgrade:
    """Migrate the store at ``path`` to :data:`~perfkit.data.schema.SCHEMA_VERSION`.

    Raises :class:`StoreError` for a missing file and :class:`SchemaVersionError` for a store newer
    than this perfkit or one no migration reaches."""
    path = Path(path)
    if not path.is_file():
        raise StoreError("store not found", file=str(path))
    con = duckdb.connect(str(path))
    try:
        before = _version(con, str(path))
        if before > SCHEMA_VERSION:
            raise SchemaVersionError(f"store has schema version {before}, newer than this perfkit's "
                                     f"{SCHEMA_VERSION}: upgrade perfkit instead", file=str(path))
        missing = [v for v in range(before, SCHEMA_VERSION) if v not in MIGRATIONS]
        if missing:
            raise SchemaVersionError(f"no migration from schema version {missing[0]}; rebuild the "
                                     "store (`perfkit demo`) or re-import the source files",
                                     file=str(path))
        if before == SCHEMA_VERSION:
            return Upgrade(path, before, before, None)
        con.execute("CHECKPOINT")
        copy = None
        if backup:
            copy = path.with_name(f"{path.name}.schema{before}.bak")
            shutil.copyfile(path, copy)
            log.info("backed up %s to %s", path, copy)
        con.execute("BEGIN TRANSACTION")
        try:
            for version in range(before, SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    con.execute(statement)
            con.execute(f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'",
                        [str(SCHEMA_VERSION)])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"upgrade failed, the store is unchanged: {exc}", file=str(path)) from None
        con.execute("CHECKPOINT")
    finally:
        con.close()
    log.info("upgraded %s from schema version %d to %d", path, before, SCHEMA_VERSION)
    return Upgrade(path, before, SCHEMA_VERSION, copy)
