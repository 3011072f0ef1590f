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


@pytest.mark.parametrize("text", ["lots", "0%", "150%", "-1GB", "4X"])
def test_a_malformed_limit_names_the_variable(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", text)
    with pytest.raises(StoreError, match=r"\$PERFKIT_DUCKDB_MEMORY must be an amount such as 4GB"):
        memory_limit()


@pytest.mark.parametrize("text", ["0GB", "4K", "63MB", "0.01GB"])
def test_a_limit_too_small_to_run_is_refused(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", text)
    with pytest.raises(StoreError, match=r"\$PERFKIT_DUCKDB_MEMORY = .* at least 64MB"):
        memory_limit()


def test_a_container_limit_below_the_machine_is_the_memory(tmp_path: Path, no_env: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.max").write_text("4294967296\n")  # a pod of 4 GiB on a larger machine
    (tmp_path / "unlimited").write_text("max\n")
    monkeypatch.setattr(store_mod, "CGROUP_LIMITS", (str(tmp_path / "memory.max"),))
    assert memory_limit() == "1024MiB"  # 18 % of 4 GiB is below the 1 GiB floor
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", "50%")
    assert memory_limit() == "2048MiB"
    monkeypatch.setattr(store_mod, "CGROUP_LIMITS", (str(tmp_path / "unlimited"),
                                                     str(tmp_path / "missing")))
    assert store_mod._physical_memory() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


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
    # beside the store on its disk, one folder per process and store
    assert Path(temp) == spill_folder(db)
    assert Path(temp).parent == tmp_path / ".perfkit-cache" / "duckdb-tmp"
    assert f"-{os.getpid()}-" in Path(temp).name
    # an analyst's own connection to the same file still opens beside perfkit's
    plain = duckdb.connect(str(db), read_only=True)
    assert plain.execute("SELECT count(*) FROM branches").fetchone() == (0,)
    plain.close()
    con.close()
    for nonsense in ("many", "0", "²", "100000"):
        monkeypatch.setenv("PERFKIT_DUCKDB_THREADS", nonsense)
        with pytest.raises(StoreError, match=r"\$PERFKIT_DUCKDB_THREADS must be a whole number"):
            open_store(db)


def test_the_spill_folder(tmp_path: Path, no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache"))
    a = spill_folder("/elsewhere/crm.duckdb")
    assert a.parent == tmp_path / "cache" / "duckdb-tmp"
    assert a.name.startswith(f"{store_mod._HOST}-{os.getpid()}-")
    # DuckDB names its spill files alike: two stores of one process never share a folder
    assert spill_folder("/elsewhere/crm.duckdb.tmp") != a == spill_folder("/elsewhere/crm.duckdb")
    root = tmp_path / "spill"
    gone = root / f"{store_mod._HOST}-999999999-0badcafe"  # no such process: a killed build
    legacy = root / "999999998"  # the folder of an earlier perfkit
    other_host = root / "some_other_machine-999999999-0badcafe"  # a shared volume: not ours
    for folder in (gone, legacy, other_host):
        folder.mkdir(parents=True)
        (folder / "duckdb_temp_storage.tmp").write_bytes(b"x")
    monkeypatch.setenv("PERFKIT_DUCKDB_TEMP", str(root))
    monkeypatch.setattr(store_mod, "_SWEPT", set())
    mine = spill_folder()
    mine.mkdir()
    monkeypatch.setattr(store_mod, "_SWEPT", set())
    assert spill_folder() == mine
    assert not gone.exists() and not legacy.exists()
    assert other_host.exists() and mine.exists()


def test_two_stores_of_one_process_spill_apart(tmp_path: Path, no_env: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Both spill into one root ($PERFKIT_CACHE): closing the first must not break the second."""
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", "64MB")
    cons = []
    for name in ("a.duckdb", "b.duckdb"):
        create_store(tmp_path / name).close()
        con = open_store(tmp_path / name)
        con.execute("SET preserve_insertion_order = false")
        con.execute("CREATE TEMP TABLE big AS SELECT i, repeat('x', 200) || i AS s "
                    "FROM range(600000) AS r(i)")  # larger than 64 MB: spilled
        cons.append(con)
    assert len({c.execute("SELECT current_setting('temp_directory')").fetchone() for c in cons}) == 2
    cons[0].close()
    assert cons[1].execute("SELECT count(*), max(length(s)) FROM big").fetchone() == (600000, 206)
    cons[1].close()


def test_running_out_of_memory_is_a_store_error_naming_the_setting() -> None:
    err = resource_error(duckdb.OutOfMemoryException("Out of Memory Error: could not allocate"),
                         "measures/accounts.sql")
    assert isinstance(err, StoreError)
    assert re.search(r"accounts\.sql: DuckDB ran out of memory: .* raise \$PERFKIT_DUCKDB_MEMORY",
                     str(err))
    assert "PERFKIT_DUCKDB_TEMP" in str(resource_error(duckdb.IOException("disk full")))
    assert "PERFKIT_DUCKDB_TEMP" in str(resource_error(duckdb.IOException(
        "IO Error: Could not write file \"x/duckdb_temp_storage_DEFAULT-0.tmp\": No space left")))
    assert resource_error(duckdb.BinderException("no column x")) is None
    # a file a query reads that is missing is the query's error, not the spill folder's
    assert resource_error(duckdb.IOException('No files found that match the pattern "x.csv"')) is None


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


def test_a_failed_copy_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    con = duckdb.connect()
    out = tmp_path / "t.parquet"
    copy_parquet(con, "SELECT 1 AS i", out)
    before = out.read_bytes()
    with pytest.raises(duckdb.Error):
        copy_parquet(con, "SELECT CAST('x' || i AS INTEGER) AS i FROM range(100000) AS r(i)", out)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]
