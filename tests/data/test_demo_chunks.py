"""perfkit.data.demo in chunks of clients: a store of more clients than
:data:`~perfkit.data.demo.generator.CHUNK_CLIENTS` is simulated and written a chunk at a time (its
memory does not grow with the clients), is deterministic and keeps the data contract of a store
built in one piece. The chunk size is lowered to 1,000 here: 3,000 clients make three chunks.
"""

from __future__ import annotations

import pytest
from test_demo import (  # noqa: F401 - the contract tests, run again on the chunked store
    SEED,
    SMALL,
    test_client_months_invariants,
    test_clients_contract,
    test_every_value_passes_the_schema_rules,
    test_foreign_keys_hold,
    test_leaver_hands_his_clients_over,
    test_new_hire_without_clients,
    test_phone_and_id_numbers_are_plausible,
    test_tables_are_exactly_the_schema_tables,
)

from perfkit.data.demo import generator as demo
from perfkit.data.store import open_store, store_checksums

CHUNK = 1000


@pytest.fixture(scope="module")
def simulated() -> list[int]:
    """Clients per call of the monthly simulation during the module's build."""
    return []


@pytest.fixture(scope="module")
def built(tmp_path_factory, simulated):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(demo, "CHUNK_CLIENTS", CHUNK)
        real = demo._simulate

        def spy(rng, cl, *args):
            simulated.append(cl.n)
            return real(rng, cl, *args)

        m.setattr(demo, "_simulate", spy)
        db = tmp_path_factory.mktemp("demo_chunks") / "crm.duckdb"
        counts = demo.generate(db, seed=SEED, **SMALL)
    return db, counts


@pytest.fixture(scope="module")
def con(built):
    c = open_store(built[0])
    yield c
    c.close()


def test_clients_are_simulated_a_chunk_at_a_time(built, simulated):
    assert simulated == [CHUNK] * 3  # never more than a chunk at once, every client once
    assert built[1]["clients"] == SMALL["clients"]


def test_client_numbers_and_record_numbers_run_on_across_chunks(con):
    ids = [r[0] for r in con.execute("SELECT client_id FROM clients ORDER BY 1").fetchall()]
    assert ids == [f"C{i:08d}" for i in range(1, SMALL["clients"] + 1)]
    for table, key in (("contacts", "contact_id"), ("surveys", "survey_id")):
        n, lo, hi, distinct = con.execute(
            f"SELECT count(*), min({key}), max({key}), count(DISTINCT {key}) FROM {table}").fetchone()
        assert (lo, hi, distinct) == (1, n, n), table
    # each chunk draws its own clients: every chunk has accounts, leads and account-months
    per_chunk = con.execute(
        "SELECT (CAST(substr(c.client_id, 2) AS INTEGER) - 1) // ? AS chunk, count(DISTINCT c.client_id), "
        "count(DISTINCT c.open_date), count(m.client_id) FROM clients c "
        "LEFT JOIN client_months m USING (client_id) GROUP BY 1 ORDER BY 1", [CHUNK]).fetchall()
    assert [r[0] for r in per_chunk] == [0, 1, 2] and all(r[2] > 1 and r[3] > 0 for r in per_chunk)


def test_same_seed_same_store_in_chunks(built, con, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "CHUNK_CLIENTS", CHUNK)
    again = tmp_path / "again.duckdb"
    demo.generate(again, seed=SEED, **SMALL)
    c2 = open_store(again)
    assert store_checksums(c2) == store_checksums(con)
    c2.close()
    # the chunks draw other numbers than one piece would: chunking is part of the generator
    whole = tmp_path / "whole.duckdb"
    monkeypatch.setattr(demo, "CHUNK_CLIENTS", 10**6)
    demo.generate(whole, seed=SEED, **SMALL)
    c3 = open_store(whole)
    a, b = store_checksums(c3), store_checksums(con)
    c3.close()
    assert a["employees"] == b["employees"] and a["clients"] != b["clients"]
