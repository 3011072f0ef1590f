"""``perfkit deliver`` against a real SMTP server (aiosmtpd on 127.0.0.1): every recipient gets
one message with exactly his files, the scope check, retries, a permanent failure for one address,
reruns, a delivery killed mid-way and resumed, a revision, unpublished months, links for large
files and a password that never reaches a file or a log."""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml
from aiosmtpd.controller import Controller
from pagetext import unpack

from perfkit.batch import run
from perfkit.data.demo import generate
from perfkit.delivery.record import DELIVERY
from perfkit.delivery.runner import deliver
from perfkit.errors import DeliveryError, RequestError, SpecError
from perfkit.month.publish import publish

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2026-10"
DEMO = {"branches": 2, "employees": 6, "clients": 300, "months": 3, "end_month": MONTH, "seed": 11}
HQ = "hq-appraisal@example.com"
NO_WAIT = {"sleep": lambda seconds: None, "progress": "off"}


class Inbox:
    """aiosmtpd handler: keeps every message; can refuse or delay addresses, or run a hook."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reject: set[str] = set()
        self.busy_once: set[str] = set()
        self.on_data = None
        self.auth: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        if address in self.busy_once:
            self.busy_once.discard(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.on_data is not None:
            self.on_data(len(self.messages))
        return "250 2.0.0 queued"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(c, policy=email.policy.default) for _, _, c in self.messages]

    def by_recipient(self) -> dict[str, list[email.message.EmailMessage]]:
        out: dict[str, list] = {}
        for (_, rcpts, _), msg in zip(self.messages, self.parsed(), strict=True):
            assert len(rcpts) == 1, rcpts
            out.setdefault(rcpts[0], []).append(msg)
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Authenticator:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.inbox.auth.append((auth_data.login.decode(), auth_data.password.decode()))
        # handled=False: aiosmtpd itself answers 535 to a refused password (else it stays silent)
        return AuthResult(success=auth_data.password == b"s3cret-pw", handled=False)


@pytest.fixture
def inbox(monkeypatch):
    box = Inbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=Authenticator(box),
                            auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("PERFKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PERFKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("PERFKIT_SMTP_SECURITY", "none")
    box.port = port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """A small demo month rendered and published once; tests work on copies."""
    base = tmp_path_factory.mktemp("deliver")
    db = base / "crm.duckdb"
    generate(db, **DEMO)
    params = base / "parameters"
    shutil.copytree(ROOT / "parameters", params)
    spec = yaml.safe_load((params / "delivery.yaml").read_text(encoding="utf-8"))
    spec.update(backoff_seconds=0, rate_per_minute=0)
    (params / "delivery.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    publish(db, MONTH, params, by="测试")
    out = base / "output"
    summary = run(MONTH, workers=2, db=db, out=out, params=params, progress="off")
    assert summary.failed == 0, summary.errors
    return {"db": db, "params": params, "out": out}


@pytest.fixture
def month(rendered, tmp_path) -> dict[str, Path]:
    """A private copy of the rendered month (store, parameters, output)."""
    copy = {}
    for key, path in rendered.items():
        dest = tmp_path / path.name
        (shutil.copytree if path.is_dir() else shutil.copyfile)(path, dest)
        copy[key] = dest
    copy["dir"] = copy["out"] / MONTH
    return copy


def _go(month, **kw):
    return deliver(MONTH, db=month["db"], params=month["params"], out=month["out"], **{**NO_WAIT, **kw})


def _people(db: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT employee_id, employee_name, branch_id, position, email FROM employees"
        ).fetchall()}
    finally:
        con.close()


def _expected(month) -> dict[str, set[str]]:
    """address → the manifest paths he must receive (zips: their members), from the manifest."""
    jobs = json.loads((month["dir"] / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    people = _people(month["db"])
    out: dict[str, set[str]] = {}
    for r in jobs.values():
        path = r["output"]["path"]
        if r["role"] == "company":
            out.setdefault(HQ, set()).add(path)
        elif r["role"] == "employee":
            out.setdefault(people[r["entity_id"]][3], set()).add(path)
        else:
            for head, _name in r["recipients"]:
                mine = {j["output"]["path"] for j in jobs.values()
                        if j["role"] == "employee" and j["branch_id"] == r["entity_id"]}
                out.setdefault(people[head][3], set()).update({path, *mine})
    return out


def _received(month, msg) -> set[str]:
    """The manifest paths a message carries, matched by content."""
    by_bytes = {p.read_bytes(): p.relative_to(month["dir"]).as_posix()
                for p in month["dir"].rglob("*.html") if p.name != "index.html"}
    got = set()
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True)
        if part.get_content_type() == "application/zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for name in zf.namelist():
                    assert name.startswith(MONTH + "_员工绩效_"), name
                    got.add(by_bytes[zf.read(name)])
        else:
            got.add(by_bytes[data])
    return got


def test_every_recipient_gets_exactly_his_files_once(month, inbox):
    summary = _go(month)
    expected = _expected(month)
    assert summary.exit_code == 0 and summary.sent == len(expected), summary.line()
    got = inbox.by_recipient()
    assert set(got) == set(expected)
    people = {v[3]: v[0] for v in _people(month["db"]).values()}
    for address, msgs in got.items():
        assert len(msgs) == 1, address
        msg = msgs[0]
        assert msg["To"].addresses[0].addr_spec == address and len(msg["To"].addresses) == 1
        assert msg["Cc"] is None and msg["Bcc"] is None
        assert _received(month, msg) == expected[address], address
        for other in set(expected) - {address}:
            assert other not in msg.as_string(), (address, other)
        body = msg.get_body(("plain",)).get_content()
        assert "已发布 v1" in body and "数据指纹" in body
        if address != HQ:
            assert msg["Subject"].startswith(f"{MONTH} ") and msg["Subject"].endswith(
                f" · {people[address]}")
            names = [p.get_filename() for p in msg.iter_attachments()]
            assert any(people[address] in n for n in names), names  # Chinese, RFC 2231
    employee = next(m[0] for a, m in got.items() if a != HQ and "部门" not in m[0]["Subject"])
    assert "员工绩效报告" in employee["Subject"]
    record = json.loads((month["dir"] / DELIVERY).read_text(encoding="utf-8"))
    assert {m["status"] for m in record["messages"]} == {"sent"}
    assert all(m["smtp_reply"].startswith("250") and m["message_id"] for m in record["messages"])
    assert "已发送" in (month["dir"] / "index.html").read_text(encoding="utf-8")
    # a rerun sends nothing
    again = _go(month)
    assert again.sent == 0 and again.up_to_date == len(expected) and len(inbox.messages) == summary.sent


def test_dry_run_prints_and_sends_nothing(month, inbox, capsys):
    lines = []
    summary = _go(month, dry_run=True, echo=lines.append)
    assert summary.dry_run and summary.sent == len(_expected(month)) == len(lines)
    assert inbox.messages == [] and not (month["dir"] / DELIVERY).exists()
    assert any(HQ in line and "company.html" in line for line in lines)


def test_scope_is_checked_again_at_sending_time(month, inbox, monkeypatch):
    manifest = month["dir"] / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    people = _people(month["db"])
    b1, b2 = sorted(r["entity_id"] for r in data["jobs"].values() if r["role"] == "branch")
    outsider = next(e for e, v in sorted(people.items()) if v[1] == b2 and v[2] != "营业部负责人")
    data["jobs"][f"branch/{b1}"]["recipients"].append([outsider, people[outsider][0]])
    manifest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    summary = _go(month)
    assert summary.refused == 1 and summary.exit_code == 7
    record = json.loads((month["dir"] / DELIVERY).read_text(encoding="utf-8"))
    refused = [m for m in record["messages"] if m["status"] == "refused"]
    assert [m["recipient_id"] for m in refused] == [outsider]
    assert "scope" in refused[0]["error"] and b1 in refused[0]["error"]
    got = inbox.by_recipient()
    assert people[outsider][3] not in got  # not even his own report: the whole message is refused
    # a report changed on disk after the batch wrote it (here: just after deliver brought the
    # month up to date) is refused too
    import perfkit.delivery.runner as runner

    real_run = runner.run

    def run_then_tamper(*args, **kwargs):
        summary = real_run(*args, **kwargs)
        (month["dir"] / "company.html").write_text("tampered", encoding="utf-8")
        return summary

    monkeypatch.setattr(runner, "run", run_then_tamper)
    assert _go(month, only=["company"], resend=True).refused == 1


def test_temporary_failure_is_retried_and_a_rejected_address_does_not_stop_the_others(month, inbox):
    people = _people(month["db"])
    addresses = sorted(v[3] for v in people.values())
    inbox.busy_once.add(addresses[0])
    inbox.reject.add(addresses[1])
    summary = _go(month)
    assert summary.failed == 1 and summary.exit_code == 7
    got = inbox.by_recipient()
    assert addresses[0] in got and addresses[1] not in got
    assert len(got) == len(_expected(month)) - 1
    record = json.loads((month["dir"] / DELIVERY).read_text(encoding="utf-8"))
    entry = {m["email"]: m for m in record["messages"]}
    assert entry[addresses[0]]["attempts"] == 2 and entry[addresses[0]]["status"] == "sent"
    assert entry[addresses[1]]["status"] == "failed" and "550" in entry[addresses[1]]["error"]
    # once the address is fixed, a rerun sends only the missing message
    inbox.reject.clear()
    again = _go(month)
    assert again.sent == 1 and len(inbox.by_recipient()[addresses[1]]) == 1


def test_killed_mid_way_then_resumed_sends_no_one_twice(month, inbox):
    env = {**os.environ, "PERFKIT_SMTP_HOST": "127.0.0.1", "PERFKIT_SMTP_PORT": str(inbox.port)}
    argv = [sys.executable, "-m", "perfkit.cli", "deliver", "--month", MONTH, "--db",
            str(month["db"]), "--params", str(month["params"]), "--out", str(month["out"]),
            "--progress", "off"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def kill_at_third(n: int) -> None:  # the server has the message, the client never hears 250
        if n == 3:
            os.kill(proc.pid, signal.SIGKILL)

    inbox.on_data = kill_at_third
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    inbox.on_data = None
    assert len(inbox.messages) == 3
    summary = _go(month)
    assert summary.uncertain == 0  # counted in the previous run's record, not sent again
    got = inbox.by_recipient()
    expected = _expected(month)
    assert set(got) == set(expected)
    assert all(len(msgs) == 1 for msgs in got.values()), {a: len(m) for a, m in got.items()}
    record = json.loads((month["dir"] / DELIVERY).read_text(encoding="utf-8"))
    assert [m["status"] for m in record["messages"]].count("uncertain") == 1
    assert _go(month).sent == 0


def test_a_revision_is_sent_again_only_to_those_whose_files_changed(month, inbox):
    _go(month)
    first = len(inbox.messages)
    con = duckdb.connect(str(month["db"]))
    emp = con.execute("SELECT employee_id FROM client_months WHERE month = ? GROUP BY 1 "
                      "ORDER BY count(*) DESC LIMIT 1", [MONTH]).fetchone()[0]
    con.execute("UPDATE client_months SET assets_end = assets_end * 3 + 500000, "
                "assets_avg = assets_avg * 3 + 500000 WHERE month = ? "
                "AND employee_id = ?", [MONTH, emp])
    con.close()
    publish(month["db"], MONTH, month["params"], by="测试", revise=True, reason="资产数据更正")
    assert run(MONTH, workers=2, db=month["db"], out=month["out"], params=month["params"],
               progress="off").failed == 0
    summary = _go(month)
    people = _people(month["db"])
    branch = people[emp][1]
    heads = {v[3] for e, v in people.items() if v[1] == branch and v[2] == "营业部负责人"}
    resent = {rcpts[0] for _, rcpts, _ in inbox.messages[first:]}
    assert resent == {people[emp][3], HQ, *heads}, resent
    assert summary.sent == len(resent) and summary.up_to_date == len(_expected(month)) - len(resent)
    body = inbox.parsed()[-1].get_body(("plain",)).get_content()
    assert "修订版 v2" in body and "资产数据更正" in body


def test_run_publish_deliver_in_the_monthly_order(month, inbox):
    """run → deliver is refused (not published); a preview with --unpublished says so; publish →
    deliver renders the published version first and sends it to everyone (the preview too)."""
    con = duckdb.connect(str(month["db"]))
    con.execute("DELETE FROM publication_changes; DELETE FROM publication_frames; "
                "DELETE FROM publication_files; "
                "DELETE FROM publications")
    con.close()
    assert run(MONTH, workers=2, db=month["db"], out=month["out"], params=month["params"],
               progress="off").failed == 0
    with pytest.raises(RequestError, match="not published"):
        _go(month)
    assert inbox.messages == []
    assert _go(month, unpublished=True, only=["company"]).sent == 1
    body = inbox.parsed()[0].get_body(("plain",)).get_content()
    assert "未发布" in body and "尚未发布" in body
    publish(month["db"], MONTH, month["params"], by="测试")
    summary = _go(month)  # the reports are older than the store now: rendered again first
    assert summary.exit_code == 0 and summary.sent == len(_expected(month))
    got = inbox.by_recipient()
    assert len(got[HQ]) == 2  # the preview, then the published version
    for msg in inbox.parsed()[1:]:
        assert "已发布 v1" in msg.get_body(("plain",)).get_content()
        for part in msg.iter_attachments():
            if part.get_content_type() == "text/html":
                page = unpack(part.get_payload(decode=True).decode("utf-8"))  # state is packed
                assert "已发布 v1" in page


def test_large_files_are_linked_not_attached(month, inbox):
    spec = yaml.safe_load((month["params"] / "delivery.yaml").read_text(encoding="utf-8"))
    spec.update(max_attachment_mb=0.0001, link_base_url="https://intranet.example.com/perfkit/")
    (month["params"] / "delivery.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True),
                                                   encoding="utf-8")
    assert _go(month, only=["company"]).sent == 1
    msg = inbox.parsed()[0]
    assert list(msg.iter_attachments()) == []
    assert f"https://intranet.example.com/perfkit/{MONTH}/company.html" in \
        msg.get_body(("plain",)).get_content()


def test_the_password_is_never_written(month, inbox, monkeypatch, caplog):
    monkeypatch.setenv("PERFKIT_SMTP_USER", "perfkit")
    monkeypatch.setenv("PERFKIT_SMTP_PASSWORD", "s3cret-pw")
    caplog.set_level("DEBUG")
    assert _go(month, only=["company"]).sent == 1
    assert inbox.auth == [("perfkit", "s3cret-pw")]
    for path in month["dir"].rglob("*"):
        if path.is_file() and path.suffix in (".json", ".html", ".csv"):
            assert b"s3cret-pw" not in path.read_bytes(), path
    assert "s3cret-pw" not in caplog.text
    spec = yaml.safe_load((month["params"] / "delivery.yaml").read_text(encoding="utf-8"))
    spec["smtp"]["password"] = "s3cret-pw"
    (month["params"] / "delivery.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError, match="PERFKIT_SMTP_PASSWORD"):
        _go(month)


def test_two_deliveries_of_a_month_never_run_at_once(month, inbox):
    from perfkit.data.lock import writing
    from perfkit.errors import StoreError

    with writing(month["dir"] / DELIVERY, "perfkit deliver 2026-10"), \
            pytest.raises(StoreError, match="in use by perfkit deliver 2026-10"):
        _go(month)
    assert inbox.messages == []


def test_a_password_never_goes_to_a_remote_server_unencrypted(monkeypatch):
    from email.message import EmailMessage

    from perfkit.delivery.config import Smtp
    from perfkit.delivery.smtp import Mailer, PermanentFailure

    monkeypatch.setenv("PERFKIT_SMTP_PASSWORD", "s3cret-pw")
    mailer = Mailer(Smtp(host="mail.example.com", security="none", user="perfkit"))
    with pytest.raises(PermanentFailure, match="unencrypted"):
        mailer.send(EmailMessage(), "perfkit@example.com", "a@example.com", lambda: None)


def test_a_refused_login_stops_the_run_and_leaves_the_rest_pending(month, inbox, monkeypatch):
    monkeypatch.setenv("PERFKIT_SMTP_USER", "perfkit")
    monkeypatch.setenv("PERFKIT_SMTP_PASSWORD", "wrong")
    started = time.perf_counter()
    with pytest.raises(DeliveryError, match=r"login as perfkit refused: 535 .*delivery stopped: 0 sent, "
                                            r"\d+ left pending for the next run"):
        _go(month)
    assert time.perf_counter() - started < 30
    assert len(inbox.auth) == 1  # one login tried, not one per message (nor one per mechanism)
    record = json.loads((month["dir"] / "delivery.json").read_text(encoding="utf-8"))
    statuses = {m["status"] for m in record["messages"]}
    assert statuses <= {"pending"} and inbox.messages == []
    monkeypatch.setenv("PERFKIT_SMTP_PASSWORD", "s3cret-pw")  # fixed: the next run sends them all
    summary = _go(month)
    assert summary.sent > 1 and summary.failed == 0
