"""What every role report shares: the month, the store, the parameters and where its data comes from.

A report class loads its data once (through :func:`perfkit.month.sources.source`: the public API,
or its own slice of the month snapshot in the batch, or the published version of a published
month) and offers one method per section; a notebook displays them in order. Every drill-down is
pre-computed and switched in the browser (:func:`perfkit.report.widgets.drilldown`), so the exported
HTML needs no kernel.

Scoping is a security rule and lives in the report classes: a report only loads what its role may
see. The company report knows branches, never employees (also in the change list of a revised
published month: the company's and the branches' figures only); a branch report knows its own
employees and the company aggregate; an employee report knows only that employee and his clients,
masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from perfkit.data.store import StoreLike, default_db
from perfkit.errors import RequestError
from perfkit.metrics.catalog import Catalog, find_params, load_catalog
from perfkit.month.frozen import params_of
from perfkit.month.published import latest
from perfkit.month.sources import source
from perfkit.report.sections import indicator_notes, publication_note, task_notes
from perfkit.report.widgets import Page


def require_rows(rows: pd.DataFrame, what: str) -> None:
    """RequestError ``no data for <what>`` when ``rows`` is empty (an entity the month lacks)."""
    if rows.empty:
        raise RequestError(f"no data for {what}")


@dataclass
class Report:
    """The base of the role reports (:class:`~perfkit.report.company.CompanyReport`,
    :class:`~perfkit.report.branch.BranchReport`, :class:`~perfkit.report.employee.EmployeeReport`)."""

    month: str
    db: StoreLike | None = None
    #: the parameters folder; for a published month the one it was published with
    #: (:mod:`perfkit.month.frozen`), whatever is given
    params: str | Path | None = None
    #: a month snapshot folder (:mod:`perfkit.month.sources`) to read this report's slice from; None:
    #: ``$PERFKIT_SNAPSHOT`` when set, else everything is computed from the store
    snapshot: str | Path | None = field(default=None, kw_only=True)
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        if self.db is None:
            self.db = default_db()
        # a published month: the parameters it was published with, whatever the files say now
        pub = latest(self.db, self.month)
        self.params = params_of(self.db, pub, find_params(self.params))
        self.catalog = load_catalog(self.params)
        self.data = source(self.db, self.month, self.params, self.snapshot, publication=pub)

    def indicator_notes(self) -> Page:
        return indicator_notes(self.catalog)

    def publication(self) -> Page:
        """发布状态: the published version this report shows ("已发布 v1 · … 由 … 发布"); for a
        revision ("修订版 v2") its reason and what changed against the previous version — only
        the rows this report's reader may see."""
        return publication_note(self.db, self.month, self.data.publication, **self._reader())

    def _reader(self) -> dict[str, Any]:
        """Whose rows of the published changes this report may show (company: the company's and
        the branches', never an employee's)."""
        return {"above_employees": True}

    def task_notes(self) -> Page:
        return task_notes(self.catalog)
