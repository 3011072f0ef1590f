"""Planning: the jobs of a month — one per (month, role, entity) — with their paths and fingerprints.

Entities come from the store:

- **company**: one job, entity id ``company``;
- **branch**: every branch in ``branches``;
- **employee**: every employee appraised in the month — employed on at least
  ``appraised.min_days`` of its days (scorecard.yaml; :mod:`perfkit.metrics.entities`), the rule of
  every listing and ranking: a manager who left on the 15th gets his report for the month.

Output paths (relative to ``<out>/<month>/``) are deterministic: ``company.html``,
``branches/<branch_id>.html``, ``employees/<employee_id>.html``; executed notebooks under
``notebooks/`` with the same names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from perfkit.batch.config import ROLES
from perfkit.data.store import month_bounds
from perfkit.errors import RequestError
from perfkit.metrics.entities import COMPANY_ID, appraised_sql

HEAD_POSITION = "营业部负责人"
ROLE_LABELS = {"company": "总部绩效", "branch": "部门绩效", "employee": "员工绩效", "whatif": "方案对比"}
RECIPIENT_ROLES = {"company": "总部管理层", "branch": HEAD_POSITION, "employee": "员工"}
ROLE_FOLDERS = {"company": "", "branch": "branches", "employee": "employees"}
ENTITY_PARAMETER = {"company": None, "branch": "branch_id", "employee": "employee_id"}

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Entity:
    """One report subject with what the index and the distribution list need."""

    role: str
    entity_id: str
    name: str
    branch_id: str | None = None
    branch_name: str | None = None
    recipients: tuple[tuple[str, str], ...] = ()  # (recipient id, recipient name)


@dataclass(frozen=True)
class Job:
    """One report to render. Paths in ``html`` / ``executed`` are relative to the month folder."""

    month: str
    entity: Entity
    notebook: Path
    parameters: dict[str, object] = field(hash=False)
    fingerprint: str
    html: str
    executed: str

    @property
    def role(self) -> str:
        return self.entity.role

    @property
    def entity_id(self) -> str:
        return self.entity.entity_id

    @property
    def key(self) -> str:
        """``role/entity_id`` — unique within a month."""
        return f"{self.role}/{self.entity_id}"

    @property
    def title(self) -> str:
        """Report title shown in the browser, e.g. ``员工绩效 · 张三 · 2026-10``."""
        return f"{ROLE_LABELS[self.role]} · {self.entity.name} · {self.month}"


def file_stem(entity_id: str) -> str:
    """A file name for ``entity_id``: the id itself when it is a plain token (letters, digits,
    ``_.-``), else a sanitised form plus a short hash so that distinct ids never collide."""
    if _SAFE.match(entity_id) and entity_id not in (".", ".."):
        return entity_id
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", entity_id).strip(".") or "id"
    return f"{clean[:40]}-{hashlib.sha256(entity_id.encode()).hexdigest()[:8]}"


def output_paths(role: str, entity_id: str) -> tuple[str, str]:
    """(html path, executed-notebook path), relative to the month folder."""
    if role == "company":
        return "company.html", "notebooks/company.ipynb"
    folder, stem = ROLE_FOLDERS[role], file_stem(entity_id)
    return f"{folder}/{stem}.html", f"notebooks/{folder}/{stem}.ipynb"


def job_parameters(role: str, month: str, entity_id: str, db: Path, params: Path) -> dict[str, object]:
    """The papermill parameters of one job (paths absolute, so any working folder works)."""
    out: dict[str, object] = {"month": month}
    name = ENTITY_PARAMETER[role]
    if name:
        out[name] = entity_id
    out["db"] = str(db.resolve())
    out["params"] = str(params.resolve())
    return out


def entities(
    con: duckdb.DuckDBPyConnection, month: str, roles: Sequence[str], *, min_days: int = 1
) -> list[Entity]:
    """The report subjects of ``month`` for ``roles``, in role order then by id (see module doc);
    ``min_days``: scorecard.yaml's ``appraised.min_days``. A branch's recipients are its heads
    still employed after the month (who is there to read it)."""
    first, last = month_bounds(month)
    active = appraised_sql(min_days)
    args = {"first": first, "last": last}
    heads: dict[str, list[tuple[str, str]]] = {}
    for eid, name, bid in con.execute(
        "SELECT e.employee_id, e.employee_name, e.branch_id FROM employees e WHERE "
        "e.hire_date <= $last AND (e.leave_date IS NULL OR e.leave_date > $last) "
        "AND e.position = $pos ORDER BY e.employee_id",
        {"last": last, "pos": HEAD_POSITION},
    ).fetchall():
        heads.setdefault(bid, []).append((eid, name))

    out: list[Entity] = []
    for role in ROLES:
        if role not in roles:
            continue
        if role == "company":
            out.append(Entity("company", COMPANY_ID, "公司", recipients=(("HQ", "总部管理层"),)))
        elif role == "branch":
            for bid, bname in con.execute(
                "SELECT branch_id, branch_name FROM branches ORDER BY branch_id"
            ).fetchall():
                out.append(Entity("branch", bid, bname, bid, bname, tuple(heads.get(bid, ()))))
        else:
            for eid, ename, bid, bname in con.execute(
                f"SELECT e.employee_id, e.employee_name, e.branch_id, b.branch_name "
                f"FROM employees e LEFT JOIN branches b USING (branch_id) WHERE {active} "
                f"ORDER BY e.branch_id, e.employee_id",
                args,
            ).fetchall():
                out.append(Entity("employee", eid, ename, bid, bname, ((eid, ename),)))
    return out


def published_only(found: Sequence[Entity], published: dict[str, dict[str, tuple[str, str]]],
                   label: str) -> tuple[list[Entity], dict[str, str]]:
    """A published month's report subjects: those of ``published``
    (:func:`perfkit.month.published.published_entities`) — as the store lists them now, or as
    the version has them when the store no longer does — and, for each entity the store has now
    but the version does not, the reason it gets no report (``role/id`` → reason)."""
    keep, why = [], {}
    seen = set()
    for e in found:
        if e.role == "company" or e.entity_id in published.get(e.role, {}):
            keep.append(e)
            seen.add((e.role, e.entity_id))
        else:
            why[f"{e.role}/{e.entity_id}"] = (
                f"{e.name}（{e.entity_id}）不在{label}中（发布后新增），不生成报告 / not in the "
                f"published version: added after publication")
    roles = {e.role for e in found}
    for role in ("branch", "employee"):
        for eid, (name, bid) in published.get(role, {}).items():
            if role in roles and (role, eid) not in seen:
                keep.append(Entity(role, eid, name, bid or eid, None,
                                   ((eid, name),) if role == "employee" else ()))
    order = {r: i for i, r in enumerate(ROLES)}
    keep.sort(key=lambda e: (order[e.role], e.branch_id or "", e.entity_id) if e.role == "employee"
              else (order[e.role], "", e.entity_id))
    return keep, why


def select(
    found: Iterable[Entity],
    *,
    only: Iterable[str] | None = None,
    branch_ids: Iterable[str] | str = "all",
    employee_ids: Iterable[str] | str = "all",
    without_report: Iterable[str] = (),
) -> list[Entity]:
    """Filter entities by the run matrix (``branch_ids`` / ``employee_ids``, ``"all"`` or ids) and by
    ``only`` (entity ids of any role; ``company`` selects the company report).

    Raises :class:`RequestError` for an id in ``only`` that matches no planned entity nor one of
    ``without_report`` (entities known to get no report, with their reason in the manifest).
    """
    found = list(found)
    keep = []
    for e in found:
        wanted = branch_ids if e.role == "branch" else employee_ids if e.role == "employee" else "all"
        if wanted == "all" or e.entity_id in set(wanted):
            keep.append(e)
    if only is None:
        return keep
    only = [x.strip() for x in only if x.strip()]
    unknown = sorted(set(only) - {e.entity_id for e in keep} - set(without_report))
    if unknown:
        raise RequestError(
            f"--only names ids with no report to render this month: {', '.join(unknown)} "
            f"(ids are branch_id, employee_id or 'company'; the role must be selected too)"
        )
    return [e for e in keep if e.entity_id in set(only)]
