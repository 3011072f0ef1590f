"""Sending one message over SMTP with the standard library, in steps the delivery record can
follow: MAIL, RCPT and DATA's 354 first (nothing is delivered yet), then — after the caller has
recorded ``transmitting`` — the message itself and the server's final reply.

:class:`Mailer` keeps one connection (``none`` / ``starttls`` / ``ssl``, optional login) and opens
it again after a failure. Errors are classified: :class:`TemporaryFailure` (4xx, a dropped or
refused connection: retry later), :class:`PermanentFailure` (5xx, a rejected address: do not
retry) and :class:`Uncertain` (the connection broke after the message was handed over: the server
may have accepted it, so it must not be sent again automatically).
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from perfkit.delivery.config import Smtp

LOOPBACK = ("localhost", "127.0.0.1", "::1")  # a password may go unencrypted only here
TEMPORARY_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError,
                    socket.timeout, TimeoutError, OSError)


class TemporaryFailure(Exception):
    """Retry later: a 4xx reply or a connection problem before the message was handed over."""


class PermanentFailure(Exception):
    """Do not retry: a 5xx reply (a rejected address, a refused message)."""


class SessionFailure(PermanentFailure):
    """No message can be sent in this session (the login is refused, the password would go
    unencrypted): the run stops instead of failing every message in turn."""


class Uncertain(Exception):
    """The message was handed over and no final reply came: it may have been delivered."""


def wire_data(msg: EmailMessage) -> bytes:
    """The message as DATA sends it: CRLF line ends, leading dots doubled, ending ``.``."""
    data = msg.as_bytes(policy=email.policy.SMTP)
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {message}".strip()


def _check(code: int, text: bytes, ok: tuple[int, ...], step: str) -> None:
    if code in ok:
        return
    reply = _reply(code, text)
    if 400 <= code < 500:
        raise TemporaryFailure(f"{step}: {reply}")
    raise PermanentFailure(f"{step}: {reply}")


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH with one mechanism (PLAIN, else LOGIN): a refused password is refused once.
    (smtplib's ``login`` tries every mechanism in turn, and some servers never answer the second
    after refusing the first.)"""
    if not smtp.has_extn("auth"):
        raise SessionFailure("the server offers no AUTH, but smtp.user is set")
    offered = smtp.esmtp_features["auth"].upper().split()
    for mechanism in ("PLAIN", "LOGIN"):
        if mechanism in offered:
            smtp.user, smtp.password = user, password
            smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
            return
    raise SessionFailure(f"the server offers AUTH {' '.join(offered)}; perfkit speaks PLAIN and LOGIN")


class Mailer:
    """An SMTP session for a run of messages."""

    def __init__(self, settings: Smtp) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.user and s.security == "none" and s.host not in LOOPBACK:
            raise SessionFailure(f"refusing to send the password for {s.user} to {s.host} "
                                   "unencrypted: set smtp.security to starttls or ssl")
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                _login(smtp, s.user, s.password() or "")
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise SessionFailure(f"login as {s.user} refused: "
                                 f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except BaseException:
            smtp.close()  # no half-open connection left behind
            raise
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def send(self, msg: EmailMessage, sender: str, recipient: str,
             handing_over: Callable[[], None]) -> str:
        """Send ``msg`` to the one ``recipient``; ``handing_over`` is called after DATA's 354, just
        before the message is transmitted. Returns the server's final reply."""
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            smtp = self.smtp
            code, text = smtp.mail(sender)
            _check(code, text, (250,), "MAIL FROM")
            code, text = smtp.rcpt(recipient)
            _check(code, text, (250, 251), f"RCPT TO <{recipient}>")
            code, text = smtp.docmd("DATA")
            _check(code, text, (354,), "DATA")
        except SessionFailure:
            raise
        except (TemporaryFailure, PermanentFailure):
            self._reset()
            raise
        except smtplib.SMTPResponseException as exc:
            self.close()
            _check(exc.smtp_code, exc.smtp_error, (), "SMTP")
            raise
        except TEMPORARY_ERRORS as exc:
            self.close()
            raise TemporaryFailure(f"connection to {self.settings.host}:{self.settings.port}: "
                                   f"{exc.__class__.__name__}: {exc}") from None
        handing_over()
        try:
            smtp.send(wire_data(msg))
            code, text = smtp.getreply()
        except TEMPORARY_ERRORS as exc:
            self.close()
            raise Uncertain(f"connection lost after the message was handed over: "
                            f"{exc.__class__.__name__}: {exc}") from None
        reply = _reply(code, text)
        if code != 250:
            self._reset()
            _check(code, text, (250,), "end of DATA")
        return reply

    def _reset(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()
