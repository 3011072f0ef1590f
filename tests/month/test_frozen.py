"""A published month is frozen whole (perfkit.month.frozen): the parameters files and role notebooks
it was published with are kept with its figures, so editing them afterwards changes neither the
text nor the figures of its reports, its batch, its index or a comparison against it; an employee
added after publication gets no report, with the reason in the manifest. Runs on copies of the tiny
store of conftest.py."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_snapshot import visible_text

from perfkit.batch.runner import plan_jobs, run
from perfkit.errors import RequestError
from perfkit.month import frozen
from perfkit.month.compare import compare
from perfkit.month.publish import publish
from perfkit.month.published import latest
from perfkit.report.branch import BranchReport
from perfkit.report.company import CompanyReport
from perfkit.report.employee import EmployeeReport

MONTH = "2026-10"
ROOT = Path(__file__).resolve().parents[2]

#: what an analyst changes for next year: an indicator's 统计项说明, a report section switched off,
#: the conduct floor (its wording), a target and a weight (the figures), the employee notebook
EDITS = [
    ("parameters/indicators.yaml", "description: 当月新登记的潜在客户人数",
     "description: 明年的新口径说明"),
    ("parameters/appraisal.yaml", "  conduct: true ", "  conduct: false "),
    ("parameters/scorecard.yaml", "  floor: 70\n  apply: multiply", "  floor: 50\n  apply: multiply"),
    ("parameters/scorecard.yaml", "      leads_new: 18 ", "      leads_new: 30 "),
    ("parameters/scorecard.yaml", "{id: leads_new, weight: 30,", "{id: leads_new, weight: 50,"),
    ("parameters/scorecard.yaml", "{id: leads_opened, weight: 30,",
     "{id: leads_opened, weight: 10,"),
]


@pytest.fixture
def project(tiny_store: Path, params_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A copy of the tiny store, the parameters and the role notebooks; October published."""
    shutil.copyfile(tiny_store, tmp_path / "crm.duckdb")
    shutil.copytree(params_dir, tmp_path / "parameters")
    (tmp_path / "notebooks").mkdir()
    for role in frozen.ROLE_NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / f"{role}.ipynb", tmp_path / "notebooks")
    p = {"root": tmp_path, "db": tmp_path / "crm.duckdb", "params": tmp_path / "parameters",
         "notebooks": tmp_path / "notebooks"}
    publish(p["db"], MONTH, p["params"], by="张三", notebooks=p["notebooks"])
    return p


def edit(p: dict[str, Path]) -> None:
    """Apply :data:`EDITS` in place and add a paragraph to the employee notebook."""
    for file, old, new in EDITS:
        path = p["root"] / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (file, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    nb_path = p["notebooks"] / "employee.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].insert(1, {"cell_type": "markdown", "id": "edited", "metadata": {},
                           "source": "本报告模板已修改"})
    nb_path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


SECTIONS = {
    "company": ("indicators", "scorecards", "tables", "appraisal", "indicator_notes", "task_notes"),
    "B01": ("indicators", "employee_pages", "scorecards", "pay_table", "appraisal",
            "indicator_notes"),
    "E1": ("summary", "indicators", "movement", "appraisal", "pay_and_bonus", "indicator_notes",
           "task_notes"),
}


def seen(db: Path, params: Path, month: str = MONTH) -> dict[str, list[str]]:
    """What a reader of each report sees, section by section."""
    reports: dict[str, Any] = {
        "company": CompanyReport(month, db=db, params=params),
        "B01": BranchReport(month, db=db, params=params, branch_id="B01"),
        "E1": EmployeeReport(month, db=db, params=params, employee_id="E1")}
    return {f"{k}.{s}": visible_text(getattr(r, s)()) for k, r in reports.items()
            for s in SECTIONS[k]}


def test_editing_the_parameters_after_publishing_changes_no_published_text(project):
    before = seen(project["db"], project["params"])
    edit(project)
    assert seen(project["db"], project["params"]) == before
    # the edits are real: an unpublished month shows them
    september = seen(project["db"], project["params"], "2026-09")
    assert any("明年的新口径说明" in t for t in september["E1.indicator_notes"])
    assert not any("明年的新口径说明" in t for t in before["E1.indicator_notes"])
    assert any("行为" in t or "扣分" in t for t in before["E1.appraisal"])
    assert september["E1.appraisal"] != before["E1.appraisal"]  # the conduct section is gone


def test_the_batch_of_a_published_month_uses_what_it_was_published_with(project):
    kept = frozen.folder(project["db"], latest(project["db"], MONTH))
    jobs, _ = plan_jobs(MONTH, roles=["employee"], only=["E1"], db=project["db"],
                        params=project["params"], notebooks_dir=project["notebooks"])
    edit(project)
    again, _ = plan_jobs(MONTH, roles=["employee"], only=["E1"], db=project["db"],
                         params=project["params"], notebooks_dir=project["notebooks"])
    (job,), (same,) = jobs, again
    assert same.fingerprint == job.fingerprint  # nothing to render again after the edits
    assert Path(same.parameters["params"]) == kept / "parameters"
    assert same.notebook == (kept / "notebooks" / "employee.ipynb").resolve()
    assert "本报告模板已修改" not in same.notebook.read_text(encoding="utf-8")
    for rel in ("scorecard.yaml", "indicators.yaml", "appraisal.yaml"):  # byte for byte
        original = (ROOT / "parameters" / rel).read_bytes()
        assert (kept / "parameters" / rel).read_bytes() == original
    # an unpublished month takes the current files
    (sep,), _ = plan_jobs("2026-09", roles=["employee"], only=["E1"], db=project["db"],
                          params=project["params"], notebooks_dir=project["notebooks"])
    assert Path(sep.parameters["params"]) == project["params"]
    assert "本报告模板已修改" in sep.notebook.read_text(encoding="utf-8")


def test_a_damaged_copy_of_the_kept_files_is_written_again(project):
    pub = latest(project["db"], MONTH)
    kept = frozen.folder(project["db"], pub)
    (kept / "parameters" / "scorecard.yaml").write_text("targets: {}\n", encoding="utf-8")
    again = frozen.folder(project["db"], pub)
    assert again == kept
    assert (again / "parameters" / "scorecard.yaml").read_bytes() \
        == (ROOT / "parameters" / "scorecard.yaml").read_bytes()


def test_an_employee_added_after_publication_is_skipped_with_its_reason(project, tmp_path):
    con = duckdb.connect(str(project["db"]))
    con.execute("INSERT INTO employees (employee_id, employee_name, branch_id, position, level, "
                "hire_date) VALUES ('E9', '周后来', 'B01', '客户经理', '初级', DATE '2026-10-08')")
    con.close()
    s = run(MONTH, roles=("employee",), only=["E9", "E1"], db=project["db"],
            params=project["params"], out=tmp_path / "out", notebooks_dir=project["notebooks"],
            exporter="plain", progress="off", workers=1)
    assert (s.ok, s.failed, s.skipped) == (1, 0, 1)
    jobs = json.loads(s.manifest.read_text(encoding="utf-8"))["jobs"]
    e9 = jobs["employee/E9"]
    assert e9["status"] == "skipped" and e9["output"] is None
    assert "周后来（E9）" in e9["reason"] and "发布后新增" in e9["reason"]
    assert not (s.out_dir / "employees" / "E9.html").exists()
    assert "未生成 1" in s.index.read_text(encoding="utf-8")
    from perfkit.batch.render import render

    with pytest.raises(RequestError, match="发布后新增"):
        render(MONTH, "employee", tmp_path / "e9.html", entity="E9", db=project["db"],
               params=project["params"], notebooks_dir=project["notebooks"])


def test_a_comparison_against_the_published_version_sees_the_edits(project):
    edit(project)
    c = compare(project["db"], MONTH, "published", project["params"])
    fields = set(c.params_diff["field"])
    assert {"families.potential.indicators[leads_new].weight", "deductions.floor"} <= fields
    same = compare(project["db"], MONTH, "published",
                   frozen.folder(project["db"], latest(project["db"], MONTH)) / "parameters")
    assert same.params_diff.empty


def test_a_version_published_without_files_uses_the_current_ones(project, caplog):
    con = duckdb.connect(str(project["db"]))
    con.execute("DELETE FROM publication_files")  # as published by perfkit before schema 5
    con.close()
    with caplog.at_level(logging.WARNING, logger="perfkit.month.frozen"):
        assert frozen.month_params(project["db"], MONTH, project["params"]) == project["params"]
    assert "kept no parameters files" in caplog.text
