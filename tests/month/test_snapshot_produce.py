"""How perfkit.month.frames.produce runs the producers: two frames at a time, a frame after the
frames it names, frames written inside DuckDB, the first error raised once the others have ended.
Producers here are stand-ins (no store is read)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from perfkit.errors import SpecError
from perfkit.month import frames as frames_mod
from perfkit.month.frames import produce, register


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(frames_mod, "REGISTRY", {})
    return frames_mod.REGISTRY


class Log:
    """When each producer ran, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.spans: dict[str, tuple[float, float]] = {}

    def producer(self, name: str, seconds: float = 0.2, fail: bool = False):
        def produce_(store: Any, month: str, params: Path) -> pd.DataFrame:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            t0 = time.perf_counter()
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
            self.spans[name] = (t0, time.perf_counter())
            if fail:
                raise RuntimeError(f"{name} failed")
            return pd.DataFrame({"employee_id": ["E2", "E1"], "v": [2, 1]})

        return produce_


def test_two_frames_at_a_time_and_after_waits(registry: dict, tmp_path: Path) -> None:
    log = Log()
    for name in ("a", "b", "c"):
        register(name, log.producer(name), scope=("employee_id",))
    register("d", log.producer("d"), after=("a", "b"))
    lines: list[str] = []
    frames = produce("store.duckdb", "2026-10", tmp_path, tmp_path, lines.append)
    assert log.most == 2  # never more than THREADS at once, and at once indeed
    assert log.spans["d"][0] >= max(log.spans["a"][1], log.spans["b"][1])
    assert list(frames) == ["a", "b", "c", "d"]  # the registry's order, whatever finished first
    assert len(lines) == 4 and all(re.search(r"\[\d/4\] [abcd]: 2 rows", x) for x in lines)
    assert pq.read_table(tmp_path / "a.parquet").to_pandas()["employee_id"].tolist() == ["E1", "E2"]


def test_a_store_given_as_a_connection_runs_one_frame_at_a_time(registry: dict,
                                                               tmp_path: Path) -> None:
    import duckdb

    log = Log()
    for name in ("a", "b", "c"):
        register(name, log.producer(name, 0.05))
    produce(duckdb.connect(), "2026-10", tmp_path, tmp_path)
    assert log.most == 1


def test_a_frame_written_inside_duckdb(registry: dict, tmp_path: Path) -> None:
    from perfkit.data.store import copy_parquet

    def writer(store: Any, month: str, params: Path, file: Path, order: tuple[str, ...]) -> int:
        import duckdb

        return copy_parquet(duckdb.connect(), "SELECT * FROM (VALUES ('E2', 2), ('E1', 1)) "
                            "AS t(employee_id, v)", file, order_by=order)

    register("w", writer, scope=("employee_id",), writes=True)
    frames = produce("store.duckdb", "2026-10", tmp_path, tmp_path)
    assert frames["w"] == {"scope": ["employee_id"],
                           "parts": [{"title": "", "file": "w.parquet", "rows": 2}]}
    assert pq.read_table(tmp_path / "w.parquet").to_pandas()["v"].tolist() == [1, 2]


def test_the_first_error_is_raised_once_the_running_frames_end(registry: dict,
                                                               tmp_path: Path) -> None:
    log = Log()
    register("slow", log.producer("slow", 0.5))
    register("broken", log.producer("broken", 0.05, fail=True))
    register("later", log.producer("later"))
    with pytest.raises(RuntimeError, match="broken failed"):
        produce("store.duckdb", "2026-10", tmp_path, tmp_path)
    assert "slow" in log.spans  # ended before the error was raised
    assert "later" not in log.spans  # nothing starts after an error


def test_frames_waiting_for_each_other_are_an_error(registry: dict, tmp_path: Path) -> None:
    log = Log()
    register("x", log.producer("x"), after=("y",))
    register("y", log.producer("y"), after=("x",))
    with pytest.raises(SpecError, match="snapshot frames wait for each other .*: x, y"):
        produce("store.duckdb", "2026-10", tmp_path, tmp_path)
