"""DuckDB's settings on every store connection (memory limit, spill folder, threads) and
copy_parquet, the query written straight to Parquet."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from perfkit.data import store as store_mod
from perfkit.data.store import (
    MEMORY_SHARE,
    copy_parquet,
    create_store,
    memory_limit,
    open_store,
    resource_error,
    spill_folder,
)
from perfkit.errors import StoreError


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PERFKIT_DUCKDB_MEMORY", "PERFKIT_DUCKDB_TEMP", "PERFKIT_DUCKDB_THREADS",
                 "PERFKIT_CACHE"):
        monkeypatch.delenv(name, raising=False)


def test_the_default_limit_is_a_share_of_the_machine(no_env: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "_physical_memory", lambda: 24 * 2**30)
    assert memory_limit() == f"{int(24 * 2**30 * MEMORY_SHARE) >> 20}MiB" == "4423MiB"
    assert memory_limit(default_at_most=2048) == "2048MiB"
    monkeypatch.setattr(store_mod, "_physical_memory", lambda: 2 * 2**30)
    assert memory_limit() == "1024MiB"  # never below 1 GiB


@pytest.mark.parametrize(("text", "want"), [("4GB", "4GB"), ("800 MB", "800MB"), ("1.5GiB", "1.5GiB"),
                                            ("25%", "6144MiB")])
def test_the_limit_can_be_set(text: str, want: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "_physical_memory", lambda: 24 * 2**30)
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", text)
    assert memory_limit() == want
    assert memory_limit(default_at_most=100) == want  # a setting is never capped


@pytest.mark.parametrize("text", ["lots", "0%", "150%", "-1GB"])
def test_a_malformed_limit_names_the_variable(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", text)
    with pytest.raises(StoreError, match=r"\$PERFKIT_DUCKDB_MEMORY must be an amount such as 4GB"):
        memory_limit()


def test_every_connection_gets_the_settings(tmp_path: Path, no_env: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "crm.duckdb"
    create_store(db).close()
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", "300MB")
    monkeypatch.setenv("PERFKIT_DUCKDB_THREADS", "1")
    con = open_store(db)
    limit, temp, threads = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "current_setting('threads')").fetchone()
    assert limit == "286.1 MiB" and threads == 1
    # beside the store on its disk, one folder per process
    assert Path(temp) == tmp_path / ".perfkit-cache" / "duckdb-tmp" / str(os.getpid())
    # an analyst's own connection to the same file still opens beside perfkit's
    plain = duckdb.connect(str(db), read_only=True)
    assert plain.execute("SELECT count(*) FROM branches").fetchone() == (0,)
    plain.close()
    con.close()
    monkeypatch.setenv("PERFKIT_DUCKDB_THREADS", "many")
    with pytest.raises(StoreError, match=r"\$PERFKIT_DUCKDB_THREADS must be a whole number"):
        open_store(db)


def test_the_spill_folder(tmp_path: Path, no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache"))
    assert spill_folder("/elsewhere/crm.duckdb") == tmp_path / "cache" / "duckdb-tmp" / str(os.getpid())
    root = tmp_path / "spill"
    gone = root / "999999999"  # no such process: left by a killed build
    gone.mkdir(parents=True)
    (gone / "duckdb_temp_storage.tmp").write_bytes(b"x")
    mine = root / str(os.getpid())
    mine.mkdir()
    monkeypatch.setenv("PERFKIT_DUCKDB_TEMP", str(root))
    monkeypatch.setattr(store_mod, "_SWEPT", set())
    assert spill_folder() == mine
    assert not gone.exists() and mine.exists()


def test_running_out_of_memory_is_a_store_error_naming_the_setting() -> None:
    err = resource_error(duckdb.OutOfMemoryException("Out of Memory Error: could not allocate"),
                         "measures/accounts.sql")
    assert isinstance(err, StoreError)
    assert re.search(r"accounts\.sql: DuckDB ran out of memory: .* raise \$PERFKIT_DUCKDB_MEMORY",
                     str(err))
    assert "PERFKIT_DUCKDB_TEMP" in str(resource_error(duckdb.IOException("disk full")))
    assert resource_error(duckdb.BinderException("no column x")) is None


def test_copy_parquet_sorts_and_writes_row_groups(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'b' || (i % 3) END "
                "AS g FROM range(10000) AS r(i)")
    out = tmp_path / "t.parquet"
    n = copy_parquet(con, "SELECT * FROM t WHERE i >= ?", out, args=[10], order_by=["g", "i"],
                     row_group_size=2048)  # DuckDB cuts row groups at multiples of 2,048 rows
    assert n == 9990
    df = pq.read_table(out).to_pandas()
    assert len(df) == 9990 and df["g"].iloc[-1] is None  # missing values last
    head = df[df["g"].notna()]
    assert list(head.itertuples(index=False)) == sorted(head.itertuples(index=False),
                                                        key=lambda r: (r.g, r.i))
    assert pq.ParquetFile(out).metadata.num_row_groups == 5
    n = copy_parquet(con, "SELECT * FROM t WHERE i < $top", tmp_path / "u.parquet", args={"top": 5})
    assert n == 5
