"""Published months (perfkit.month.publish): a publication freezes the month's figures in the store, a
revision records what changed and keeps the earlier versions, the reports show which version they
are (and only the changes their reader may see), and a failed publication leaves nothing. Runs on
copies of the tiny store of conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from test_snapshot import visible_text

from perfkit.cli import main
from perfkit.data.store import store_fingerprint
from perfkit.errors import RequestError, SpecError
from perfkit.metrics.indicators import indicators
from perfkit.month import frames as frames_mod
from perfkit.month import publish as pub_mod
from perfkit.month import sources as sources_mod
from perfkit.month.build import build
from perfkit.month.publish import changes, publish
from perfkit.month.published import PublishedSnapshot, latest, version, versions
from perfkit.month.snapshot import MANIFEST, Snapshot
from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport

MONTH = "2026-10"
REASON = "10月客户资产数据更正"


@pytest.fixture
def few_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the three indicator frames: fast publications for tests of the mechanics."""
    monkeypatch.setattr(frames_mod, "REGISTRY", {k: v for k, v in frames_mod.REGISTRY.items()
                                               if k.startswith("indicators.")})


def _copy(tiny_store: Path, folder: Path) -> Path:
    path = folder / "tiny.duckdb"
    shutil.copyfile(tiny_store, path)
    return path


def _change_the_data(db: Path) -> None:
    """What happens after a publication: assets corrected, contacts deleted."""
    con = duckdb.connect(str(db))
    con.execute("UPDATE client_months SET assets_end = assets_end * 3 WHERE month = ?", [MONTH])
    con.execute("DELETE FROM contacts")
    con.close()


def _reports(db: Path, params: Path) -> dict[str, Any]:
    return {"company": CompanyReport(MONTH, db=db, params=params),
            "B01": BranchReport(MONTH, db=db, params=params, branch_id="B01"),
            "E1": EmployeeReport(MONTH, db=db, params=params, employee_id="E1")}


SECTIONS = {"company": ("scorecards", "tables", "level_summary", "appraisal"),
            "B01": ("employee_pages", "scorecards", "level_changes", "pay_table", "appraisal"),
            "E1": ("summary", "movement", "level_status", "pay_and_bonus", "appraisal")}


def _seen(reports: dict[str, Any]) -> dict[str, list[str]]:
    return {f"{k}.{s}": visible_text(getattr(r, s)()) for k, r in reports.items()
            for s in SECTIONS[k]}


@pytest.fixture(scope="module")
def published(tiny_store: Path, params_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, Any]:
    """v1 published, reports read, the data changed, reports read again, v2 published."""
    db = _copy(tiny_store, tmp_path_factory.mktemp("publish"))
    direct = _reports(db, params_dir)
    v1 = publish(db, MONTH, params_dir, by="张三")
    first = _reports(db, params_dir)
    seen_v1 = _seen(first)
    _change_the_data(db)
    after = _reports(db, params_dir)
    seen_after = _seen(after)
    v2 = publish(db, MONTH, params_dir, revise=True, reason=REASON, by="李四")
    return {"db": db, "v1": v1, "v2": v2, "direct": direct, "first": first, "after": after,
            "seen_v1": seen_v1, "seen_after": seen_after, "revised": _reports(db, params_dir)}


# ------------------------------------------------------------------------------ freezing
def test_publish_freezes_the_month(published: dict[str, Any], params_dir: Path) -> None:
    db, v1 = published["db"], published["v1"]
    assert (v1.month, v1.version, v1.published_by, v1.changes) == (MONTH, 1, "张三", 0)
    assert len(v1.fingerprint) == 64 and v1.frames == len(frames_mod.REGISTRY)
    first, after = published["first"], published["after"]
    assert type(first["E1"].data).__name__ == "SnapshotSource"
    assert first["E1"].data.publication.version == 1
    # the published figures are the ones computed before publishing …
    pd.testing.assert_frame_equal(published["direct"]["E1"].rows, first["E1"].rows)
    # … and stay after the store changed, while the store's own answer moved
    for key in ("company", "B01", "E1"):
        for name in ("company", "branches", "rows", "employees", "score", "scores", "tasks"):
            if hasattr(first[key], name):
                pd.testing.assert_frame_equal(getattr(first[key], name),
                                              getattr(after[key], name), obj=f"{key}.{name}")
    assert published["seen_after"] == published["seen_v1"]
    now = indicators(db, MONTH, "employee", entity="E1", params=params_dir)
    assert not now["value"].equals(first["E1"].rows["value"])


def test_publishing_twice_without_revise_fails(published: dict[str, Any], params_dir: Path) -> None:
    db = published["db"]
    with pytest.raises(RequestError, match=r"already published: v2 .* by 李四.*--revise --reason"):
        publish(db, MONTH, params_dir)
    assert [p.version for p in versions(db, MONTH)] == [1, 2]


def test_revise_needs_a_reason(published: dict[str, Any], params_dir: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    db = published["db"]
    for reason in (None, "  "):
        with pytest.raises(SpecError, match="needs a reason"):
            publish(db, MONTH, params_dir, revise=True, reason=reason)
    assert main(["publish", "--db", str(db), "--month", MONTH, "--params", str(params_dir),
                 "--revise"]) == SpecError.exit_code
    assert "needs a reason" in capsys.readouterr().err
    assert [p.version for p in versions(db, MONTH)] == [1, 2]


def test_revise_of_an_unpublished_month_fails(published: dict[str, Any], params_dir: Path) -> None:
    with pytest.raises(RequestError, match="2026-09 has not been published"):
        publish(published["db"], "2026-09", params_dir, revise=True, reason="x")


# ------------------------------------------------------------------------------ revisions
def test_revise_records_the_diff_and_keeps_v1(published: dict[str, Any]) -> None:
    db, v2 = published["db"], published["v2"]
    assert (v2.version, v2.reason, v2.published_by) == (2, REASON, "李四")
    assert v2.fingerprint != published["v1"].fingerprint and v2.changes > 0
    ch = changes(db, MONTH, 2)
    assert len(ch) == v2.changes
    row = ch[(ch["entity_id"] == "E1") & (ch["figure"] == "客户资产总额")]
    assert row[["old_value", "new_value"]].values.tolist() == [["28.00 万元", "84.00 万元"]]
    assert {"公司", "营业部", "员工"} <= set(ch["level"])
    assert (ch["old_value"] != ch["new_value"]).all()
    # v1 is kept, readable and unchanged
    v1 = PublishedSnapshot(db, version(db, MONTH, 1))
    pd.testing.assert_frame_equal(v1.read("indicators.employee", entity_id="E1"),
                                  published["first"]["E1"].rows)
    # the reports now show v2, whose figures come from the changed data
    revised = published["revised"]["E1"]
    assert revised.data.publication.version == 2
    assert not revised.rows["value"].equals(published["first"]["E1"].rows["value"])
    # the stored diff never changes, whatever happens to the store afterwards
    con = duckdb.connect(str(db))
    con.execute("UPDATE client_months SET assets_end = 0 WHERE month = ?", [MONTH])
    con.close()
    pd.testing.assert_frame_equal(changes(db, MONTH, 2), ch)
    with pytest.raises(RequestError, match=r"no published version v3 \(published: v1, v2\)"):
        version(db, MONTH, 3)


def _change_rows(widget: Any) -> str:
    return " ".join(visible_text(widget))


def test_reports_show_the_version_and_only_their_readers_changes(published: dict[str, Any],
                                                                params_dir: Path) -> None:
    db = published["db"]
    seen = visible_text(published["first"]["E1"].publication())
    assert seen[0].startswith("已发布 v1 · ") and "由 张三 发布 以下为 2026-10 已发布的结果" in seen[0]

    e1 = _change_rows(published["revised"]["E1"].publication())
    assert "修订版 v2" in e1 and "由 李四 发布" in e1 and REASON in e1
    assert "张伟（E1）" in e1 and "客户资产总额" in e1 and "28.00 万元" in e1 and "84.00 万元" in e1
    assert not any(f"（{x}）" in e1 for x in ("E2", "E3", "B01", "B02", "company"))
    mine = changes(db, MONTH, 2, employee="E1")
    assert f"与 v1 相比的变化 {len(mine)} 项" in e1 and set(mine["employee_id"]) == {"E1"}

    b02 = _change_rows(BranchReport(MONTH, db=db, params=params_dir, branch_id="B02").publication())
    assert "（B02）" in b02 and "（E3）" in b02
    assert not any(f"（{x}）" in b02 for x in ("E1", "E2", "B01", "company"))

    # headquarters: the company's and the branches' changes, never an employee row
    company = _change_rows(published["revised"]["company"].publication())
    assert all(f"（{x}）" in company for x in ("company", "B01", "B02"))
    assert not any(f"（{x}）" in company for x in ("E1", "E2", "E3", "E4"))
    above = changes(db, MONTH, 2, above_employees=True)
    assert f"与 v1 相比的变化 {len(above)} 项" in company and above["employee_id"].isna().all()
    assert len(changes(db, MONTH, 2)) > len(above)  # there are employee changes, left out


def test_unpublished_month_says_so(published: dict[str, Any], params_dir: Path) -> None:
    e = EmployeeReport("2026-09", db=published["db"], params=params_dir, employee_id="E1")
    assert e.data.publication is None
    assert "尚未发布" in visible_text(e.publication())[0]


# ------------------------------------------------------------------------------ the batch
def test_a_publication_changes_the_run_fingerprint_and_the_snapshot(
        tiny_store: Path, params_dir: Path, tmp_path: Path, few_frames: None) -> None:
    db = _copy(tiny_store, tmp_path)

    def sha(month: str) -> str:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return store_fingerprint(con, month)
        finally:
            con.close()

    before = {m: sha(m) for m in ("2026-09", MONTH)}
    computed = build(db, MONTH, params_dir, root=tmp_path / "computed")
    assert Snapshot(computed).meta["publication"] is None
    p = publish(db, MONTH, params_dir)
    assert sha(MONTH) != before[MONTH] and sha("2026-09") == before["2026-09"]
    frozen = build(db, MONTH, params_dir, root=tmp_path / "snap")
    assert frozen != computed and Snapshot(frozen).meta["publication"] == p.key()
    _change_the_data(db)
    # a report given the published snapshot reads its files (no store reads of the frames) …
    s = sources_mod.source(db, MONTH, params_dir, snapshot=frozen)
    assert type(s.snap) is Snapshot and s.publication == p
    # … and one given a stale, unpublished snapshot reads the published version instead
    assert type(sources_mod.source(db, MONTH, params_dir, snapshot=computed).snap) is PublishedSnapshot
    pd.testing.assert_frame_equal(s.indicators("employee", entity="E1"),
                                  PublishedSnapshot(db, p).read("indicators.employee", entity_id="E1"))


# ------------------------------------------------------------------------------ atomicity
def _empty(db: Path) -> bool:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return all(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0
                   for t in ("publications", "publication_frames", "publication_changes"))
    finally:
        con.close()


def test_a_failed_publication_leaves_nothing(tiny_store: Path, params_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = _copy(tiny_store, tmp_path)

    def broken(store: Any, month: str, params: Path) -> pd.DataFrame:
        raise RuntimeError("producer failed")

    with monkeypatch.context() as m:  # a producer fails while computing
        m.setattr(frames_mod, "REGISTRY", dict(frames_mod.REGISTRY))
        frames_mod.register("indicators.company", broken, replace=True)
        with pytest.raises(RuntimeError, match="producer failed"):
            publish(db, MONTH, params_dir)
    assert _empty(db) and latest(db, MONTH) is None
    monkeypatch.setattr(frames_mod, "REGISTRY", {k: v for k, v in frames_mod.REGISTRY.items()
                                               if k.startswith("indicators.")})

    real = pub_mod._write

    def half(con: Any, *args: Any) -> None:  # the write fails after the version row and frames
        real(con, *args)
        assert con.execute("SELECT count(*) FROM publication_frames").fetchone()[0] > 0
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(pub_mod, "_write", half)
        with pytest.raises(OSError, match="disk full"):
            publish(db, MONTH, params_dir)
    assert _empty(db)
    assert publish(db, MONTH, params_dir).version == 1  # the store is still usable


# ------------------------------------------------------------------------------ command line
def test_publish_command(tiny_store: Path, params_dir: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str], few_frames: None) -> None:
    db = _copy(tiny_store, tmp_path)
    args = ["publish", "--db", str(db), "--month", MONTH, "--params", str(params_dir)]
    assert main([*args, "--by", "王经理"]) == 0
    assert f"published {MONTH} v1" in capsys.readouterr().out
    assert main(args) == RequestError.exit_code
    err = capsys.readouterr().err
    assert "already published: v1" in err and "王经理" in err
    assert main([*args, "--reason", "x"]) == SpecError.exit_code  # --reason without --revise
    capsys.readouterr()
    assert main([*args, "--revise", "--reason", "口径调整"]) == 0
    capsys.readouterr()
    assert main(["publish", "--db", str(db), "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in out] == [[MONTH, "v1"], [MONTH, "v2"]]
    assert "王经理" in out[0] and "reason: 口径调整" in out[1]
    snapshot_meta = Path(build(db, MONTH, params_dir, root=tmp_path / "s")) / MANIFEST
    assert '"version": 2' in snapshot_meta.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ the diff itself
class _Frames:
    """A stand-in for a version: ``scores.branch`` only."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df, self.meta = df, {"frames": {"scores.branch": {"scope": ["entity_id"]}}}

    def read(self, name: str, part: str | None = None) -> pd.DataFrame:
        return self.df


def test_diff_ignores_floating_point_noise_and_lists_real_changes() -> None:
    def version_of(stars: list[float], grade: list[str]) -> _Frames:
        return _Frames(pd.DataFrame({"entity_id": ["B01", "B02", "B03"][:len(stars)],
                                     "entity_name": ["甲", "乙", "丙"][:len(stars)],
                                     "stars": stars, "grade": grade}))

    old = version_of([2.5, 3.0, 4.0], ["合格", "良好", "优秀"])
    # B01: a sum in another order (2.5 → 2.5000000001 shows 2 → 3): noise, not a change;
    # B02: a real change; B03: gone in the new version
    new = version_of([2.5000000001, 4.0], ["合格", "良好"])
    got = pub_mod.diff(old, new)  # type: ignore[arg-type]
    assert got[["entity_id", "figure", "old_value", "new_value"]].values.tolist() == [
        ["B02", "星级", "3", "4"], ["B03", "等级", "优秀", None], ["B03", "星级", "4", None]]
    assert set(got["level"]) == {"营业部"} and set(got["branch_id"]) == {"B02", "B03"}


def test_the_batch_index_shows_the_published_scores(published: dict[str, Any], params_dir: Path,
                                                    tmp_path: Path) -> None:
    from perfkit.appraisal.scorecard import scores
    from perfkit.batch.index import load_scores

    frozen = published["revised"]["company"].data.scores("employee")   # v2, read before the change
    db = _copy(published["db"], tmp_path)
    _change_the_data(db)                                                # the store moves on after v2
    got = load_scores(db, MONTH, params_dir)["employee"]
    def rounded(x):  # a 不参评 employee has no composite (None in the index)
        return None if x is None or x != x else round(x, 6)

    want = {r.entity_id: rounded(r.composite) for r in frozen.itertuples()}
    assert {k: rounded(v[0]) for k, v in got.items()} == want
    now = scores(db, MONTH, "employee", params=params_dir)
    assert {r.entity_id: rounded(r.composite) for r in now.itertuples()} != want
