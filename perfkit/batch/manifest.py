"""``manifest.json``: one record per job of a month, rewritten atomically as jobs finish (the first
result at once, then at most every few seconds and once at the end, also when interrupted; see
:data:`perfkit.batch.runner.MANIFEST_SAVE_SECONDS`), so a crash leaves a readable manifest of what
was done.

File format (``format: 1``)::

    {"format": 1, "month": "2026-10", "updated_at": "...", "perfkit_version": "...",
     "store_fingerprint": "...", "jobs": {"employee/E00001": {record}, ...}}

A record: ``key, role, entity_id, entity_name, branch_id, branch_name, recipients, notebook,
parameters, fingerprint {sha256, notebook, parameters_files, store, perfkit_version}, status
(ok | failed | skipped), error {stage, cell_index, exception, message} | null, attempts, started_at,
finished_at, seconds, output {path, bytes, sha256} | null, executed_notebook, worker``. An entity
that gets no report (one a published version does not hold) has status ``skipped``, ``output``
null and a ``reason``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perfkit.batch.plan import Job
from perfkit.files import atomic_path, read_month_record

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1
DONE = ("ok", "skipped")  # statuses whose output file is current


class Manifest:
    """The manifest of one month folder."""

    def __init__(self, month_dir: Path, month: str, jobs: dict[str, dict[str, Any]] | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.month_dir = Path(month_dir)
        self.month = month
        self.jobs: dict[str, dict[str, Any]] = dict(jobs or {})
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def path(self) -> Path:
        return self.month_dir / MANIFEST

    @classmethod
    def load(cls, month_dir: Path, month: str) -> Manifest:
        """Read the manifest; a missing or unreadable one (logged) gives an empty manifest, so every
        job runs again."""
        path = Path(month_dir) / MANIFEST
        if not path.exists():
            return cls(month_dir, month)
        try:
            data = read_month_record(path, month, FORMAT)
            jobs = data["jobs"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable manifest %s (%s): every job runs again", path, exc)
            return cls(month_dir, month)
        meta = {k: v for k, v in data.items() if k not in ("jobs", "format", "month")}
        return cls(month_dir, month, jobs, meta)

    def save(self) -> None:
        """Write atomically (temporary name, then rename)."""
        from perfkit.batch.execute import now

        data = {"format": FORMAT, "month": self.month, **self.meta, "updated_at": now(),
                "jobs": dict(sorted(self.jobs.items(), key=lambda kv: record_order(kv[1])))}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.chmod(0o644)

    def drop_obsolete(self, roles: Iterable[str], existing: set[str]) -> list[str]:
        """Forget jobs of ``roles`` whose entity is no longer in the store for this month (e.g. an
        employee whose leave date was corrected) and delete their files, so that neither the index
        nor the distribution list offers a report that should not exist. Returns the dropped keys."""
        dropped = []
        for key, rec in list(self.jobs.items()):
            if rec.get("role") in roles and key not in existing:
                for rel in ((rec.get("output") or {}).get("path"), rec.get("executed_notebook")):
                    if rel:
                        (self.month_dir / rel).unlink(missing_ok=True)
                del self.jobs[key]
                dropped.append(key)
        if dropped:
            log.warning("removed %d report(s) of entities no longer in the store: %s",
                        len(dropped), ", ".join(dropped))
        return dropped

    def exclude(self, key: str, reason: str) -> None:
        """Record ``key`` (``role/id``) as getting no report this month, for ``reason`` (an entity
        a published version does not hold), and delete a file an earlier run made of it."""
        rec = self.jobs.get(key) or {}
        for rel in ((rec.get("output") or {}).get("path"), rec.get("executed_notebook")):
            if rel:
                (self.month_dir / rel).unlink(missing_ok=True)
        role, entity_id = key.split("/", 1)
        self.jobs[key] = {"key": key, "role": role, "entity_id": entity_id,
                          "entity_name": rec.get("entity_name"), "branch_id": rec.get("branch_id"),
                          "branch_name": rec.get("branch_name"), "status": "skipped",
                          "reason": reason, "output": None, "error": None}

    def stale_reason(self, job: Job) -> str | None:
        """Why ``job`` must run: ``new``, ``failed``, ``changed`` (fingerprint) or ``missing``
        (output file gone or of another size); None when it is up to date."""
        rec = self.jobs.get(job.key)
        if rec is None:
            return "new"
        if rec.get("status") not in DONE:
            return "failed"
        if rec.get("fingerprint", {}).get("sha256") != job.fingerprint:
            return "changed"
        out = rec.get("output") or {}
        path = self.month_dir / job.html
        if out.get("path") != job.html or not path.exists() or path.stat().st_size != out.get("bytes"):
            return "missing"
        return None


ROLE_ORDER = {"company": 0, "branch": 1, "employee": 2}


def record_order(rec: dict[str, Any]) -> tuple:
    """Sort key: company, then per branch the branch and its employees, by id."""
    return (ROLE_ORDER.get(rec.get("role", ""), 9), rec.get("branch_id") or "", rec.get("entity_id", ""))


def job_record(job: Job, fingerprint_parts: dict[str, Any]) -> dict[str, Any]:
    """The planning half of a record (what the job is), before it runs."""
    e = job.entity
    return {
        "key": job.key,
        "role": job.role,
        "entity_id": e.entity_id,
        "entity_name": e.name,
        "branch_id": e.branch_id,
        "branch_name": e.branch_name,
        "recipients": [list(r) for r in e.recipients],
        "notebook": str(job.notebook),
        "parameters": dict(job.parameters),
        "fingerprint": {"sha256": job.fingerprint, **fingerprint_parts},
    }
