"""measure_frame runs the measure files two at a time (the store's connection and a second one):
same frame as one by one, and the error of the first failing file in the catalog's order."""

from __future__ import annotations

import logging
import shutil

import pandas as pd
import pytest

from perfkit.data.store import open_store
from perfkit.errors import SpecError
from perfkit.metrics.catalog import load_catalog
from perfkit.metrics.measures import measure_frame

MONTHS = ["2026-09", "2026-10"]


def frame_and_log(store, catalog, threads: int, caplog) -> tuple[pd.DataFrame, list[str]]:
    con = open_store(store)
    try:
        con.execute(f"SET threads = {threads}")
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="perfkit.metrics.measures"):
            frame = measure_frame(con, MONTHS, catalog)
        return frame, [r.getMessage() for r in caplog.records if "second connection" in r.getMessage()]
    finally:
        con.close()


def test_two_connections_give_the_frame_of_one(tiny_store, params_dir, caplog):
    catalog = load_catalog(params_dir)
    parallel, second = frame_and_log(tiny_store, catalog, 2, caplog)
    serial, none = frame_and_log(tiny_store, catalog, 1, caplog)
    assert second and not none  # with 2 DuckDB threads some files ran on the second connection
    assert len(second) < len(catalog.measure_files)  # … and some on the store's connection
    pd.testing.assert_frame_equal(parallel, serial)
    assert parallel["tasks_due"].sum() > 0 and parallel["accounts_active"].sum() > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_the_first_failing_file_in_catalog_order_is_reported(tiny_store, params_dir, tmp_path, threads):
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    # a.sql sorts before every measure file and z.sql after them; both fail
    (params / "measures" / "a.sql").write_text(
        "-- measure: a_count: a\nSELECT employee_id, month, count(*) AS a_count FROM nope_a GROUP BY ALL",
        encoding="utf-8")
    (params / "measures" / "z.sql").write_text(
        "-- measure: z_count: z\nSELECT employee_id, month, count(*) AS z_count FROM nope_z GROUP BY ALL",
        encoding="utf-8")
    catalog = load_catalog(params)
    assert [f.path.rsplit("/", 1)[-1] for f in catalog.measure_files][::len(catalog.measure_files) - 1] \
        == ["a.sql", "z.sql"]
    con = open_store(tiny_store)
    try:
        con.execute(f"SET threads = {threads}")
        with pytest.raises(SpecError, match=r"a\.sql: measure SQL failed: .*nope_a"):
            measure_frame(con, MONTHS, catalog)
        # the connection is left clean: no temp table or view of perfkit's stays behind
        left = con.execute("SELECT table_name FROM information_schema.tables "
                           "WHERE table_catalog = 'temp'").fetchall()
        assert left == []
    finally:
        con.close()
