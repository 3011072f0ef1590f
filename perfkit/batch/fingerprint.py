"""Input fingerprints: what a report depends on, hashed, so a rerun can skip what has not changed.

A job's fingerprint is the sha256 of: the role notebook's bytes, every parameters file (except
``run.yaml``, which only says *what* to render), the store's content relevant to the month, the perfkit
version, and the job's own papermill parameters (without the store, parameters and snapshot paths —
their *contents* are already covered).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import duckdb

from perfkit.batch.config import RUN_FILE
from perfkit.schema import TABLES

PARAMETER_SUFFIXES = (".yaml", ".yml", ".sql", ".csv", ".json")
# Parameters files that never change what a report shows: the run matrix and import mappings.
NOT_REPORT_INPUTS = (RUN_FILE, "import.yaml")

# Rows of each table a report of month M can depend on ($month = 'YYYY-MM', $last = the month's
# last day, $half = half-year period 'YYYYH1|2'). Tables not listed count whole.
MONTH_FILTERS: dict[str, str] = {
    "clients": "lead_date <= $last",
    "client_months": "month <= $month",
    "contacts": "contact_time < $last + INTERVAL 1 DAY",
    "risk_assessments": "assessed_on <= $last",
    "surveys": "survey_date <= $last",
    "reviews": "period <= $half",
    "incidents": "incident_date <= $last",
    "market": "month <= $month",
}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_json(value: object) -> str:
    """Hex sha256 of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def perfkit_fingerprint() -> str:
    """``<version>+<12 hex>``: the installed perfkit version plus a digest of its source files
    (modules, templates, fonts …; not ``perfkit/batch/``, which does not shape report content), so
    that editing indicator or view code makes reports rerun even without a version bump."""
    import perfkit

    try:
        from importlib.metadata import version

        ver = version("perfkit")
    except Exception:  # noqa: BLE001 - running from a checkout that is not installed
        ver = "unknown"
    root = Path(perfkit.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] != "batch" and "__pycache__" not in rel.parts \
                and p.suffix not in (".pyc", ".tmp"):
            h.update(rel.as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return f"{ver}+{h.hexdigest()[:12]}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``'YYYY-MM'``."""
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def parameter_files(params: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every parameters file that shapes report content.

    ``run.yaml`` and ``import.yaml`` are left out: they say what to render and how to import, not
    what a report shows. Hidden files and
    editor back-ups are ignored. A missing folder gives an empty mapping.
    """
    root = Path(params)
    if not root.is_dir():
        return {}
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if (
            p.is_file()
            and p.suffix.lower() in PARAMETER_SUFFIXES
            and rel not in NOT_REPORT_INPUTS
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ):
            out[rel] = sha256_file(p)
    return out


def store_fingerprint(con: duckdb.DuckDBPyConnection, month: str, *,
                      publications: bool = True) -> str:
    """sha256 over (row count, order-independent row hash) of each table, restricted to the rows a
    report of ``month`` can see (:data:`MONTH_FILTERS`). One aggregate query per table; data of later
    months does not change it. With ``publications`` the month's published versions count too
    (a report of a published month shows its latest version: a new one must re-render it)."""
    first, last = month_bounds(month)
    half = f"{first.year}H{1 if first.month <= 6 else 2}"
    values: dict[str, object] = {"month": month, "last": last, "half": half}
    sums: dict[str, list[int]] = {}
    for t in TABLES:
        where = MONTH_FILTERS.get(t.name)
        sql = f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {t.name} AS t"
        args: dict[str, object] = {}
        if where:
            sql += f" WHERE {where}"
            # DuckDB wants exactly the parameters the statement uses
            args = {k: v for k, v in values.items() if f"${k}" in where}
        n, h = con.execute(sql, args).fetchone()
        sums[t.name] = [int(n), int(h)]
    if publications:
        n, h = con.execute(
            "SELECT count(*), coalesce(sum(hash(month, version, fingerprint, published_at)), 0) "
            "FROM publications WHERE month = ?", [month]).fetchone()
        if n:  # unpublished months keep the fingerprint they had before publications existed
            sums["publications"] = [int(n), int(h)]
    return sha256_json(sums)


def job_fingerprint(
    *,
    notebook_sha: str,
    params_files: dict[str, str],
    store_sha: str,
    version: str,
    parameters: dict[str, object],
) -> str:
    """The combined input fingerprint of one job (see the module docstring)."""
    own = {k: v for k, v in parameters.items() if k not in ("db", "params", "snapshot")}
    return sha256_json(
        {
            "notebook": notebook_sha,
            "parameters_files": params_files,
            "store": store_sha,
            "perfkit": version,
            "parameters": own,
        }
    )
