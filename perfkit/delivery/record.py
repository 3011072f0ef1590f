"""``output/<month>/delivery.json``: every message of the month's delivery, rewritten atomically at
each step of each message, so ``kill -9`` at any moment loses no record.

A message entry moves ``pending`` (about to be sent) → ``transmitting`` (the server said 354 and is
receiving the message: it may accept it at any moment) → ``sent`` (250, with the server's reply),
or ``failed`` / ``refused`` (scope). A run that finds an entry still ``transmitting`` (the previous
run was killed while the server had the message) marks it ``uncertain``: it is **not** sent again
— the server may have delivered it — but reported, with its Message-ID to look up in the server's
log; ``--resend --only ID`` sends it anew. A ``pending`` entry was never handed over and is sent
normally. No password is ever written here: entries hold recipient, files (path, name, sha256,
bytes, or the link sent instead), version, Message-ID, times, status, attempts and the SMTP reply.

File format (``format: 1``)::

    {"format": 1, "month": "2026-10", "updated_at": "…", "messages": [{entry}, …]}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perfkit.batch.index import DELIVERY
from perfkit.errors import StoreError
from perfkit.files import atomic_path, read_month_record

log = logging.getLogger(__name__)

FORMAT = 1
PENDING, TRANSMITTING, SENT, FAILED, REFUSED, UNCERTAIN = (
    "pending", "transmitting", "sent", "failed", "refused", "uncertain")
#: statuses after which the files count as delivered (not sent again without --resend)
DELIVERED = (SENT, UNCERTAIN)


class DeliveryRecord:
    """The delivery record of one month folder."""

    def __init__(self, month_dir: Path, month: str, messages: list[dict[str, Any]] | None = None):
        self.month_dir = Path(month_dir)
        self.month = month
        self.messages: list[dict[str, Any]] = list(messages or [])

    @property
    def path(self) -> Path:
        return self.month_dir / DELIVERY

    @classmethod
    def load(cls, month_dir: Path, month: str) -> DeliveryRecord:
        """Read the record (a missing one is empty); entries left ``transmitting`` become
        ``uncertain``. An unreadable record is an error (it must never be silently dropped)."""
        path = Path(month_dir) / DELIVERY
        if not path.exists():
            return cls(month_dir, month)
        try:
            messages = list(read_month_record(path, month, FORMAT)["messages"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"delivery record is unreadable ({exc}); move it aside to start the "
                             "month's delivery afresh", file=str(path)) from None
        record = cls(month_dir, month, messages)
        for m in record.messages:
            if m.get("status") == TRANSMITTING:
                m["status"] = UNCERTAIN
                m["error"] = ("the previous run stopped while the server was receiving this "
                              "message: it may have been delivered; not sent again (look up its "
                              "Message-ID in the server's log; --resend --only sends it anew)")
                log.warning("%s: %s was being transmitted when the previous run stopped; marked "
                            "uncertain, not sent again", m.get("recipient_id"), m.get("message_id"))
        return record

    def save(self) -> None:
        """Write the record atomically (a temporary file renamed over it)."""
        from perfkit.batch.execute import now

        self.month_dir.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, "month": self.month, "updated_at": now(),
                   "messages": self.messages}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.chmod(0o644)

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append ``entry`` and save; returns it (update it in place, then :meth:`save`)."""
        self.messages.append(entry)
        self.save()
        return entry

    def delivered(self, recipient_id: str, email: str | None) -> Iterator[dict[str, Any]]:
        """Every file entry already delivered to this recipient at this address."""
        for m in self.messages:
            if m.get("status") in DELIVERED and m.get("recipient_id") == recipient_id \
                    and m.get("email") == email:
                yield from m.get("files", [])
