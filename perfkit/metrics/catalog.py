"""The indicator catalog and the task rules, read from ``parameters/`` into frozen typed models.

- ``parameters/indicators.yaml``: ``settings`` (thresholds substituted into the measures SQL as
  ``${name}``), ``families`` (id → 中文名) and ``indicators`` (see :class:`Indicator`).
- ``parameters/measures/*.sql``: one query per file returning ``employee_id, month`` and one column per
  measure; the file declares its measures in header lines ``-- measure: name: 说明``.
- ``parameters/tasks.yaml``: ``rules`` (see :class:`TaskRule`).

Files are read on every call (no cache), so an analyst's edit shows on the next call. Every problem is
a :class:`~perfkit.errors.SpecError` naming the file, the entry id and the field.
"""

from __future__ import annotations

import logging
import re
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfkit.data.schema import PURPOSES
from perfkit.errors import RequestError, SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

UNITS = ("户", "万元", "元", "%", "次", "分", "项")
ID_PATTERN = r"^[a-z][a-z0-9_]*$"
ALL_TASKS = "all"
MEASURE_LINE = re.compile(r"^--\s*measure:\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _by_id(items: tuple[Any, ...], wanted: str, kind: str) -> Any:
    """The item of ``items`` whose ``id`` is ``wanted``; RequestError listing the known ids."""
    for item in items:
        if item.id == wanted:
            return item
    raise RequestError(f"unknown {kind} {wanted!r}; known: {', '.join(i.id for i in items)}")


TASK_STATUSES = ("已完成", "逾期完成", "未完成", "进行中")


class TaskRows(_Frozen):
    """Which task rows of the indicator's rules its value counts — the list shown behind it.

    ``due_in_month``: only rows due in the month (due-based rates); ``status``: only these statuses.
    Unset: every row of the rules listed in the month.
    """

    due_in_month: bool | None = None
    status: tuple[Literal["已完成", "逾期完成", "未完成", "进行中"], ...] | None = None


class Indicator(_Frozen):
    """One indicator: ``value = Σnumerator / Σdenominator × scale`` at any grain."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    family: str
    unit: Literal["户", "万元", "元", "%", "次", "分", "项"]
    higher_is_better: bool
    numerator: str
    denominator: str | None = None
    scale: float = 1.0
    task: str | None = None
    task_rows: TaskRows = Field(default_factory=TaskRows)
    description: str = Field(min_length=1)

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.numerator,) + ((self.denominator,) if self.denominator else ())


class MeasureFile(_Frozen):
    """One ``parameters/measures/*.sql`` file and the measures it declares."""

    path: str
    sql: str
    measures: tuple[str, ...]
    docs: dict[str, str]


class Catalog(_Frozen):
    """The indicator catalog: settings, families, indicators and measure files."""

    path: str
    settings: dict[str, Any]
    families: dict[str, str]
    indicators: tuple[Indicator, ...]
    measure_files: tuple[MeasureFile, ...]
    tasks: TaskRules | None = None

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator ``indicator_id``; the error lists the known ids."""
        return _by_id(self.indicators, indicator_id, "indicator")

    def indicators_by_rule(self) -> dict[str, list[Indicator]]:
        """Task rule id → the indicators whose value its tasks back (``task: all`` backs every
        rule), in catalog order; every rule of tasks.yaml is a key."""
        rule_ids = self.tasks.ids if self.tasks else []
        out: dict[str, list[Indicator]] = {rid: [] for rid in rule_ids}
        for ind in self.indicators:
            for rid in rule_ids if ind.task == ALL_TASKS else [ind.task] if ind.task else []:
                out.setdefault(rid, []).append(ind)
        return out

    @property
    def measure_names(self) -> list[str]:
        """Every declared measure, in file order."""
        return [m for f in self.measure_files for m in f.measures]

    def measure_doc(self, name: str) -> str:
        for f in self.measure_files:
            if name in f.docs:
                return f.docs[name]
        return ""


class TaskRule(_Frozen):
    """One task rule (任务规则); ``sql`` lists candidate tasks (see parameters/tasks.yaml).

    ``scope``: ``all`` (owner: the client's manager in the month, else the current one),
    ``active`` (only clients with a snapshot in the month) or ``monthly`` (the query itself returns
    one row per report month with ``month`` and ``employee_id``; perfkit only applies the status).
    """

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    days: int | None = Field(default=None, ge=0)
    purposes: tuple[str, ...] = ()
    validity_months: int | None = Field(default=None, ge=1)
    backlog: bool = False
    carry_over: bool = True
    scope: Literal["all", "active", "monthly"] = "all"
    params: dict[str, Any] = Field(default_factory=dict)
    sql: str = Field(min_length=1)

    def substitutions(self) -> dict[str, Any]:
        values: dict[str, Any] = dict(self.params)
        if self.days is not None:
            values["days"] = self.days
        if self.validity_months is not None:
            values["validity_months"] = self.validity_months
        if self.purposes:
            values["purposes"] = list(self.purposes)
        return values


class TaskRules(_Frozen):
    path: str
    rules: tuple[TaskRule, ...]

    def rule(self, rule_id: str) -> TaskRule:
        """The task rule ``rule_id``; the error lists the known ids."""
        return _by_id(self.rules, rule_id, "task rule")

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]


# ── SQL substitution ────────────────────────────────────────────────────────────────────────────


class SqlDate(str):
    """A 'YYYY-MM-DD' value rendered into SQL as ``DATE 'YYYY-MM-DD'``."""


def sql_literal(value: Any) -> str:
    """A setting as SQL text: numbers as is, strings quoted, lists as comma-separated literals."""
    if isinstance(value, SqlDate):
        return f"DATE '{value}'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ", ".join(sql_literal(v) for v in value)
    return "'" + str(value).replace("'", "''") + "'"


def render_sql(sql: str, values: dict[str, Any], *, file: str, entry: str | None = None) -> str:
    """Replace ``${name}`` placeholders; an unknown name is a SpecError naming the file."""
    try:
        return string.Template(sql).substitute({k: sql_literal(v) for k, v in values.items()})
    except KeyError as exc:
        where = f"{entry}: " if entry else ""
        raise SpecError(
            f"{where}unknown placeholder ${{{exc.args[0]}}} in SQL; known: "
            f"{', '.join(sorted(values)) or 'none'}",
            file=file,
        ) from None
    except ValueError as exc:
        raise SpecError(f"bad placeholder in SQL: {exc}", file=file) from None


# ── loading ─────────────────────────────────────────────────────────────────────────────────────


def render_text(text: str, values: dict[str, Any]) -> str:
    """Fill ``${name}`` in a description (统计项说明) with setting values; unknown names stay."""
    shown = {k: "、".join(map(str, v)) if isinstance(v, list | tuple) else f"{v:g}"
             if isinstance(v, float) else str(v) for k, v in values.items()}
    text = string.Template(text).safe_substitute(shown)
    # folded YAML lines leave a space between Chinese sentences: drop it
    return re.sub(r"(?<=[^\x00-\x7f,;:)])\s+(?=[^\x00-\x7f])|(?<=[,;:)])\s+(?=[^\x00-\x7f])", "", text)


def _entry_error(path: Path, kind: str, entry: Any, exc: ValidationError) -> SpecError:
    eid = entry.get("id") if isinstance(entry, dict) else None
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "?"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return SpecError(f"{kind} {eid!r}: field {field!r}: {msg}", file=str(path))


def _entries(path: Path, data: dict[str, Any], key: str) -> list[Any]:
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"expected a non-empty list under {key!r}", file=str(path))
    return entries


def _check_unique(path: Path, kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise SpecError(f"{kind} {i!r}: field 'id': duplicate id", file=str(path))
        seen.add(i)


def load_measure_files(folder: str | Path) -> tuple[MeasureFile, ...]:
    """Read every ``*.sql`` in ``folder`` (sorted by name) with its ``-- measure:`` declarations."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError("measures folder not found", file=str(folder))
    files: list[MeasureFile] = []
    owner: dict[str, str] = {}
    for p in sorted(folder.glob("*.sql")):
        sql = p.read_text(encoding="utf-8")
        docs: dict[str, str] = {}
        for line in sql.splitlines():
            m = MEASURE_LINE.match(line.strip())
            if m:
                name = m.group(1)
                if name in owner or name in docs:
                    other = owner.get(name, p.name)
                    raise SpecError(
                        f"measure {name!r} is declared twice (also in {other})", file=str(p)
                    )
                docs[name] = m.group(2).strip()
        if not docs:
            raise SpecError("declares no measures (add '-- measure: name: 说明' lines)", file=str(p))
        for name in docs:
            owner[name] = p.name
        files.append(MeasureFile(path=str(p), sql=sql, measures=tuple(docs), docs=docs))
    if not files:
        raise SpecError("no measure files (*.sql)", file=str(folder))
    return tuple(files)


def load_task_rules(params: str | Path | None = None) -> TaskRules:
    """Load ``<params>/tasks.yaml`` into :class:`TaskRules`."""
    path = find_params(params) / "tasks.yaml"
    data = read_yaml(path)
    rules: list[TaskRule] = []
    for entry in _entries(path, data, "rules"):
        try:
            rule = TaskRule.model_validate(entry)
        except ValidationError as exc:
            raise _entry_error(path, "task rule", entry, exc) from None
        rule = rule.model_copy(
            update={"description": render_text(rule.description, rule.substitutions())}
        )
        bad = [p for p in rule.purposes if p not in PURPOSES]
        if bad:
            raise SpecError(
                f"task rule {rule.id!r}: field 'purposes': unknown purpose {bad[0]!r}; "
                f"known: {', '.join(PURPOSES)}",
                file=str(path),
            )
        rules.append(rule)
    _check_unique(path, "task rule", [r.id for r in rules])
    return TaskRules(path=str(path), rules=tuple(rules))


def load_catalog(params: str | Path | None = None) -> Catalog:
    """Load ``<params>/indicators.yaml`` and ``<params>/measures/*.sql`` into a :class:`Catalog`.

    Checks: fields and types of every entry, unique ids, known family, numerator and denominator
    are declared measures, ``task`` names a rule of tasks.yaml (or ``all``) when that file exists.
    """
    params = find_params(params)
    path = params / "indicators.yaml"
    data = read_yaml(path)
    unknown_top = set(data) - {"settings", "families", "indicators"}
    if unknown_top:
        raise SpecError(f"unknown top-level key {sorted(unknown_top)[0]!r}", file=str(path))
    settings = data.get("settings") or {}
    families = data.get("families") or {}
    if not isinstance(settings, dict) or not isinstance(families, dict) or not families:
        raise SpecError("'settings' and 'families' must be mappings", file=str(path))
    from perfkit.metrics.effective import describe, effective_settings

    settings = effective_settings(settings, str(path))  # the 有效户 definition, defaults filled
    shown = {**settings, "effective_rule": describe(settings)}  # for ${effective_rule} in descriptions
    measure_files = load_measure_files(params / "measures")
    measures = {m for f in measure_files for m in f.measures}
    rules: TaskRules | None = None
    rule_ids: list[str] | None = None
    if (params / "tasks.yaml").exists():
        rules = load_task_rules(params)
        rule_ids = rules.ids

    indicators: list[Indicator] = []
    for entry in _entries(path, data, "indicators"):
        try:
            ind = Indicator.model_validate(entry)
        except ValidationError as exc:
            raise _entry_error(path, "indicator", entry, exc) from None
        ind = ind.model_copy(update={"description": render_text(ind.description, shown)})
        if ind.family not in families:
            raise SpecError(
                f"indicator {ind.id!r}: field 'family': unknown family {ind.family!r}; "
                f"known: {', '.join(families)}",
                file=str(path),
            )
        for fld in ("numerator", "denominator"):
            name = getattr(ind, fld)
            if name is not None and name not in measures:
                raise SpecError(
                    f"indicator {ind.id!r}: field {fld!r}: unknown measure {name!r}; "
                    f"known: {', '.join(sorted(measures))}",
                    file=str(path),
                )
        if ind.task and ind.task != ALL_TASKS and rule_ids is not None and ind.task not in rule_ids:
            raise SpecError(
                f"indicator {ind.id!r}: field 'task': unknown task rule {ind.task!r}; "
                f"known: {', '.join(rule_ids)}, {ALL_TASKS}",
                file=str(path),
            )
        indicators.append(ind)
    _check_unique(path, "indicator", [i.id for i in indicators])
    log.debug("loaded %d indicators, %d measures from %s", len(indicators), len(measures), params)
    return Catalog(
        path=str(path),
        settings=settings,
        families={str(k): str(v) for k, v in families.items()},
        indicators=tuple(indicators),
        measure_files=measure_files,
        tasks=rules,
    )


Catalog.model_rebuild()
