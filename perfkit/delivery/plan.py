"""Who gets which files: one :class:`Message` per recipient, built from the month's manifest (the
batch's record of every report and its recipients) and the store (names, branches, positions and
addresses), and the scope check run again on each message just before it is sent.

- the company report → every headquarters recipient of delivery.yaml;
- a branch report → the branch's 营业部负责人 (the manifest's recipients), with his employees'
  reports in one zip when ``branch_head_gets_employee_reports`` (several, each under the size
  limit, when they do not fit in one and no intranet link is configured);
- an employee report → the employee.

:func:`scope_problem` re-derives, from the manifest record of every attached file, whether it may go
to the message's recipient — his own employee report; his branch's reports; the company report for
headquarters — and that the file on disk is the one the batch wrote (its sha256). Any mismatch
refuses the whole message, with the reason.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.batch.manifest import DONE
from perfkit.batch.plan import HEAD_POSITION, ROLE_LABELS
from perfkit.delivery.config import DeliverySpec

HQ = "hq"          # recipient kinds
EMPLOYEE = "employee"
REPORT_NAMES = {role: f"{label}报告" for role, label in ROLE_LABELS.items()}


@dataclass(frozen=True)
class Part:
    """One report file of the month: its manifest record's key and what it says."""

    key: str
    role: str
    entity_id: str
    entity_name: str
    branch_id: str | None
    path: str          # relative to the month folder
    sha256: str        # as the manifest recorded it
    bytes: int = 0


@dataclass
class Attachment:
    """A file of a message: one report, or a zip of reports (a branch head's employees')."""

    filename: str
    parts: tuple[Part, ...]
    zipped: bool = False

    @property
    def identity(self) -> str:
        """sha256 of the report itself, or over the zip's members (a zip's own bytes carry times)."""
        if not self.zipped:
            return self.parts[0].sha256
        return hashlib.sha256("".join(f"{p.path}\0{p.sha256}\n" for p in self.parts).encode()).hexdigest()

    @property
    def label(self) -> str:
        return self.parts[0].path if not self.zipped else f"{self.filename}（{len(self.parts)} 份）"

    def data(self, month_dir: Path) -> bytes:
        """The bytes to attach (a zip is built in memory, UTF-8 member names)."""
        if not self.zipped:
            return (month_dir / self.parts[0].path).read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in self.parts:
                zf.writestr(display_name(month_dir.name, p), (month_dir / p.path).read_bytes())
        return buf.getvalue()


@dataclass
class Message:
    """What one recipient is sent."""

    recipient_id: str
    name: str
    email: str | None
    kind: str                     # HQ or EMPLOYEE
    branch_id: str | None = None  # the recipient's branch (employees)
    position: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def roles(self) -> list[str]:
        seen = [p.role for a in self.attachments for p in a.parts]
        return [r for r in ROLE_LABELS if r in seen]


def display_name(month: str, part: Part) -> str:
    """The attachment's file name: ``2026-10_员工绩效_张三_E00001.html`` (Chinese, RFC 2231)."""
    stem = f"{month}_{ROLE_LABELS.get(part.role, part.role)}_{part.entity_name}"
    if part.role != "company":
        stem += f"_{part.entity_id}"
    return f"{stem}{Path(part.path).suffix}"


def parts_of(jobs: Mapping[str, Mapping[str, Any]]) -> dict[str, Part]:
    """Every report file of the manifest whose status is current (ok or skipped)."""
    out = {}
    for key, r in jobs.items():
        if r.get("status") in DONE and r.get("output"):
            out[key] = Part(key, r["role"], r.get("entity_id") or "", r.get("entity_name") or "",
                            r.get("branch_id"), r["output"]["path"], r["output"]["sha256"],
                            int(r["output"].get("bytes") or 0))
    return out


def plan_messages(month: str, jobs: Mapping[str, Mapping[str, Any]],
                  people: Mapping[str, Mapping[str, Any]], spec: DeliverySpec,
                  size: Callable[[Part], int] | None = None) -> list[Message]:
    """The month's messages, one per recipient, in a stable order (headquarters, then by id).

    ``people``: employee id → {employee_name, branch_id, position, email} from the store;
    ``size``: how :func:`staff_zips` measures a report."""
    parts = parts_of(jobs)
    messages: dict[str, Message] = {}

    def employee(eid: str) -> Message:
        if eid not in messages:
            p = people.get(eid, {})
            messages[eid] = Message(eid, p.get("employee_name") or eid, p.get("email"), EMPLOYEE,
                                    p.get("branch_id"), p.get("position"))
        return messages[eid]

    for key, part in sorted(parts.items()):
        if part.role == "company":
            for person in spec.headquarters:
                rid = f"{HQ}:{person.email}"
                msg = messages.setdefault(rid, Message(rid, person.name, person.email, HQ))
                msg.attachments.append(Attachment(display_name(month, part), (part,)))
        elif part.role == "branch":
            heads = [rid for rid, _ in jobs[key].get("recipients") or []]
            staff = tuple(sorted((p for p in parts.values()
                                  if p.role == "employee" and p.branch_id == part.entity_id),
                                 key=lambda p: p.entity_id))
            for rid in heads:
                msg = employee(rid)
                msg.attachments.append(Attachment(display_name(month, part), (part,)))
                if spec.branch_head_gets_employee_reports and staff:
                    msg.attachments += staff_zips(f"{month}_{part.entity_name}_员工绩效报告", staff,
                                                  spec, size)
        elif part.role == "employee":
            employee(part.entity_id).attachments.append(Attachment(display_name(month, part), (part,)))
    return sorted(messages.values(), key=lambda m: (m.kind != HQ, m.recipient_id))


def compressed_size(month_dir: Path) -> Callable[[Part], int]:
    """A part's size once deflated in a zip (what it adds to the attachment), read from disk."""
    def size(part: Part) -> int:
        return len(zlib.compress((month_dir / part.path).read_bytes()))
    return size


def staff_zips(stem: str, staff: tuple[Part, ...], spec: DeliverySpec,
               size: Callable[[Part], int] | None = None) -> list[Attachment]:
    """A branch's employee reports as one zip — or, when they exceed ``max_attachment_mb`` and no
    ``link_base_url`` is set, as several zips each under it (``…（1／3）.zip``), cut in id order by
    ``size`` (default: the file sizes the manifest recorded; :func:`compressed_size` for the
    deflated ones), so every run cuts them the same way."""
    limit = spec.max_attachment_mb * 1024 * 1024 * 0.98  # a zip's own headers
    if spec.link_base_url or sum(p.bytes for p in staff) <= limit:
        return [Attachment(f"{stem}.zip", staff, zipped=True)]
    size = size or (lambda p: p.bytes)
    sizes = {p.key: size(p) for p in staff}
    if sum(sizes.values()) <= limit:
        return [Attachment(f"{stem}.zip", staff, zipped=True)]
    chunks: list[list[Part]] = [[]]
    for p in staff:
        if chunks[-1] and sum(sizes[q.key] for q in chunks[-1]) + sizes[p.key] > limit:
            chunks.append([])
        chunks[-1].append(p)
    n = len(chunks)
    return [Attachment(f"{stem}（{i}／{n}）.zip", tuple(c), zipped=True)
            for i, c in enumerate(chunks, 1)]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scope_problem(msg: Message, jobs: Mapping[str, Mapping[str, Any]],
                  people: Mapping[str, Mapping[str, Any]], month_dir: Path) -> str | None:
    """Why ``msg`` must not be sent (None: every file may go to its recipient), re-derived from
    the manifest record of each file and the recipient's row in the store."""
    if not msg.email:
        return f"no e-mail address for {msg.name}（{msg.recipient_id}）(employees.email is empty)"
    me = people.get(msg.recipient_id, {}) if msg.kind == EMPLOYEE else {}
    for att in msg.attachments:
        for part in att.parts:
            rec = jobs.get(part.key)
            if rec is None or (rec.get("output") or {}).get("path") != part.path:
                return f"{part.path} is not a report of the month's manifest"
            role, entity, branch = rec.get("role"), rec.get("entity_id"), rec.get("branch_id")
            if msg.kind == HQ:
                allowed = role == "company"
            elif role == "employee" and entity == msg.recipient_id:
                allowed = True
            else:
                head = me.get("position") == HEAD_POSITION and me.get("branch_id") is not None
                allowed = head and branch == me.get("branch_id") and role in ("branch", "employee")
            if not allowed:
                who = f"{msg.name}（{msg.recipient_id}）"
                return (f"scope: the {role} report of {entity} (branch {branch}) may not go to {who}"
                        f"{'' if msg.kind == HQ else ' of branch ' + str(me.get('branch_id'))}")
            path = month_dir / part.path
            if not path.is_file():
                return f"{part.path} is missing"
            if file_sha256(path) != rec["output"]["sha256"]:
                return f"{part.path} differs from the file the batch wrote (sha256)"
    return None
