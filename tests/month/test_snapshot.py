"""The month snapshot (perfkit.month): same report content as the direct path, no recomputation in
a report that reads it, sliced reads that respect the scoping rules, fingerprint invalidation and
atomic builds. Runs on the tiny store of conftest.py (a copy, so the tests may change it)."""

from __future__ import annotations

import re
import shutil
from importlib import import_module
from pathlib import Path
from typing import Any

import duckdb
import ipywidgets as widgets
import pandas as pd
import pytest

from perfkit.errors import RequestError, SpecError
from perfkit.month import frames as frames_mod
from perfkit.month import snapshot as snap_mod
from perfkit.month.build import build
from perfkit.month.frames import register
from perfkit.month.snapshot import MANIFEST, Snapshot
from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport
from perfkit.report.widgets import Html

MONTH = "2026-10"
SECTIONS = {
    CompanyReport: ("indicators", "scorecards", "trends", "tables"),
    BranchReport: ("indicators", "employee_pages", "scorecards", "tables"),
    EmployeeReport: ("summary", "indicators", "movement"),
}
CASES = [(CompanyReport, {}), (BranchReport, {"branch_id": "B01"}),
         (EmployeeReport, {"employee_id": "E1"}), (EmployeeReport, {"employee_id": "E4"})]


@pytest.fixture(scope="module")
def store(tiny_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap_store") / "tiny.duckdb"
    shutil.copyfile(tiny_store, path)
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture(scope="module")
def snap(store: Path, params_dir: Path, root: Path) -> Path:
    return build(store, MONTH, params_dir, root=root)


@pytest.fixture
def cheap_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking bar charts as the text of their inputs: the comparison stays exact, without
    matplotlib's cost."""
    from perfkit.report import sections

    def fake(rows: pd.DataFrame, unit: str, title: str, ref_value: float, ref_label: str):
        return Html(f"{title} {unit} {ref_label} {ref_value!r} "
                    f"{rows[['entity_id', 'value']].to_dict('records')!r}")

    monkeypatch.setattr(sections, "ranking_chart", fake)  # the company's and branches' rankings


def visible_text(w: Any, out: list[str] | None = None) -> list[str]:
    """What a reader sees of a widget tree: text of HTML/labels, selector options, tab titles."""
    out = [] if out is None else out
    if isinstance(w, list | tuple):
        for x in w:
            visible_text(x, out)
        return out
    if isinstance(w, widgets.HTML | widgets.Label | Html):
        out.append(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", w.value)).strip())
    elif hasattr(w, "options"):
        out.append("|".join(map(str, w.options)))
    if isinstance(w, widgets.Tab | widgets.Accordion):
        out.append("|".join(w.titles))
    if hasattr(w, "children"):
        visible_text(list(w.children), out)
    return out


def _frames(report: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(report).items() if isinstance(v, pd.DataFrame | dict)}


# ------------------------------------------------------------------------------ same content
@pytest.mark.parametrize(("cls", "kw"), CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_snapshot_gives_the_same_report(cls: type, kw: dict[str, str], store: Path,
                                        params_dir: Path, snap: Path, cheap_charts: None) -> None:
    direct = cls(MONTH, db=store, params=params_dir, **kw)
    sliced = cls(MONTH, db=store, params=params_dir, snapshot=snap, **kw)
    assert type(sliced.data).__name__ == "SnapshotSource"
    a, b = _frames(direct), _frames(sliced)
    assert a.keys() == b.keys() and a
    for name, frame in a.items():
        if isinstance(frame, dict):
            assert frame.keys() == b[name].keys()
            for title in frame:
                pd.testing.assert_frame_equal(frame[title], b[name][title], obj=f"{name}[{title}]")
        else:
            pd.testing.assert_frame_equal(frame, b[name], obj=name)
    for section in SECTIONS[cls]:
        text = visible_text(getattr(direct, section)())
        assert any(t for t in text), section
        assert visible_text(getattr(sliced, section)()) == text, section


# ------------------------------------------------------------------------------ no recomputation
def _forbid_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a report recomputed month data")

    for mod, name in (("metrics.indicators", "indicators"), ("appraisal.scorecard", "scorecard"),
                      ("appraisal.scorecard", "scores"), ("metrics.tasks", "tasks"),
                      ("metrics.tables", "stat_tables"), ("metrics.measures", "measure_frame"),
                      ("metrics.measures", "cached_measure_frame")):
        monkeypatch.setattr(import_module(f"perfkit.{mod}"), name, boom)


@pytest.mark.parametrize(("cls", "kw"), CASES[:3], ids=lambda x: getattr(x, "__name__", str(x)))
def test_reports_read_the_snapshot_without_recomputing(
        cls: type, kw: dict[str, str], store: Path, params_dir: Path, snap: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_computation(monkeypatch)
    with pytest.raises(AssertionError, match="recomputed"):  # the guard works: direct path computes
        cls(MONTH, db=store, params=params_dir, **kw)
    report = cls(MONTH, db=store, params=params_dir, snapshot=snap, **kw)
    assert all(len(v) for v in _frames(report).values())
    monkeypatch.setenv(snap_mod.ENV, str(snap))  # the batch may also name it in the environment
    report = cls(MONTH, db=store, params=params_dir, **kw)
    assert type(report.data).__name__ == "SnapshotSource"


# ------------------------------------------------------------------------------ slices and scope
def test_slices_hold_only_the_entitys_rows(snap: Path) -> None:
    s = Snapshot(snap)
    everyone = s.read("indicators.employee")
    assert set(everyone["entity_id"]) >= {"E1", "E2", "E3"}
    one = s.read("indicators.employee", entity_id="E1")
    assert set(one["entity_id"]) == {"E1"} and len(one) == (everyone["entity_id"] == "E1").sum()
    assert isinstance(one["history"].iloc[0], list) and isinstance(one["history"].iloc[0][0], tuple)
    tasks = s.read("tasks", employee_id="E1")
    assert not tasks.empty and set(tasks["employee_id"]) == {"E1"}
    assert set(s.read("tasks", branch_id="B02")["branch_id"]) == {"B02"}
    tables = s.read("stat_tables.branch", branch_id="B01")
    assert all(set(df["branch_id"]) == {"B01"} for df in tables.values())
    with pytest.raises(RequestError, match="scoped by"):
        s.read("tasks", client_id="C01")
    with pytest.raises(RequestError, match="no frame"):
        s.read("nothing")


def test_each_report_reads_only_its_scope(store: Path, params_dir: Path, snap: Path,
                                          read_calls: list[tuple[str, dict[str, str]]]) -> None:
    calls = read_calls
    employee_frames = {"indicators.employee", "scorecard.employee", "tasks", "stat_tables.branch"}

    CompanyReport(MONTH, db=store, params=params_dir, snapshot=snap)
    assert calls and not {n for n, _ in calls} & employee_frames, calls
    calls.clear()
    b = BranchReport(MONTH, db=store, params=params_dir, snapshot=snap, branch_id="B01")
    for name, where in calls:
        assert name == "indicators.company" or set(where.values()) == {"B01"}, (name, where)
    assert set(b.employees["parent_id"]) == {"B01"} and set(b.tasks["branch_id"]) == {"B01"}
    assert set(b.scores["parent_id"]) == {"B01"} and set(b.breakdown["parent_id"]) == {"B01"}
    calls.clear()
    e = EmployeeReport(MONTH, db=store, params=params_dir, snapshot=snap, employee_id="E1")
    assert {n for n, _ in calls} <= employee_frames
    assert all(set(where.values()) == {"E1"} for _, where in calls), calls
    assert set(e.rows["entity_id"]) == {"E1"} and set(e.tasks["employee_id"]) == {"E1"}
    assert set(e.breakdown["entity_id"]) == {"E1"}


def test_snapshot_of_another_month_is_refused(store: Path, params_dir: Path, snap: Path) -> None:
    with pytest.raises(RequestError, match="of month 2026-10, not 2026-09"):
        EmployeeReport("2026-09", db=store, params=params_dir, snapshot=snap, employee_id="E1")


def test_a_copy_of_the_parameters_folder_may_read_the_snapshot(store: Path, params_dir: Path,
                                                               snap: Path, tmp_path: Path) -> None:
    """The snapshot is keyed by content, so a second checkout's identical parameters folder reuses
    it (and its reports must accept it); a folder whose files differ is refused."""
    copy = tmp_path / "parameters"
    shutil.copytree(params_dir, copy)
    assert build(store, MONTH, copy, root=snap.parent) == snap  # reused, not rebuilt
    report = EmployeeReport(MONTH, db=store, params=copy, snapshot=snap, employee_id="E1")
    assert report.data.__class__.__name__ == "SnapshotSource"
    with (copy / "scorecard.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    with pytest.raises(RequestError, match="was built from parameters .*, whose files differ"):
        EmployeeReport(MONTH, db=store, params=copy, snapshot=snap, employee_id="E1")


# ------------------------------------------------------------------------------ fingerprint
def test_unchanged_inputs_reuse_and_changes_rebuild(store: Path, params_dir: Path, snap: Path,
                                                    tmp_path: Path) -> None:
    built = (snap / MANIFEST).stat().st_mtime_ns
    assert build(store, MONTH, params_dir, root=snap.parent) == snap
    assert (snap / MANIFEST).stat().st_mtime_ns == built  # reused, not rebuilt

    # a parameters edit gives a new snapshot; the stale one is removed
    params = tmp_path / "parameters"
    shutil.copytree(params_dir, params)
    root = tmp_path / "root"
    first = build(store, MONTH, params, root=root)
    with (params / "scorecard.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    second = build(store, MONTH, params, root=root)
    assert second != first and not first.exists() and (second / MANIFEST).exists()

    # so does a change of the store's data for the month
    db = tmp_path / "store.duckdb"
    shutil.copyfile(store, db)
    a = build(db, MONTH, params, root=root)
    assert a == second  # same content, same snapshot
    before = Snapshot(a).read("indicators.company")["value"].tolist()
    con = duckdb.connect(str(db))
    con.execute("UPDATE client_months SET assets_end = assets_end + 1000000 WHERE month = ?", [MONTH])
    con.close()
    b = build(db, MONTH, params, root=root)
    assert b != a and a.exists()  # built from another store path: left alone
    assert Snapshot(b).read("indicators.company")["value"].tolist() != before


# ------------------------------------------------------------------------------ atomic build
def test_failed_build_leaves_no_snapshot(store: Path, params_dir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(store: Any, month: str, params: Path) -> pd.DataFrame:
        raise RuntimeError("disk full")

    monkeypatch.setattr(frames_mod, "REGISTRY", dict(frames_mod.REGISTRY))
    register("zz_broken", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build(store, MONTH, params_dir, root=tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither a snapshot nor a temporary folder


def test_register_adds_a_frame_with_one_line(store: Path, params_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames_mod, "REGISTRY", dict(frames_mod.REGISTRY))

    def appraisal(store: Any, month: str, params: Path) -> pd.DataFrame:
        return pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "branch_id": ["B01", "B01", "B02"],
                             "note": ["甲", "乙", "丙"]})

    register("appraisal.employee", appraisal, scope=("employee_id", "branch_id"))
    with pytest.raises(SpecError, match="already registered"):
        register("appraisal.employee", appraisal)
    s = Snapshot(build(store, MONTH, params_dir, root=tmp_path))
    assert s.read("appraisal.employee", branch_id="B01")["note"].tolist() == ["甲", "乙"]
    assert s.read("appraisal.employee", employee_id="E3")["note"].tolist() == ["丙"]


def test_only_notebooks_that_take_a_snapshot_get_one() -> None:
    from perfkit.batch.runner import _takes_snapshot

    root = Path(__file__).resolve().parents[2]
    assert all(_takes_snapshot(root / "notebooks" / f"{r}.ipynb")
               for r in ("company", "branch", "employee"))
    assert not _takes_snapshot(root / "tests" / "notebooks" / "batch_roles" / "branch.ipynb")
