"""Measures of many months computed in runs that fit DuckDB's memory (month_batches): the same
frame as one query for all of them; and `perfkit indicators`, which prints no history, computes
the month and the one before only. Tiny store of conftest.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perfkit.cli import main
from perfkit.data.store import open_store
from perfkit.metrics import indicators as indicators_mod
from perfkit.metrics import measures
from perfkit.metrics.catalog import load_catalog

PARAMS = Path(__file__).resolve().parents[2] / "parameters"
MONTHS = ["2026-08", "2026-09", "2026-10"]


def test_months_in_runs_give_the_same_frame(tiny_store: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    con = open_store(tiny_store)
    catalog = load_catalog(PARAMS)
    assert measures.month_batches(con, MONTHS) == [MONTHS]  # a small store: one query
    whole = measures.measure_frame(con, MONTHS, catalog)
    monkeypatch.setattr(measures, "BYTES_PER_ACCOUNT_MONTH", 10**15)  # a month fills the memory
    assert measures.month_batches(con, MONTHS) == [[m] for m in MONTHS]
    runs = measures.measure_frame(con, MONTHS, catalog)
    con.close()
    assert set(whole["month"]) == set(MONTHS)
    pd.testing.assert_frame_equal(runs, whole)


def test_the_indicators_command_computes_two_months(tiny_store: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []
    real = indicators_mod.cached_measure_frame

    def spy(store, con, months, catalog):
        asked.append(sorted(months))
        return real(store, con, months, catalog)

    monkeypatch.setattr(indicators_mod, "cached_measure_frame", spy)
    assert main(["indicators", "--db", str(tiny_store), "--month", "2026-10", "--level", "employee",
                 "--format", "csv", "--out", str(tmp_path / "i.csv")]) == 0
    assert asked == [["2026-09", "2026-10"]]
    assert "prev_value" in pd.read_csv(tmp_path / "i.csv").columns
