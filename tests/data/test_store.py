from __future__ import annotations

import duckdb
import pytest

from perfkit.data.schema import SCHEMA_VERSION, TABLES
from perfkit.data.store import (
    connect,
    create_store,
    months,
    open_store,
    store_checksums,
    table_checksum,
)
from perfkit.errors import SchemaVersionError, StoreError


def test_create_and_open(tmp_path):
    db = tmp_path / "crm.duckdb"
    create_store(db).close()
    con = open_store(db)
    assert {r[0] for r in con.execute("SHOW TABLES").fetchall()} >= {t.name for t in TABLES}
    assert months(con) == []
    con.close()


def test_create_refuses_to_overwrite_by_accident(tmp_path):
    db = tmp_path / "crm.duckdb"
    create_store(db).close()
    with pytest.raises(StoreError, match="store already exists"):
        create_store(db)
    create_store(db, overwrite=True).close()


def test_missing_store_names_the_file(tmp_path):
    with pytest.raises(StoreError, match=r"nope\.duckdb: store not found; build the demo store"):
        open_store(tmp_path / "nope.duckdb")


def test_other_schema_version_is_a_clear_error(tmp_path):
    db = tmp_path / "old.duckdb"
    con = create_store(db)
    con.execute("UPDATE perfkit_meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(
        SchemaVersionError, match=f"store has schema version 0, this perfkit needs {SCHEMA_VERSION}"
    ):
        open_store(db)


def test_not_a_perfkit_store(tmp_path):
    db = tmp_path / "other.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(SchemaVersionError, match="not a perfkit store"):
        open_store(db)


def test_checksum_changes_with_content_not_order(tmp_path):
    con = create_store(tmp_path / "c.duckdb")
    empty = table_checksum(con, "market")
    con.execute("INSERT INTO market VALUES ('2026-01', 0.01, 0.001), ('2026-02', -0.02, 0.001)")
    two = table_checksum(con, "market")
    assert two[0] == 2 and two != empty
    con.execute("DELETE FROM market")
    con.execute("INSERT INTO market VALUES ('2026-02', -0.02, 0.001), ('2026-01', 0.01, 0.001)")
    assert table_checksum(con, "market") == two
    con.execute("UPDATE market SET index_return = 0.011 WHERE month = '2026-01'")
    assert table_checksum(con, "market") != two
    assert set(store_checksums(con)) == {t.name for t in TABLES}


def test_connect_passes_connections_through(tmp_path):
    db = tmp_path / "c.duckdb"
    create_store(db).close()
    con = open_store(db)
    with connect(con) as same:
        assert same is con
    con.execute("SELECT 1")  # still open
    with connect(db) as opened:
        assert opened.execute("SELECT count(*) FROM branches").fetchone() == (0,)
