"""Who gets which files (:func:`perfkit.delivery.plan.plan_messages`), without a server: the
recipients of each role, a branch head's zip, and its cut into zips under the size limit."""

from __future__ import annotations

from perfkit.delivery.config import DeliverySpec, Person
from perfkit.delivery.plan import HQ, plan_messages, staff_zips

MB = 1024 * 1024


def _job(role, entity, name, branch, size=MB, recipients=()):
    folder = {"company": "", "branch": "branches/", "employee": "employees/"}[role]
    path = "company.html" if role == "company" else f"{folder}{entity}.html"
    return {"key": f"{role}/{entity}", "role": role, "entity_id": entity, "entity_name": name,
            "branch_id": branch, "recipients": [list(r) for r in recipients], "status": "ok",
            "output": {"path": path, "sha256": f"sha-{entity}", "bytes": size}}


JOBS = {j["key"]: j for j in [
    _job("company", "company", "公司", None, recipients=[("HQ", "总部管理层")]),
    _job("branch", "B01", "上海营业部", "B01", recipients=[("E1", "王建国")]),
    _job("branch", "B02", "成都营业部", "B02"),  # no head: nobody gets it
    *[_job("employee", f"E{i}", "王建国" if i == 1 else f"员工{i}", "B01", size=4 * MB)
      for i in (1, 2, 3)],
    _job("employee", "E4", "员工4", "B02"),
]}
PEOPLE = {"E1": {"employee_name": "王建国", "branch_id": "B01", "position": "营业部负责人",
                 "email": "e1@example.com"},
          **{f"E{i}": {"employee_name": f"员工{i}", "branch_id": "B01" if i < 4 else "B02",
                       "position": "客户经理", "email": f"e{i}@example.com"} for i in (2, 3, 4)}}


def test_each_role_goes_to_its_recipients():
    spec = DeliverySpec(headquarters=(Person(name="总部", email="hq@example.com"),),
                        max_attachment_mb=50)
    msgs = {m.recipient_id: m for m in plan_messages("2026-10", JOBS, PEOPLE, spec)}
    assert list(msgs) == [f"{HQ}:hq@example.com", "E1", "E2", "E3", "E4"]
    assert [a.filename for a in msgs[f"{HQ}:hq@example.com"].attachments] == ["2026-10_总部绩效_公司.html"]
    head = [a.filename for a in msgs["E1"].attachments]
    assert head == ["2026-10_部门绩效_上海营业部_B01.html", "2026-10_上海营业部_员工绩效报告.zip",
                    "2026-10_员工绩效_王建国_E1.html"]
    assert [p.entity_id for p in msgs["E1"].attachments[1].parts] == ["E1", "E2", "E3"]
    assert [a.filename for a in msgs["E4"].attachments] == ["2026-10_员工绩效_员工4_E4.html"]


def test_a_branch_zip_over_the_limit_is_cut_the_same_way_every_time():
    staff = tuple(p for p in plan_messages("2026-10", JOBS, PEOPLE, DeliverySpec(max_attachment_mb=50))
                  [0].attachments[1].parts)
    cut = staff_zips("2026-10_上海营业部_员工绩效报告", staff, DeliverySpec(max_attachment_mb=9))
    assert [a.filename for a in cut] == ["2026-10_上海营业部_员工绩效报告（1／2）.zip",
                                         "2026-10_上海营业部_员工绩效报告（2／2）.zip"]
    assert [[p.entity_id for p in a.parts] for a in cut] == [["E1", "E2"], ["E3"]]
    again = staff_zips("2026-10_上海营业部_员工绩效报告", staff, DeliverySpec(max_attachment_mb=9))
    assert [a.identity for a in again] == [a.identity for a in cut]
    # with an intranet link configured the zip stays whole (it is linked when too large)
    linked = DeliverySpec(max_attachment_mb=9, link_base_url="https://intranet.example.com/")
    assert len(staff_zips("x", staff, linked)) == 1
