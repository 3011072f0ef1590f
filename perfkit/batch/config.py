"""``parameters/run.yaml``: the run matrix of the monthly batch, as a frozen typed model.

Every field has a default, so a missing file means "all roles, all entities, defaults". Command-line
flags override the file (see :mod:`perfkit.batch.cli`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from perfkit.errors import SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

ROLES: tuple[str, ...] = ("company", "branch", "employee")
RUN_FILE = "run.yaml"
log = logging.getLogger(__name__)

Role = Literal["company", "branch", "employee"]


class EntitySelection(BaseModel):
    """Which entities of each role get a report: ``"all"`` or a list of ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    branch: Literal["all"] | tuple[str, ...] = "all"
    employee: Literal["all"] | tuple[str, ...] = "all"


class RunConfig(BaseModel):
    """The run matrix (``parameters/run.yaml``). Times are in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[Role, ...] = ROLES
    entities: EntitySelection = EntitySelection()
    #: no longer read: every employee appraised in the month gets a report (scorecard.yaml
    #: ``appraised.min_days``); kept so an older run.yaml still loads (a warning says so)
    include_leavers: bool | None = None
    db: Path | None = None
    out: Path | None = None  # paths relative to the project folder; None: perfkit.yaml's
    notebooks: Path | None = None
    workers: int | None = Field(default=None, ge=1)
    scheduler: str | None = None
    assets: Literal["inline", "shared"] = "inline"
    engine: Literal["perfkit", "fresh"] = "perfkit"
    recycle_after: int = Field(default=200, ge=0)
    recycle_mb: float = Field(default=2048, ge=0)
    retries: int = Field(default=2, ge=0, le=10)
    start_timeout: float = Field(default=60, gt=0)
    cell_timeout: float | None = Field(default=600, gt=0)

    @field_validator("roles")
    @classmethod
    def _roles_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one role is needed")
        return tuple(dict.fromkeys(value))


def load_run_config(params: str | os.PathLike | None = None) -> RunConfig:
    """Read ``<params>/run.yaml``; a missing file gives the defaults.

    Raises :class:`SpecError` naming the file and the field for a malformed file.
    """
    path = find_params(params) / RUN_FILE
    data = read_yaml(path, required=False, expect="a mapping of settings at the top level")
    if data is None:
        return RunConfig()
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        bad = first.get("input")
        raise SpecError(
            f"{first['msg']} (got {bad!r}); allowed fields: {', '.join(RunConfig.model_fields)}",
            file=str(path),
            field=field,
        ) from None
    if cfg.include_leavers is not None:
        log.warning("%s: include_leavers is no longer read; every employee appraised in the month "
                    "(scorecard.yaml appraised.min_days) gets a report", path)
    return cfg
