"""Source-system mappings (``parameters/import.yaml``): a system's headers and codes → the store's.

Real CRM and warehouse extracts use their own headers (客户号, 开户日期 …) and codes (流失原因 01/02/03,
渠道代码 …). A mapping names, per store table, the source file names, which source header fills which
store column, how source codes translate to store values, and constant defaults::

    mappings:
      hs_crm:
        description: 恒生 CRM 与数据仓库导出
        tables:
          clients:
            file_names: [客户信息]          # 客户信息.csv / 客户信息_202610.xlsx → clients
            columns: {客户号: client_id, 开户日期: open_date, 流失原因代码: lost_reason}
            codes:
              lost_reason: {"01": 销户, "02": 转托管, "03": 资产流出}
            defaults: {lead_source: 网点}   # used when the column is absent or empty
            waive: [same_branch_as_employee] # row rules this system breaks by design (transfers)

Headers already named like a store column need no entry and carry store values (codes apply only to
mapped headers). Codes must be quoted in YAML (``"01"``), or YAML reads them as numbers. Everything is
checked when the file is loaded: unknown tables and columns, two headers for one column, code values
outside the column's allowed values; errors name the file, the mapping, the table and the field.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfkit.data.schema import TABLE_BY_NAME
from perfkit.errors import MappingError, SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)

MAPPING_FILE = "import.yaml"


class TableMapping(BaseModel):
    """How one source file fills one store table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_names: tuple[str, ...] = Field(default=(), description="source file names (without extension)")
    columns: dict[str, str] = Field(default_factory=dict, description="source header → store column")
    codes: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="store column → {source code → store value}"
    )
    defaults: dict[str, str] = Field(
        default_factory=dict, description="store column → value used when absent or empty"
    )
    waive: tuple[str, ...] = Field(
        default=(), description="row rules of the table (perfkit schema) not checked for this source"
    )

    def headers_for(self, column: str) -> list[str]:
        """The source headers mapped to store ``column`` (normally one)."""
        return [h for h, c in self.columns.items() if c == column]


class SourceMapping(BaseModel):
    """One source system: a description and a :class:`TableMapping` per store table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    tables: dict[str, TableMapping]


class ImportSpec(BaseModel):
    """The whole ``import.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mappings: dict[str, SourceMapping]


def _where(loc: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """(entry, field) from a pydantic error location: ``hs_crm.tables.clients`` and ``codes.x``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "mappings":
        cut = 4 if len(parts) > 3 and parts[2] == "tables" else 2
        return ".".join(parts[1:cut]), ".".join(parts[cut:]) or None
    return None, ".".join(parts) or None


def _check(spec: ImportSpec, file: str) -> None:
    for name, m in spec.mappings.items():
        for tname, tm in m.tables.items():
            if tname not in TABLE_BY_NAME:
                raise SpecError(
                    f"unknown table {tname!r}; known tables: {', '.join(TABLE_BY_NAME)}",
                    file=file, entry=name, table=tname,
                )
            table = TABLE_BY_NAME[tname]
            known = table.column_names

            def bad_column(col: str, where: str, *, mapping=name, tname=tname, known=known) -> SpecError:
                return SpecError(
                    f"{where} names unknown column {col!r}; columns of {tname}: {', '.join(known)}",
                    file=file, entry=mapping, table=tname, field=col,
                )

            seen: dict[str, str] = {}
            for header, col in tm.columns.items():
                if col not in known:
                    raise bad_column(col, f"header {header!r}")
                if col in seen:
                    raise SpecError(
                        f"headers {seen[col]!r} and {header!r} both map to {col}",
                        file=file, entry=name, table=tname, field=col,
                    )
                seen[col] = header
            for col, codes in tm.codes.items():
                if col not in known:
                    raise bad_column(col, "codes")
                allowed = table.column(col).values
                for code, value in codes.items():
                    if allowed and value not in allowed:
                        raise SpecError(
                            f"code {code!r} maps to {value!r}, which is not allowed "
                            f"(allowed: {', '.join(allowed)})",
                            file=file, entry=name, table=tname, field=col,
                        )
            for col in tm.defaults:
                if col not in known:
                    raise bad_column(col, "defaults")
            rules = [r.name for r in table.rules]
            for rule in tm.waive:
                if rule not in rules:
                    raise SpecError(
                        f"waive names unknown rule {rule!r}; rules of {tname}: "
                        f"{', '.join(rules) or 'none'}",
                        file=file, entry=name, table=tname, field="waive",
                    )


def load_spec(params_dir: Path | None = None) -> ImportSpec:
    """Load and check ``params_dir/import.yaml``; a missing file gives an empty spec."""
    path = find_params(params_dir) / MAPPING_FILE
    data = read_yaml(path, required=False, expect="a mapping with a 'mappings' key")
    if data is None:
        log.debug("no %s; no source mappings", path)
        return ImportSpec(mappings={})
    file = str(path)
    mappings = data.get("mappings")
    if isinstance(mappings, dict):
        for key, value in mappings.items():
            if isinstance(value, dict):
                value.setdefault("name", key)
    try:
        spec = ImportSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        entry, field = _where(tuple(err["loc"]))
        hint = ""
        if isinstance(err.get("input"), int | float) and not isinstance(err.get("input"), bool):
            hint = " (quote codes and headers in YAML, e.g. \"01\", or they are read as numbers)"
        raise SpecError(f"{err['msg']}{hint}", file=file, entry=entry, field=field) from None
    _check(spec, file)
    return spec


def get_mapping(name: str, params_dir: Path | None = None) -> SourceMapping:
    """The mapping called ``name``; the error lists the mappings that exist."""
    spec = load_spec(params_dir)
    try:
        return spec.mappings[name]
    except KeyError:
        known = ", ".join(spec.mappings) or "none"
        raise MappingError(
            f"unknown mapping {name!r}; mappings in this file: {known}",
            file=str(find_params(params_dir) / MAPPING_FILE),
        ) from None
