"""``perfkit check``: validate every parameters file and list the problems.

check only *collects*: every rule lives in the loader that owns the file (:mod:`perfkit.metrics.catalog`
for indicators.yaml, measures/*.sql and tasks.yaml; :mod:`perfkit.appraisal.spec` for
scorecard.yaml, with :mod:`perfkit.metrics.targets` for its targets; :mod:`perfkit.appraisal.options`
for appraisal.yaml; the level and pay rules; :mod:`perfkit.data.mapping` for import.yaml;
:mod:`perfkit.batch.config` for run.yaml). Each loader's :class:`~perfkit.errors.SpecError` becomes a
:class:`Problem` naming file, entry and field. The SQL of every measure file and task rule is also
run once against an empty in-memory store of the current schema, so a query that names a missing
table or column is reported before a report month is ever computed.

Loaders that stop at their first error report one problem per file; the scorecard reports all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from perfkit.appraisal.level_rules import FILE_NAME as LEVELS_FILE
from perfkit.appraisal.level_rules import load_levels
from perfkit.appraisal.options import appraisal_problems
from perfkit.appraisal.pay_rules import FILE_NAME as PAY_FILE
from perfkit.appraisal.pay_rules import load_pay
from perfkit.appraisal.spec import (
    FILE_NAME,
    catalog_info,
    read_sections_file,
    scorecard_problems,
    validate_scorecard,
)
from perfkit.batch.config import RUN_FILE, load_run_config
from perfkit.data.mapping import MAPPING_FILE, load_spec
from perfkit.data.store import create_schema, open_store
from perfkit.delivery.config import FILE_NAME as DELIVERY_FILE
from perfkit.delivery.config import load_delivery
from perfkit.errors import PerfkitError, SpecError
from perfkit.metrics.catalog import load_catalog, load_task_rules
from perfkit.metrics.measures import measure_frame
from perfkit.metrics.tasks import task_frame
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

PROBE_MONTH = "2000-01"
_ENTRY_FIELD = re.compile(r"^(?P<entry>(?:indicator|task rule) '[^']*'): field '(?P<field>[^']*)': "
                          r"(?P<message>.*)$", re.S)
_ENTRY_ONLY = re.compile(r"^(?P<entry>(?:indicator|task rule|mapping) '?[^':]*'?): (?P<message>.*)$",
                         re.S)


@dataclass(frozen=True)
class Problem:
    """One problem in a parameters file: where (file, entry, field) and what (message)."""

    file: str
    entry: str | None
    field: str | None
    message: str
    detail: str | None = field(default=None, compare=False)  # more text, for --debug

    def __str__(self) -> str:
        where = self.file
        if self.entry:
            where += f": {self.entry}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


def problem_from_error(err: PerfkitError, default_file: str = "") -> Problem:
    """A Problem from a loader's error, taking entry and field from its attributes or its text."""
    file = str(err.file or default_file)
    entry = getattr(err, "entry", None)
    field = err.field
    message = err.message
    if entry is None:
        m = _ENTRY_FIELD.match(message)
        if m:
            entry, field, message = m["entry"], m["field"], m["message"]
        else:
            m = _ENTRY_ONLY.match(message)
            if m:
                entry, message = m["entry"], m["message"]
    if entry is None and err.table:
        entry = f"table {err.table}"
    return Problem(file, entry, field, message, err.detail)


def _collect(problems: list[Problem], default_file: str, fn, *args: Any, **kw: Any) -> Any:
    """Call a loader; on SpecError add a Problem and return None."""
    try:
        return fn(*args, **kw)
    except PerfkitError as exc:
        p = problem_from_error(exc, default_file)
        if p not in problems:
            problems.append(p)
        return None


def _check_sql(params: Path, catalog, rules, problems: list[Problem]) -> None:
    """Run every measure file and task rule once on an empty store of the current schema."""
    con = duckdb.connect(":memory:")
    quiet = logging.getLogger("perfkit.metrics.measures")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the probe computes nothing worth an INFO line per file
    try:
        create_schema(con)
        if rules is not None:
            for rule in rules.rules:
                _collect(problems, str(params / "tasks.yaml"), task_frame, con, [PROBE_MONTH], rules,
                         [rule.id])
        if catalog is not None:
            for mf in catalog.measure_files:
                one = catalog.model_copy(update={"measure_files": (mf,)})
                _collect(problems, mf.path, measure_frame, con, [PROBE_MONTH], one)
    finally:
        quiet.setLevel(level)
        con.close()


def check(params: str | Path | None = None, store: str | Path | None = None) -> list[Problem]:
    """Validate every file of the parameters folder ``params``; return the problems (empty = valid).

    Checked: indicators.yaml and measures/*.sql (fields, duplicate ids, unknown family, measure or
    unit …), tasks.yaml, scorecard.yaml (weight sums, unknown indicators, methods and method
    parameters, targets, grades, stars …), appraisal.yaml (sections, advisor, rfm), import.yaml,
    run.yaml, levels.yaml, pay.yaml and delivery.yaml when present, and the SQL of every measure and task rule
    against an empty store. With ``store`` the store is also opened and its schema version checked.
    """
    params = find_params(params)
    problems: list[Problem] = []
    if not params.is_dir():
        return [Problem(str(params), None, None, "parameters folder not found")]

    rules = _collect(problems, str(params / "tasks.yaml"), load_task_rules, params)
    catalog = _collect(problems, str(params / "indicators.yaml"), load_catalog, params)
    info = None
    if catalog is not None:
        info = _collect(problems, str(params / "indicators.yaml"), catalog_info, params)
    if info is not None:
        _, sc_problems = scorecard_problems(params, info)
    else:
        _, sc_problems = _scorecard_without_catalog(params)
    for err in sc_problems:
        p = problem_from_error(err, str(params / "scorecard.yaml"))
        if p not in problems:
            problems.append(p)

    for err in appraisal_problems(params)[1]:
        p = problem_from_error(err, str(params / "appraisal.yaml"))
        if p not in problems:
            problems.append(p)

    if (params / MAPPING_FILE).exists():
        _collect(problems, str(params / MAPPING_FILE), load_spec, params)
    if (params / RUN_FILE).exists():
        _collect(problems, str(params / RUN_FILE), load_run_config, params)

    for name, loader in ((LEVELS_FILE, load_levels), (PAY_FILE, load_pay),
                         (DELIVERY_FILE, load_delivery)):
        if (params / name).exists():
            _collect(problems, str(params / name), loader, params)

    _check_sql(params, catalog, rules, problems)

    if store is not None:
        con = _collect(problems, str(store), open_store, store)
        if con is not None:
            con.close()
    log.info("checked %s: %d problem(s)", params, len(problems))
    return problems


def _scorecard_without_catalog(params: Path) -> tuple[None, list[SpecError]]:
    """Scorecard problems when the catalog is broken: structure only, indicator ids unchecked."""
    try:
        raw = read_sections_file(params / FILE_NAME)
    except SpecError as exc:
        return None, [exc]
    _, errs = validate_scorecard(raw, None, file=str(params / FILE_NAME))
    return None, errs
