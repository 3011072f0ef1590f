"""The month snapshot under a low DuckDB memory limit: the frames are the same as with the default
settings. DuckDB's operators are forced out of core (``debug_force_external``: partitioned
aggregates, external sorts, the COPY's sort) so that the out-of-memory paths run on a store small
enough for the test suite; a store of millions of clients takes them for real
(bench/bench_scale.py). Runs on a mid-size demo store (3 branches, 30 employees, 10,000 clients)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perfkit.data import store as store_mod
from perfkit.data.demo import generate
from perfkit.metrics import measures as measures_mod
from perfkit.month.build import build
from perfkit.month.snapshot import Snapshot

MONTH = "2026-10"
LOW = "150MB"


@pytest.fixture(scope="module")
def mid_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("mid") / "mid.duckdb"
    generate(db, branches=3, employees=30, clients=10_000)
    return db


def _frames(folder: Path) -> dict[str, pd.DataFrame]:
    snap = Snapshot(folder)
    out = {}
    for name in snap.meta["frames"]:
        got = snap.read(name)
        for title, df in (got.items() if isinstance(got, dict) else [("", got)]):
            out[f"{name}[{title}]"] = df
    return out


def test_a_low_memory_limit_gives_the_same_frames(mid_store: Path, params_dir: Path,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache-default"))
    default = _frames(build(mid_store, MONTH, params_dir, root=tmp_path / "default"))

    seen: list[tuple[str, str]] = []
    configure = store_mod.configure

    def low_and_out_of_core(con, store=None):
        configure(con, store)
        con.execute("SET debug_force_external = true")
        seen.append(con.execute("SELECT current_setting('memory_limit'), "
                                "current_setting('temp_directory')").fetchone())

    monkeypatch.setattr(store_mod, "configure", low_and_out_of_core)
    monkeypatch.setenv("PERFKIT_CACHE", str(tmp_path / "cache-low"))  # no measures cached either:
    monkeypatch.setattr(measures_mod, "_MEMORY", {})  # not on disk, not in this process's memory
    monkeypatch.setenv("PERFKIT_DUCKDB_MEMORY", LOW)
    monkeypatch.setenv("PERFKIT_DUCKDB_THREADS", "2")  # the same floor of memory on any machine
    monkeypatch.setenv("PERFKIT_DUCKDB_TEMP", str(tmp_path / "spill"))
    low = _frames(build(mid_store, MONTH, params_dir, root=tmp_path / "low"))

    assert seen and {s[0] for s in seen} == {"143.0 MiB"}  # every connection had the low limit
    assert {Path(s[1]).parent for s in seen} == {tmp_path / "spill"}
    assert low.keys() == default.keys() and len(low) > 20
    for name, df in default.items():
        # floats to DuckDB's summation order (the default build differs from itself that much)
        pd.testing.assert_frame_equal(low[name], df, check_exact=False, rtol=1e-9, obj=name)
    assert len(default["tasks[]"]) > 1000 and len(default["appraisal.rfm_clients[]"]) > 1000
