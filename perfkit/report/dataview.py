"""Tables drawn in the browser from JSON: long tables, and tables that share their rows.

A report page holds many tables that repeat each other's rows — the task list behind each of an
employee's indicators (one task backs several indicators), one ranking of the branches per
indicator of a family (the branch names in every one), a branch's employees picked one at a time.
Shipped as markup, every copy costs the kernel, papermill, the export and the browser. Here the
rows of such tables go into one **data set** per group — a ``<script type="application/json"
class="perfkit-set">`` of display strings, sent once — and each table is a **view**: a
``<div class="perfkit-view">`` naming the set, its rows and its columns, which perfkit's page script
(``templates/perfkit_report/perfkit.js``) turns into a ``<table class="perfkit-table">`` when it
is first shown (a hidden drill-down page when it is picked), setting every cell with ``textContent`` (data is never parsed as
markup). Tables of more than :data:`LONG_TABLE` rows get a filter box and sortable headers there.

Viewed live in JupyterLab (no page script) a view shows a one-line note instead of its rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from html import escape
from typing import Any

from perfkit.formatting import DASH, MINUS, format_number
from perfkit.report.page import script_json

#: rows: a longer table is drawn by the page script from JSON, with a filter box and sortable headers
LONG_TABLE = 30

_IDS = itertools.count(1)

Formatter = str | Callable[[Any], str]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def format_cell(value: Any, fmt: Formatter | None = None) -> str:
    """Text (not yet escaped) of one table cell.

    Missing (None, NaN, NaT, pd.NA) → "—". ``fmt`` is a callable, or a spec: a Python format spec
    for a number (",.2f", ".1%", ",d") with U+2212 for negatives, or "pct1"-style shorthand
    ("pct" = 0 decimals, "pct2" = 2) for ratios stored as fractions. Without ``fmt``: integers with
    thousands separators, floats with 2 decimals, dates as YYYY-MM-DD, anything else ``str()``.
    """
    if callable(fmt):
        return fmt(value)
    if _is_missing(value):
        return DASH
    if isinstance(value, bool):
        return "是" if value else "否"
    if _is_number(value):
        if isinstance(fmt, str) and fmt.startswith("pct"):
            return format_number(value, int(fmt[3:] or 0), percent=True)
        if fmt:
            return _format_spec(value, fmt)
        return format_number(value, 0 if _is_integer(value) else 2)
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _format_spec(value: Any, spec: str) -> str:
    """Format a number with a Python format spec, writing U+2212 for negatives (never "−0")."""
    number = float(value)
    if math.isinf(number):
        return DASH
    integral = spec.endswith("d")
    text = format(int(round(abs(number))) if integral else abs(number), spec)
    zero = format(0 if integral else 0.0, spec)
    # a "+" spec signs the positive values; a negative one gets U+2212 instead, not "−+"
    return MINUS + text.removeprefix("+") if number < 0 and text != zero else text


def _is_number(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, np.integer))


def column_texts(values: Any, fmt: Formatter | None = None) -> list[str]:
    """The display text of every value of one column (a Series or array), as
    :func:`perfkit.report.widgets.format_cell` writes them, column by column (several times faster
    than cell by cell)."""
    import numpy as np
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if fmt is not None:
        return [format_cell(v, fmt) for v in series.tolist()]
    kind = series.dtype.kind
    if kind == "b":
        return ["是" if v else "否" for v in series.tolist()]
    if kind in "iu":
        return [format_number(v, 0) for v in series.tolist()]
    if kind == "f":
        return [format_number(v, 2) for v in series.tolist()]
    if kind == "M":  # a date at midnight as YYYY-MM-DD, else with the time (as format_cell)
        times = series.dt
        midnight = ((times.hour == 0) & (times.minute == 0) & (times.second == 0)).tolist()
        day, minute = times.strftime("%Y-%m-%d").tolist(), times.strftime("%Y-%m-%d %H:%M").tolist()
        return [DASH if not isinstance(d, str) else d if m else t
                for d, t, m in zip(day, minute, midnight, strict=True)]
    missing = series.isna().to_numpy()
    out = []
    for v, m in zip(series.tolist(), missing, strict=True):
        if m:
            out.append(DASH)
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            out.append(format_cell(v))
        else:
            out.append(format_number(v, 0 if isinstance(v, (int, np.integer)) else 2))
    return out


def is_numeric(values: Any) -> bool:
    """Whether a column is numbers (right-aligned)."""
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    return kind in "iufc"


def _ranges(indices: Sequence[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` → ``"0-2,5,7-8"`` (perfkit.js reads both forms)."""
    parts: list[str] = []
    run_start = prev = None
    for i in indices:
        if prev is not None and i == prev + 1:
            prev = i
            continue
        if run_start is not None:
            parts.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
        run_start = prev = i
    if run_start is not None:
        parts.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
    return ",".join(parts)


def _encode(column: list[str | None]) -> list[str] | dict[str, list[Any]]:
    """A column as its strings, or as distinct strings and an index per row when that is shorter."""
    values = [v or "" for v in column]
    distinct: dict[str, int] = {}
    index = [distinct.setdefault(v, len(distinct)) for v in values]
    if len(values) < 8 or len(distinct) * 2 > len(values):
        return values
    return {"d": list(distinct), "i": index}


class DataSet:
    """Rows of display strings shared by several views of one page (see the module docstring).

    :meth:`add` puts a frame's rows in (a row is identified by its key: the same key in two frames
    is one row) and its columns (a column of the same name whose values agree on every shared row
    is reused) and returns the view of that frame; :meth:`markup` is the JSON, to be shown once
    on the page, anywhere (:func:`shared_tables` puts it before the first view)."""

    def __init__(self) -> None:
        self.id = f"pk{next(_IDS)}"
        self.names: list[str] = []
        self.numeric: list[bool] = []
        self.cells: list[list[str | None]] = []  # column-major
        self.keys: dict[Hashable, int] = {}

    def _row(self, key: Hashable) -> int:
        row = self.keys.get(key)
        if row is None:
            row = self.keys[key] = len(self.keys)
            for col in self.cells:
                col.append(None)
        return row

    def _column(self, name: str, numeric: bool, rows: list[int], texts: list[str]) -> int:
        for c, existing in enumerate(self.names):
            if existing != name or self.numeric[c] != numeric:
                continue
            cells = self.cells[c]
            if all(cells[r] is None or cells[r] == t for r, t in zip(rows, texts, strict=True)):
                break
        else:
            c = len(self.names)
            self.names.append(name)
            self.numeric.append(numeric)
            self.cells.append([None] * len(self.keys))
        cells = self.cells[c]
        for r, t in zip(rows, texts, strict=True):
            cells[r] = t
        return c

    def add(self, frame: Any, *, keys: Sequence[Hashable] | None = None,
            formats: Mapping[str, Formatter] | None = None) -> tuple[list[int], list[int]]:
        """Add ``frame``'s rows (keyed by ``keys``, default the frame's index) and columns; returns
        (row indices in the frame's order, column indices)."""
        formats = dict(formats or {})
        key_list = list(frame.index) if keys is None else list(keys)
        rows = [self._row(k) for k in key_list]
        cols = [self._column(str(name), is_numeric(values), rows,
                             column_texts(values, formats.get(str(name))))
                for name, values in frame.items()]
        return rows, cols

    def markup(self) -> str:
        """The set as a ``<script type="application/json">`` block: ``{"c": column names, "n": 1 per
        right-aligned column, "v": the columns}``, a column being its list of strings or, when it
        repeats itself (task names, statuses, dates), ``{"d": distinct strings, "i": an index into
        them per row}``. Nothing in it can close the block: ``</`` and ``<!`` are escaped."""
        text = script_json({"c": self.names, "n": [int(n) for n in self.numeric],
                            "v": [_encode(col) for col in self.cells]})
        return f'<script type="application/json" class="perfkit-set" data-id="{self.id}">{text}</script>'

    def view(self, rows: Sequence[int], cols: Sequence[int], *, css_class: str = "",
             caption: str | None = None) -> str:
        """A view of ``rows`` × ``cols`` of this set (drawn by the page script)."""
        attrs = [f'class="perfkit-view" data-set="{self.id}"', f'data-rows="{_ranges(rows)}"',
                 f'data-cols="{_ranges(cols)}"']
        if css_class:
            attrs.append(f'data-class="{escape(css_class, quote=True)}"')
        if caption:
            attrs.append(f'data-caption="{escape(caption, quote=True)}"')
        note = f"表格（{len(rows):,} 行）在导出的 HTML 报告中显示。"
        return f'<div {" ".join(attrs)}><p class="perfkit-fallback">{note}</p></div>'


def shared_tables(frames: Sequence[Any], *, keys: Sequence[Sequence[Hashable]] | None = None,
                  formats: Mapping[str, Formatter] | None = None, max_rows: int | None = None,
                  totals: Sequence[int] | None = None, css_class: str = "",
                  caption: str | None = None) -> list[str]:
    """One view markup per frame, all sharing one data set; the first carries the set, so every
    returned piece must be shown (a drill-down keeps it shown: :func:`perfkit.report.widgets.drilldown`).
    ``keys`` (one sequence per frame, default each frame's index) identify rows across frames;
    ``max_rows`` keeps the first rows of each frame, with a note of how many were left out;
    ``totals``: how many rows each frame stands for when the caller cut it already (the note
    counts from them)."""
    data = DataSet()
    pieces = []
    for i, frame in enumerate(frames):
        shown = frame if max_rows is None else frame.iloc[:max_rows]
        frame_keys = None if keys is None else list(keys[i])[: len(shown)]
        rows, cols = data.add(shown, keys=frame_keys, formats=formats)
        piece = data.view(rows, cols, css_class=css_class, caption=caption)
        total = len(frame) if totals is None else totals[i]
        if len(shown) < total:
            piece += f'<div class="perfkit-note">另有 {total - len(shown):,} 行未显示</div>'
        pieces.append(piece)
    if pieces:
        pieces[0] = data.markup() + pieces[0]
    return pieces
