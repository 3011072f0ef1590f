"""``perfkit upgrade-store``: a version-3 store (no employees.email) upgraded in place after a
backup copy, readable afterwards; a current store is left alone; a failure changes nothing."""

from __future__ import annotations

import duckdb
import pytest

from perfkit.cli import main
from perfkit.data.migrate import upgrade_store
from perfkit.data.schema import SCHEMA_VERSION
from perfkit.data.store import META_TABLE, create_store, open_store
from perfkit.errors import SchemaVersionError


def _version3_store(path):
    create_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO branches VALUES ('B01', '上海营业部', '华东', '上海', '一类')")
    con.execute("INSERT INTO employees (employee_id, employee_name, branch_id, position, hire_date) "
                "VALUES ('E1', '张伟', 'B01', '客户经理', DATE '2020-01-01')")
    con.execute("ALTER TABLE employees DROP COLUMN email")
    con.execute(f"UPDATE {META_TABLE} SET value = '3' WHERE key = 'schema_version'")
    con.close()
    return path


def test_a_version_3_store_is_refused_with_the_command_that_upgrades_it(tmp_path):
    path = _version3_store(tmp_path / "old.duckdb")
    with pytest.raises(SchemaVersionError, match="perfkit upgrade-store"):
        open_store(path)


def test_upgrade_keeps_a_backup_and_the_rows(tmp_path, capsys):
    path = _version3_store(tmp_path / "old.duckdb")
    assert main(["upgrade-store", "--db", str(path)]) == 0
    assert f"schema version 3 → {SCHEMA_VERSION}" in capsys.readouterr().out
    backup = tmp_path / "old.duckdb.schema3.bak"
    assert backup.is_file()
    con = open_store(path)
    try:
        assert con.execute("SELECT employee_id, employee_name, email FROM employees").fetchall() \
            == [("E1", "张伟", None)]
    finally:
        con.close()
    old = duckdb.connect(str(backup), read_only=True)
    try:  # the backup is the version-3 store, as it was
        assert old.execute(f"SELECT value FROM {META_TABLE}").fetchone()[0] == "3"
    finally:
        old.close()
    assert upgrade_store(path).line().endswith("nothing to do")


def test_a_failed_upgrade_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    from perfkit.data import migrate

    path = _version3_store(tmp_path / "old.duckdb")
    monkeypatch.setitem(migrate.MIGRATIONS, 3, ("ALTER TABLE employees ADD COLUMN email VARCHAR",
                                                "ALTER TABLE no_such_table ADD COLUMN x INT"))
    with pytest.raises(Exception, match="unchanged"):
        upgrade_store(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute(f"SELECT value FROM {META_TABLE}").fetchone()[0] == "3"
        cols = {r[0] for r in con.execute("DESCRIBE employees").fetchall()}
        assert "email" not in cols
    finally:
        con.close()


def test_a_version_4_store_gets_the_publication_files_table(tmp_path):
    path = tmp_path / "v4.duckdb"
    create_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE publication_files")
    con.execute(f"UPDATE {META_TABLE} SET value = '4' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(SchemaVersionError, match="perfkit upgrade-store"):
        open_store(path)
    assert upgrade_store(path).line().endswith(f"schema version 4 → {SCHEMA_VERSION}; backup "
                                               f"{tmp_path / 'v4.duckdb.schema4.bak'}")
    con = open_store(path)
    try:
        assert con.execute("SELECT count(*) FROM publication_files").fetchone() == (0,)
    finally:
        con.close()
