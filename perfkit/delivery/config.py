"""``parameters/delivery.yaml``: headquarters' recipients, whether a branch head also gets his
employees' reports, the SMTP settings (``$PERFKIT_SMTP_*`` override them; the password comes only
from ``$PERFKIT_SMTP_PASSWORD``), limits and the message templates — as a frozen typed model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from perfkit.errors import SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

FILE_NAME = "delivery.yaml"
EMAIL = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
TEMPLATE_FIELDS = ("month", "name", "reports", "version", "fingerprint", "files", "notice")
ENV = {"host": "PERFKIT_SMTP_HOST", "port": "PERFKIT_SMTP_PORT",
       "security": "PERFKIT_SMTP_SECURITY", "user": "PERFKIT_SMTP_USER"}
PASSWORD_ENV = "PERFKIT_SMTP_PASSWORD"


class Person(BaseModel):
    """A headquarters recipient."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    email: str = Field(pattern=EMAIL)


class Smtp(BaseModel):
    """How to reach the mail server (no password: that is ``$PERFKIT_SMTP_PASSWORD``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    sender: str = "perfkit@example.com"
    user: str | None = None
    timeout: float = Field(default=30, gt=0)

    def password(self) -> str | None:
        """The login password, from the environment only."""
        return os.environ.get(PASSWORD_ENV) or None


class DeliverySpec(BaseModel):
    """delivery.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    headquarters: tuple[Person, ...] = ()
    branch_head_gets_employee_reports: bool = True
    smtp: Smtp = Smtp()
    rate_per_minute: float = Field(default=60, ge=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=2, ge=0)
    max_attachment_mb: float = Field(default=10, gt=0)
    link_base_url: str | None = None
    subject: str = "{month} {reports} · {name}"
    body: str = "{name}，您好：\n\n附件是 {month} 的{reports}（{version}，数据指纹 {fingerprint}）：\n{files}\n{notice}\n"

    @field_validator("subject", "body")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        sample = {f: "x" for f in TEMPLATE_FIELDS}
        try:
            value.format_map(sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown or malformed field {exc}; known: "
                             f"{', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}") from None
        return value


def load_delivery(params: str | os.PathLike | None = None) -> DeliverySpec:
    """Read ``<params>/delivery.yaml`` (a missing file: the defaults, no headquarters recipient) and
    apply the ``$PERFKIT_SMTP_*`` overrides. Raises :class:`SpecError` naming file and field; a
    ``password`` in the file is refused (it belongs in ``$PERFKIT_SMTP_PASSWORD``)."""
    path = Path(find_params(params)) / FILE_NAME
    data = read_yaml(path, required=False, expect="a mapping of settings at the top level") or {}
    smtp = dict(data.get("smtp") or {}) if isinstance(data.get("smtp") or {}, dict) else None
    if smtp is not None and "password" in smtp:
        raise SpecError(f"a password is never kept in a file: remove it and set {PASSWORD_ENV}",
                        file=str(path), field="smtp.password")
    if smtp is not None:
        for key, env in ENV.items():
            if os.environ.get(env):
                smtp[key] = os.environ[env]
        data = {**data, "smtp": smtp}
    try:
        return DeliverySpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        shown = "" if first["loc"][:1] == ("smtp",) else f" (got {first.get('input')!r})"
        raise SpecError(f"{first['msg']}{shown}", file=str(path), field=field) from None
