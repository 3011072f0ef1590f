"""``perfkit deliver``: send every recipient of a month his own reports, once.

The month must have been rendered (``perfkit run``); reports older than the store (changed or
published since) are rendered again first, so a file always shows what the message says. Unless
``unpublished``, the month must be published. Per recipient (:mod:`perfkit.delivery.plan`) the files not yet delivered to him are sent
in one message, after the scope check; a file already delivered with the same content is not sent
again, nor one whose entity a revision did not change (its file differs only in the version it
names). Each step is in the delivery record (:mod:`perfkit.delivery.record`) before the next one.
"""

from __future__ import annotations

import functools
import logging
import smtplib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from perfkit.batch.config import load_run_config
from perfkit.batch.execute import now
from perfkit.batch.index import load_scores, write_outputs
from perfkit.batch.manifest import Manifest
from perfkit.batch.progress import Progress, fmt_seconds
from perfkit.batch.runner import run, run_paths
from perfkit.data.store import connect, store_fingerprint
from perfkit.delivery.config import DeliverySpec, load_delivery
from perfkit.delivery.plan import (
    HQ,
    REPORT_NAMES,
    Attachment,
    Message,
    compressed_size,
    plan_messages,
    scope_problem,
)
from perfkit.delivery.record import (
    FAILED,
    PENDING,
    REFUSED,
    SENT,
    TRANSMITTING,
    UNCERTAIN,
    DeliveryRecord,
)
from perfkit.delivery.smtp import (
    Mailer,
    PermanentFailure,
    SessionFailure,
    TemporaryFailure,
    Uncertain,
)
from perfkit.errors import DeliveryError, RequestError
from perfkit.files import atomic_path
from perfkit.month.published import Publication, latest
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySummary:
    """What a delivery run did."""

    month: str
    sent: int
    up_to_date: int
    failed: int
    refused: int
    uncertain: int
    seconds: float
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        return DeliveryError.exit_code if (self.failed or self.refused) else 0

    def line(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return (f"perfkit deliver {self.month}: {self.sent} {verb}, {self.up_to_date} up to date, "
                f"{self.failed} failed, {self.refused} refused, {self.uncertain} uncertain "
                f"in {fmt_seconds(self.seconds)}")


def version_label(pub: Publication | None) -> str:
    """已发布 v1 / 修订版 v2 / 未发布."""
    if pub is None:
        return "未发布"
    return f"已发布 v{pub.version}" if pub.version == 1 else f"修订版 v{pub.version}"


def _people(db: Path) -> dict[str, dict[str, Any]]:
    with connect(db) as con:
        rows = con.execute("SELECT employee_id, employee_name, branch_id, position, email "
                           "FROM employees").fetchall()
    return {r[0]: {"employee_name": r[1], "branch_id": r[2], "position": r[3], "email": r[4]}
            for r in rows}


@functools.lru_cache(maxsize=16)
def _changed(db: Path, month: str, since: int, version: int) -> frozenset[tuple[str, str]]:
    """(role, entity id) of the reports the revisions ``since + 1`` … ``version`` changed (read
    once per delivery run, not once per attachment)."""
    from perfkit.month.publish import changes

    out: set[tuple[str, str]] = set()
    for number in range(since + 1, version + 1):
        df = changes(db, month, number)
        if df["employee_id"].isna().any():  # the company report shows the branch-level changes
            out.add(("company", "company"))
        out |= {("branch", b) for b in df["branch_id"].dropna()}
        out |= {("employee", e) for e in df["employee_id"].dropna()}
    return frozenset(out)


def _to_send(msg: Message, record: DeliveryRecord, db: Path, month: str,
             pub: Publication | None, resend: bool) -> list[Attachment]:
    """The attachments of ``msg`` not yet delivered (all of them with ``resend``)."""
    if resend:
        return list(msg.attachments)
    before = {}
    for f in record.delivered(msg.recipient_id, msg.email):
        before[f["filename"]] = f
    out = []
    for att in msg.attachments:
        old = before.get(att.filename)
        if old is None:
            out.append(att)
        elif old["sha256"] != att.identity:
            then = old.get("version")  # None: delivered before the month was published
            if then is None or pub is None or int(then) == pub.version:
                out.append(att)  # the content changed within one version (or was a preview)
            elif any((p.role, p.entity_id) in _changed(db, month, int(then), pub.version)
                     for p in att.parts):
                out.append(att)  # a revision changed this report's figures
    return out


def _only(messages: list[Message], ids: Iterable[str]) -> list[Message]:
    wanted = set(ids)
    out = []
    for m in messages:
        if m.recipient_id in wanted or (m.email in wanted and m.kind == HQ):
            out.append(m)
            continue
        kept = [a for a in m.attachments if any(p.entity_id in wanted for p in a.parts)]
        if kept:
            m.attachments = kept
            out.append(m)
    return out


def build_email(msg: Message, files: list[tuple[Attachment, bytes | None, str | None]],
                spec: DeliverySpec, month: str, pub: Publication | None, fingerprint: str,
                *, unpublished: bool) -> EmailMessage:
    """The e-mail of one recipient: To him only, the templates filled, the files attached (or,
    over the size limit, linked)."""
    lines, notice = [], []
    for att, _data, link in files:
        lines.append(f"  · {att.filename}" + (f"（文件较大，未作附件，请从内网下载：{link}）" if link else ""))
    if pub is not None and pub.version > 1:
        notice.append(f"本邮件为修订版 v{pub.version}，修订原因：{pub.reason or '—'}。"
                      "仅重新发送内容有变化的报表。")
    if unpublished and pub is None:
        notice.append("注意：本月结果尚未发布，数据和得分可能仍会变动，请以发布后的版本为准。")
    fields = {"month": month, "name": msg.name, "version": version_label(pub),
              "reports": "、".join(REPORT_NAMES[r] for r in msg.roles),
              "fingerprint": fingerprint[:12], "files": "\n".join(lines),
              "notice": "\n".join(notice)}
    email = EmailMessage()
    email["From"] = spec.smtp.sender
    email["To"] = formataddr((msg.name, msg.email or ""))
    email["Subject"] = spec.subject.format_map(fields)
    email["Date"] = formatdate(localtime=True)
    domain = parseaddr(spec.smtp.sender)[1].rpartition("@")[2] or "perfkit.invalid"
    email["Message-ID"] = make_msgid("perfkit", domain=domain)
    email.set_content(spec.body.format_map(fields))
    for att, data, _link in files:
        if data is None:
            continue
        if att.zipped:
            email.add_attachment(data, maintype="application", subtype="zip", filename=att.filename)
        else:
            email.add_attachment(data, maintype="text", subtype="html", filename=att.filename)
    return email


def deliver(month: str, *, out: Path | None = None, db: Path | None = None,
            params: Path | None = None, dry_run: bool = False, **kwargs: Any) -> DeliverySummary:
    """Send the reports of ``month`` (see the module doc); failures do not raise: see the
    summary's counts and exit code. Two deliveries of one month never run at once: the second is
    refused naming the first (its pid and since when). Raises :class:`RequestError` when the month
    was not rendered, rendering it again failed, or it is not published (without
    ``unpublished``). Keywords: ``only``, ``resend``, ``unpublished``, ``progress``, ``echo``
    (dry-run lines), ``sleep`` (waits between retries and for the rate limit)."""
    from perfkit.data.lock import writing
    from perfkit.delivery.record import DELIVERY

    if dry_run:
        return _deliver_held(month, out=out, db=db, params=params, dry_run=True, **kwargs)
    paths = run_paths(find_params(params), db=db, out=out)
    with writing((paths["out"] / month).resolve() / DELIVERY, f"perfkit deliver {month}"):
        return _deliver_held(month, out=out, db=db, params=params, **kwargs)


def _deliver_held(month: str, *, out: Path | None = None, db: Path | None = None,
                  params: Path | None = None, dry_run: bool = False,
                  only: Iterable[str] | None = None, resend: bool = False,
                  unpublished: bool = False, progress: str | None = None,
                  echo: Callable[[str], None] = print,
                  sleep: Callable[[float], None] = time.sleep) -> DeliverySummary:
    """The delivery itself (:func:`deliver`)."""
    t0 = time.perf_counter()
    params = find_params(params)
    spec = load_delivery(params)
    paths = run_paths(params, db=db, out=out)
    db, month_dir = paths["db"], (paths["out"] / month).resolve()
    manifest = Manifest.load(month_dir, month)
    if not manifest.jobs:
        raise RequestError(f"no reports of {month} in {month_dir}: run `perfkit run --month "
                           f"{month}` first")
    cfg = load_run_config(params)
    if cfg.assets == "shared":
        raise RequestError("run.yaml renders with assets: shared, whose reports need the month's "
                           "assets/ folder beside them: an e-mailed file would not open offline; "
                           "render with assets: inline to deliver")
    with connect(db) as con:
        current = store_fingerprint(con, month)
    if dry_run:
        if manifest.meta.get("store_fingerprint") != current:
            echo(f"(the reports are older than the store: deliver renders {month} again first)")
    else:  # bring every report up to date first (a job whose inputs did not change is skipped)
        rerun = run(month, roles=cfg.roles, db=db, out=paths["out"], params=params,
                    progress=progress, assets="inline")
        if rerun.failed:
            raise RequestError(f"rendering {month} again failed for {rerun.failed} report(s) "
                               f"({rerun.failure_line()}); nothing was sent")
        manifest = Manifest.load(month_dir, month)
        with connect(db) as con:
            current = store_fingerprint(con, month)
    pub = latest(db, month)
    if pub is None and not unpublished:
        raise RequestError(f"{month} is not published: `perfkit publish --month {month}` first, "
                           "or --unpublished to send it with a warning in every message")
    people = _people(db)
    messages = plan_messages(month, manifest.jobs, people, spec, compressed_size(month_dir))
    if only:
        messages = _only(messages, only)
    record = DeliveryRecord.load(month_dir, month)
    fingerprint = pub.fingerprint if pub is not None else current
    work = [(m, _to_send(m, record, db, month, pub, resend)) for m in messages]
    todo = [(m, atts) for m, atts in work if atts]
    counts = {SENT: 0, FAILED: 0, REFUSED: 0, UNCERTAIN: 0}
    if dry_run:
        for m, atts in todo:
            echo(f"{m.name} <{m.email or '—'}>: " + ", ".join(a.label for a in atts))
        return DeliverySummary(month, len(todo), len(work) - len(todo), 0, 0, 0,
                               time.perf_counter() - t0, dry_run=True)
    bar = Progress(len(todo), progress, label="messages")
    mailer = Mailer(spec.smtp)
    last_sent = 0.0
    stopped: SessionFailure | None = None
    try:
        for done, (m, atts) in enumerate(todo):
            started = time.perf_counter()
            if spec.rate_per_minute:
                wait = last_sent + 60 / spec.rate_per_minute - time.monotonic()
                if wait > 0:
                    sleep(wait)
            try:
                entry = _send_one(m, atts, spec, month, month_dir, manifest.jobs, people, pub,
                                  fingerprint, record, mailer, unpublished=unpublished, sleep=sleep)
            except SessionFailure as exc:  # every message would fail the same way: stop here
                stopped = exc
                left = len(todo) - done
                break
            last_sent = time.monotonic()
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
            bar.update(m.recipient_id, {"status": "ok" if entry["status"] == SENT else "failed",
                                        "seconds": time.perf_counter() - started,
                                        "error": {"exception": entry["status"],
                                                  "message": entry.get("error")}})
    finally:
        mailer.close()
        bar.close()
        write_outputs(month_dir, month, manifest.jobs, load_scores(db, month, params))  # + who got what
    if stopped is not None:
        raise DeliveryError(f"{spec.smtp.host}:{spec.smtp.port}: {stopped}; delivery stopped: "
                            f"{counts[SENT]} sent, {left} left pending for the next run")
    return DeliverySummary(month, counts[SENT], len(work) - len(todo), counts[FAILED],
                           counts[REFUSED], counts[UNCERTAIN], time.perf_counter() - t0)


def _send_one(m: Message, atts: list[Attachment], spec: DeliverySpec, month: str, month_dir: Path,
              jobs: Mapping[str, Any], people: Mapping[str, Any], pub: Publication | None,
              fingerprint: str, record: DeliveryRecord, mailer: Mailer, *, unpublished: bool,
              sleep: Callable[[float], None]) -> dict[str, Any]:
    """Check, build, record and send one message; returns its record entry."""
    entry: dict[str, Any] = {
        "recipient_id": m.recipient_id, "name": m.name, "email": m.email, "kind": m.kind,
        "files": [], "version": pub.version if pub else None, "fingerprint": fingerprint[:12],
        "message_id": None, "status": PENDING, "attempts": 0, "created_at": now(),
        "sent_at": None, "smtp_reply": None, "error": None}
    problem = scope_problem(Message(m.recipient_id, m.name, m.email, m.kind, m.branch_id,
                                    m.position, atts), jobs, people, month_dir)
    files: list[tuple[Attachment, bytes | None, str | None]] = []
    if problem is None:
        limit = spec.max_attachment_mb * 1024 * 1024
        for att in atts:
            data: bytes | None = att.data(month_dir)
            size, link = len(data), None
            if size > limit:
                if not spec.link_base_url:
                    problem = (f"{att.filename} is {size / 1e6:.1f} MB, over max_attachment_mb "
                               f"{spec.max_attachment_mb:g}, and no link_base_url is set")
                    break
                rel = att.parts[0].path
                if att.zipped:  # not a file of the batch: put it beside the reports to link to
                    rel = f"delivery/{att.filename}"
                    with atomic_path(month_dir / rel) as tmp:
                        tmp.write_bytes(data)
                        tmp.chmod(0o644)
                link = spec.link_base_url.rstrip("/") + f"/{month}/{rel}"
                log.warning("%s: %s is over %g MB: linked, not attached (%s)", m.recipient_id,
                            att.filename, spec.max_attachment_mb, link)
                data = None
            files.append((att, data, link))
            entry["files"].append({"filename": att.filename, "sha256": att.identity,
                                   "bytes": size,
                                   "keys": [p.key for p in att.parts],
                                   "version": pub.version if pub else None,
                                   **({"link": link} if link else {})})
    if problem is not None:
        entry.update(status=REFUSED if problem.startswith("scope") or "differs" in problem
                     else FAILED, error=problem)
        log.error("%s: not sent: %s", m.recipient_id, problem)
        return record.add(entry)
    try:
        email = build_email(m, files, spec, month, pub, fingerprint, unpublished=unpublished)
    except (ValueError, UnicodeError) as exc:  # a name or address no header can carry
        entry.update(status=FAILED, error=f"cannot build the message: {exc}")
        log.error("%s: not sent: %s", m.recipient_id, entry["error"])
        return record.add(entry)
    entry["message_id"] = email["Message-ID"]
    record.add(entry)

    def handing_over() -> None:
        entry["status"] = TRANSMITTING
        record.save()

    while True:
        entry["attempts"] += 1
        try:
            entry["smtp_reply"] = mailer.send(email, parseaddr(spec.smtp.sender)[1], m.email or "",
                                              handing_over)
            entry.update(status=SENT, sent_at=now(), error=None)
            break
        except TemporaryFailure as exc:
            entry.update(status=PENDING, error=str(exc))
            if entry["attempts"] > spec.retries:
                entry["status"] = FAILED
                break
            delay = spec.backoff_seconds * 2 ** (entry["attempts"] - 1)
            log.warning("%s: %s; retrying in %.0fs", m.recipient_id, exc, delay)
            record.save()
            sleep(delay)
        except SessionFailure as exc:  # not this message's fault: it stays pending
            entry.update(status=PENDING, error=str(exc))
            record.save()
            raise
        except PermanentFailure as exc:
            entry.update(status=FAILED, error=str(exc))
            break
        except Uncertain as exc:
            entry.update(status=UNCERTAIN, error=str(exc))
            break
        except (ValueError, UnicodeError, smtplib.SMTPException) as exc:  # e.g. a non-ASCII address
            entry.update(status=FAILED if entry["status"] != TRANSMITTING else UNCERTAIN,
                         error=f"{exc.__class__.__name__}: {exc}")
            mailer.close()
            break
    if entry["status"] != SENT:
        log.error("%s <%s>: %s: %s", m.recipient_id, m.email, entry["status"], entry["error"])
    record.save()
    return entry

