from __future__ import annotations

import duckdb
import pytest

from perfkit.data import schema
from perfkit.data.store import create_schema
from perfkit.errors import StoreError

DESIGN_TABLES = {"branches", "employees", "clients", "client_months", "contacts", "surveys",
                 "reviews", "incidents", "market"}


def test_every_design_table_is_defined():
    assert set(schema.TABLE_BY_NAME) >= DESIGN_TABLES


def test_every_column_is_documented():
    for t in schema.TABLES:
        assert t.doc.strip(), t.name
        for c in t.columns:
            assert len(c.doc.strip()) >= 2, f"{t.name}.{c.name} has no meaning"
            if c.type == "DOUBLE" and not c.name.endswith("_rate") and c.name not in {"index_return"}:
                assert c.unit, f"{t.name}.{c.name} is a number without a unit"


def test_keys_and_foreign_keys_name_real_columns():
    for t in schema.TABLES:
        names = set(t.column_names)
        assert set(t.key) <= names, t.name
        assert all(t.column(k).nullable is False for k in t.key), t.name
        for fk in t.foreign_keys:
            assert fk.column in names
            ref = schema.TABLE_BY_NAME[fk.ref_table]
            assert fk.ref_column in ref.column_names
            # load order: referenced tables come first
            assert schema.LOAD_ORDER.index(fk.ref_table) < schema.LOAD_ORDER.index(t.name)


def test_created_tables_match_definition():
    con = duckdb.connect()
    create_schema(con)
    for t in schema.TABLES:
        rows = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [t.name]
        ).fetchall()
        assert [r[0] for r in rows] == t.column_names
        assert [r[1] for r in rows] == [c.type for c in t.columns]
        assert [r[2] == "NO" for r in rows] == [not c.nullable for c in t.columns]
    # primary keys are enforced
    con.execute("INSERT INTO market VALUES ('2026-01', 0.01, 0.001)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO market VALUES ('2026-01', 0.02, 0.001)")


def test_unknown_table_error_lists_known_ones():
    with pytest.raises(StoreError, match=r"unknown table 'client'; known tables: branches, employees"):
        schema.table("client")


def test_markdown_reference_lists_every_column():
    md = schema.markdown_reference()
    for t in schema.TABLES:
        assert f"### `{t.name}`" in md
        for c in t.columns:
            assert f"| `{c.name}` | {c.type} |" in md
