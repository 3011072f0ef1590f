"""Spreadsheet files that cannot run: every CSV and Excel file perfkit writes goes through here.

A cell whose text a spreadsheet would evaluate — it starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return (the OWASP rule for CSV injection) — is written with a leading apostrophe
(``'=HYPERLINK(…)``), which Excel and WPS show as text; ``-12.5`` or ``+86`` that are numbers stay
as they are, and numeric columns stay numbers. Excel cells holding text are written as strings,
never as formulas. :func:`looks_like_formula` is what the import warns about.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d+)?|\.\d+)([eE][+-]?\d+)?%?$")


def looks_like_formula(text: Any) -> bool:
    """Whether a spreadsheet would evaluate ``text`` (a string starting with a trigger that is not
    simply a signed number)."""
    if not isinstance(text, str) or not text.startswith(TRIGGERS):
        return False
    return not (text[0] in "+-" and len(text) > 1 and _NUMBER.match(text) is not None)


def neutralise(value: Any) -> Any:
    """``value`` as a spreadsheet may safely read it: a formula-like string gets a leading
    apostrophe; everything else is returned unchanged."""
    return "'" + value if looks_like_formula(value) else value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell neutralised (and the column names); numbers untouched."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "category"):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def frame_csv(df: pd.DataFrame, *, index: bool = False) -> str:
    """``df`` as CSV text with its cells neutralised; lines end in CRLF (what Excel writes), so a
    cell holding a carriage return is quoted and cannot start a row of its own."""
    return safe_frame(df).to_csv(index=index, lineterminator="\r\n")


def safe_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for :class:`csv.DictWriter`, every value neutralised."""
    return [{k: neutralise(v) for k, v in row.items()} for row in rows]


def write_xlsx(frames: Mapping[str, pd.DataFrame], path: str | os.PathLike) -> None:
    """Write ``frames`` (title → frame) as one sheet each of the workbook ``path``: text cells
    neutralised and typed as strings, so no cell is ever a formula."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for title, df in frames.items():
            sheet = neutralise(title)[:31].replace("'", "")
            safe_frame(df).to_excel(xw, sheet_name=sheet or "sheet", index=False)
            for row in xw.sheets[sheet or "sheet"].iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
