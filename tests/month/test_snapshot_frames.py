"""The level review, pay and appraisal frames in the month snapshot: each report reads its slice
(never another employee's or branch's rows), the slices hold the same values as the direct
computation, and a report given a snapshot no longer computes them. Tiny store of conftest.py."""

from __future__ import annotations

import shutil
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_snapshot import visible_text

from perfkit.appraisal import frames
from perfkit.month.build import build
from perfkit.month.frames import APPRAISAL_SCOPES
from perfkit.month.snapshot import Snapshot
from perfkit.month.sources import DirectSource, SnapshotSource
from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport

MONTH = "2026-10"
NEW_FRAMES = ["levels.summary", "levels.conditions", "pay",
              *(f"appraisal.{n}" for n in APPRAISAL_SCOPES)]
SECTIONS = {CompanyReport: ({}, ("level_summary", "appraisal")),
            BranchReport: ({"branch_id": "B01"}, ("level_changes", "pay_table", "appraisal")),
            EmployeeReport: ({"employee_id": "E1"}, ("level_status", "pay_and_bonus", "appraisal"))}


@pytest.fixture(scope="module")
def store(tiny_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("frames_store") / "tiny.duckdb"
    shutil.copyfile(tiny_store, path)
    return path


@pytest.fixture(scope="module")
def snap(store: Path, params_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(store, MONTH, params_dir, root=tmp_path_factory.mktemp("frames_snap"))


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], what: str) -> None:
    """Equal frames, up to row order and the kind of null in text columns (Parquet gives None
    where pandas had NaN; the views test both with pd.isna)."""
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
        for c in df.select_dtypes(include="object").columns:
            df[c] = df[c].where(df[c].notna(), None)
        return df

    a, b = norm(a), norm(b)
    pd.testing.assert_frame_equal(a, b, obj=what, check_dtype=False)


def test_new_frames_are_registered_and_sliced(snap: Path) -> None:
    s = Snapshot(snap)
    assert set(NEW_FRAMES) <= set(s.meta["frames"])
    for name in NEW_FRAMES:
        scope = s.meta["frames"][name]["scope"]
        everyone = s.read(name)
        assert not everyone.empty, name
        if "employee_id" in scope:
            e = everyone["employee_id"].iloc[-1]
            one = s.read(name, employee_id=e)
            assert len(one) == (everyone["employee_id"] == e).sum(), name
            assert set(one["employee_id"]) == {e}, name
        if "branch_id" in scope:
            rows = s.read(name, branch_id="B01")
            others = s.read(name, branch_id="B02")
            assert len(rows) + len(others) == len(everyone), name
            if "branch_id" in rows.columns:
                assert set(rows["branch_id"]) <= {"B01"} and set(others["branch_id"]) <= {"B02"}
            else:  # the column only scopes the snapshot; the frame itself has none
                assert set(rows["employee_id"]) <= {"E1", "E2"}, name
                assert set(others["employee_id"]) <= {"E3", "E4"}, name


def test_snapshot_slices_equal_the_direct_computation(store: Path, params_dir: Path,
                                                      snap: Path) -> None:
    direct = DirectSource(store, MONTH, params_dir)
    sliced = SnapshotSource(Snapshot(snap), direct)
    for entity in ("E1", "B02"):
        a, b = direct.levels(entity=entity), sliced.levels(entity=entity)
        _same(a[0], b[0], ["employee_id"], f"levels summary {entity}")
        _same(a[1], b[1], ["employee_id"], f"levels conditions {entity}")
        _same(direct.pay(entity=entity), sliced.pay(entity=entity), ["employee_id"], f"pay {entity}")
    for name in frames.FRAMES:
        everything = direct.appraisal(name)
        keys = [c for c in everything.columns
                if c.endswith("_id") or c in ("rfm_class", "dimension")]
        for col, value in ((None, None), ("employee_id", "E1"), ("branch_id", "B01"),
                           ("employee_id", "E3")):
            kw = {} if col is None else {col.removesuffix("_id"): value}
            b = sliced.appraisal(name, **kw)
            a = everything
            if col in a.columns:  # what DirectSource.appraisal(name, **kw) gives
                a = a[a[col] == value]
            if col in b.columns:
                assert set(b[col]) <= {value}, (name, kw)
            elif col == "branch_id" and "employee_id" in a.columns:  # sliced more narrowly
                assert set(b["employee_id"]) <= {"E1", "E2"}, (name, kw)
                a = a[a["employee_id"].isin({"E1", "E2"})]
            _same(a, b, keys, f"{name} {kw}")


@pytest.mark.parametrize("cls", list(SECTIONS), ids=lambda c: c.__name__)
def test_sections_read_the_snapshot_without_recomputing(
        cls: type, store: Path, params_dir: Path, snap: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    kw, sections = SECTIONS[cls]
    direct = cls(MONTH, db=store, params=params_dir, **kw)
    expected = {s: visible_text(getattr(direct, s)()) for s in sections}
    report = cls(MONTH, db=store, params=params_dir, snapshot=snap, **kw)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a report recomputed month data")

    monkeypatch.setattr(import_module("perfkit.appraisal.levels"), "level_review", boom)
    monkeypatch.setattr(import_module("perfkit.appraisal.pay"), "pay", boom)
    monkeypatch.setattr(frames, "FRAMES", {n: boom for n in frames.FRAMES})
    with pytest.raises(AssertionError, match="recomputed"):  # the guard works on the direct path
        getattr(direct, sections[-1])()
    for s in sections:
        assert visible_text(getattr(report, s)()) == expected[s], s


def test_sections_read_only_their_scope(store: Path, params_dir: Path, snap: Path,
                                        read_calls: list[tuple[str, dict[str, str]]]) -> None:
    calls = read_calls
    for cls, (kw, sections) in SECTIONS.items():
        report = cls(MONTH, db=store, params=params_dir, snapshot=snap, **kw)
        calls.clear()
        for s in sections:
            getattr(report, s)()
        read = [(n, w) for n, w in calls if n in NEW_FRAMES]
        assert read, cls
        if cls is CompanyReport:  # counts of every branch; no employee-level appraisal rows
            assert {n for n, _ in read} == {"levels.summary", "appraisal.advisor_branch",
                                            "appraisal.rfm_branch"}
        else:
            assert all(w and set(w.values()) == set(kw.values()) for _, w in read), read
