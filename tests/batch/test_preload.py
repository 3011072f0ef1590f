"""The fork server holds a small month snapshot in memory for its kernels.

:func:`perfkit.month.snapshot.preload` keeps every part file of a snapshot in memory; a read then
filters the held table: the same rows, in the same order, as reading the file. The fork server's
``preload`` op does it before forking, so a report kernel reads no file at all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from perfkit.month import snapshot as snap_mod
from perfkit.month.build import build
from perfkit.month.snapshot import Snapshot

MONTH = "2026-10"


@pytest.fixture(scope="module")
def snap(tiny_store: Path, params_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("preload")
    store = root / "tiny.duckdb"
    shutil.copyfile(tiny_store, store)
    return build(store, MONTH, params_dir, root=root / "snapshots")


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> dict:
    """This test's own preload table (the module's is left as it was)."""
    table: dict = {}
    monkeypatch.setattr(snap_mod, "_PRELOADED", table)
    return table


READS = [("indicators.employee", {"entity_id": "E1"}),
         ("indicators.employee", {"parent_id": "B01"}),
         ("tasks", {"employee_id": "E1"}),
         ("tasks", {"branch_id": "B02"}),
         ("scorecard.employee", {"any_of": True, "entity_id": "B01", "parent_id": "B01"}),
         ("stat_tables.branch", {"branch_id": "B01"}),
         ("indicators.company", {})]


def _frames(s: Snapshot) -> list[object]:
    return [s.read(name, **where) for name, where in READS]


def _same(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            pd.testing.assert_frame_equal(a[k], b[k])
    else:
        pd.testing.assert_frame_equal(a, b)


def test_held_snapshot_reads_as_the_files(snap: Path, held: dict, tmp_path: Path) -> None:
    from_files = _frames(Snapshot(snap))
    copy = tmp_path / snap.name
    shutil.copytree(snap, copy)
    assert snap_mod.preload(copy, 64 << 20) > 0
    assert len(held) == len(list(copy.glob("*.parquet")))
    for f in copy.glob("*.parquet"):
        f.unlink()  # from now on only the memory can answer
    from_memory = _frames(Snapshot(copy))
    assert any(len(f) for f in from_memory if isinstance(f, pd.DataFrame))
    for a, b in zip(from_files, from_memory, strict=True):
        _same(a, b)


def test_a_snapshot_over_the_limit_is_not_held(snap: Path, held: dict) -> None:
    assert snap_mod.preload(snap, 1000) == 0
    assert held == {}


def test_fork_server_preloads_for_its_kernels(snap: Path) -> None:
    from perfkit.batch.forkserver import ForkServer

    server = ForkServer()
    try:
        held_bytes = server.preload(str(snap))
        assert held_bytes > 0
        assert server.preload(str(snap)) == held_bytes  # once per server
        pid, _ = server.kernel(os.getcwd(), dict(os.environ), [])
        assert pid > 0
    finally:
        server.close()
