"""Derive scorecard weights from judgements (notebooks/weights.ipynb): no code needed by analysts.

* :func:`read_matrix` — a pairwise comparison matrix from CSV / Excel (first row and first column
  hold the item ids) or from a nested list.
* :func:`compare_methods` — the weights of every method side by side: AHP (eigenvector), the
  fuzzy-consistent matrix made from the same judgements (:func:`saaty_to_fuzzy`), the expert
  survey when answers are given, and equal weights for reference.
* :func:`percent_weights` — weights as percentages with one decimal that add up to exactly 100.
* :func:`scorecard_snippet` / :func:`write_scorecard` — the chosen weights as the exact YAML of the
  family in parameters/scorecard.yaml, or a whole scorecard file written to a path you choose
  (validated before it is written; comments are not kept, so prefer the snippet for hand edits).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from perfkit.appraisal import weights as W
from perfkit.appraisal.spec import catalog_info, validate_scorecard
from perfkit.errors import SpecError
from perfkit.files import read_yaml
from perfkit.projectfile import find_params

log = logging.getLogger(__name__)


def read_matrix(source: str | Path | Sequence[Sequence[float]] | pd.DataFrame,
                items: Sequence[str] | None = None) -> pd.DataFrame:
    """A square comparison matrix as a DataFrame indexed and labelled by item id.

    ``source``: a CSV / .xlsx file (first row and first column = item ids; cells may be fractions
    such as ``1/3``), a DataFrame, or a nested list with ``items`` naming its rows.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise SpecError(f"read_matrix: file not found: {path}")
        raw = (pd.read_excel(path, index_col=0, dtype=str) if path.suffix in (".xlsx", ".xlsm")
               else pd.read_csv(path, index_col=0, dtype=str))
        df = raw.map(lambda x: _number(x, path))
        df.index = [str(i).strip() for i in df.index]
        df.columns = [str(c).strip() for c in df.columns]
    elif isinstance(source, pd.DataFrame):
        df = source.astype(float)
    else:
        m = np.asarray(source, dtype="float64")
        names = list(items) if items is not None else [f"item{i + 1}" for i in range(len(m))]
        if m.ndim != 2 or m.shape[0] != len(names):
            raise SpecError(f"read_matrix: {len(names)} items but a matrix of shape {m.shape}")
        df = pd.DataFrame(m, index=names, columns=names)
    if list(df.index) != list(df.columns):
        raise SpecError("read_matrix: the first row and the first column must list the same items "
                        f"in the same order; rows {list(df.index)}, columns {list(df.columns)}")
    return df


def _number(x: Any, path: Path) -> float:
    s = str(x).strip()
    try:
        if "/" in s:
            a, b = s.split("/", 1)
            return float(a) / float(b)
        return float(s)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"read_matrix: {path}: {s!r} is not a number or fraction") from None


def saaty_to_fuzzy(matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """A Saaty 1–9 reciprocal matrix as a fuzzy complementary one: ``f_ij = 0.5 + log_81(a_ij)``
    (9 → 1, 1 → 0.5, 1/9 → 0), so f_ij + f_ji = 1; judgements beyond 9 are capped at 0 / 1."""
    a = np.asarray(matrix, dtype="float64")
    if (a <= 0).any():
        raise SpecError("saaty_to_fuzzy: matrix entries must be > 0")
    return np.clip(0.5 + np.log(a) / math.log(81), 0.0, 1.0)


def compare_methods(matrix: pd.DataFrame, experts: Sequence[Sequence[Any]] | None = None,
                    a: float | None = None) -> tuple[pd.DataFrame, W.AHPResult]:
    """Weights by every method side by side (one row per item) and the AHP diagnostics.

    Columns: ahp, fuzzy_consistent (from :func:`saaty_to_fuzzy` of the same matrix, then
    :func:`perfkit.appraisal.weights.fuzzy_consistent_matrix` and weights with ``a``), expert (when
    ``experts`` answers are given: experts × items, grades or numbers) and equal."""
    ahp = W.ahp_weights(matrix.to_numpy())
    r = W.fuzzy_consistent_matrix(saaty_to_fuzzy(matrix.to_numpy()))
    out = pd.DataFrame({"ahp": ahp.weights, "fuzzy_consistent": W.fuzzy_consistent_weights(r, a)},
                       index=matrix.index)
    if experts is not None:
        out["expert"] = W.expert_weights(experts)
    out["equal"] = 1.0 / len(out)
    out.index.name = "item"
    return out, ahp


def percent_weights(weights: Mapping[str, float] | pd.Series) -> dict[str, float]:
    """Weights (any positive scale) as percentages with one decimal summing to exactly 100
    (largest remainder)."""
    s = pd.Series(weights, dtype="float64")
    if s.empty or (s < 0).any() or s.sum() <= 0:
        raise SpecError(f"percent_weights: weights must be ≥ 0 with a positive sum; got {dict(s)}")
    tenths = s / s.sum() * 1000
    base = np.floor(tenths + 1e-9)
    short = int(round(1000 - base.sum()))
    order = (tenths - base).sort_values(ascending=False, kind="stable").index[:short]
    base[order] += 1
    return {k: float(v) / 10 for k, v in base.items()}


def _family(raw: dict[str, Any], family: str, file: str) -> dict[str, Any]:
    fams = raw.get("families") or {}
    if family not in fams:
        raise SpecError(f"{file}: no family {family!r}; families: {', '.join(fams)}")
    return fams[family]


def set_family_weights(raw: dict[str, Any], family: str, weights: Mapping[str, float],
                       file: str = "scorecard.yaml") -> dict[str, Any]:
    """A copy of the parsed scorecard with ``family``'s indicator weights replaced by
    :func:`percent_weights` of ``weights`` (keys = exactly the family's indicator ids)."""
    import copy

    out = copy.deepcopy(raw)
    fam = _family(out, family, file)
    ids = [i["id"] for i in fam["indicators"]]
    if set(weights) != set(ids):
        missing, extra = sorted(set(ids) - set(weights)), sorted(set(weights) - set(ids))
        raise SpecError(f"{file}: family {family!r} scores {', '.join(ids)}; weights given for "
                        f"{', '.join(weights)} (missing: {', '.join(missing) or '—'}; unknown: "
                        f"{', '.join(extra) or '—'})")
    pct = percent_weights(weights)
    for ind in fam["indicators"]:
        w = pct[ind["id"]]
        ind["weight"] = int(w) if w == int(w) else w
    return out


def scorecard_snippet(params: str | Path, family: str, weights: Mapping[str, float]) -> str:
    """The exact YAML of ``family`` under ``families:`` with the new weights, to paste over the
    family's block in parameters/scorecard.yaml."""
    path = find_params(params) / "scorecard.yaml"
    raw = read_yaml(path)
    new = set_family_weights(raw, family, weights, str(path))
    fam = new["families"][family]
    lines = [f"  {family}:"]
    for k, v in fam.items():
        if k != "indicators":
            lines.append(f"    {k}: {_flow(v)}")
    lines.append("    indicators:")
    lines += [f"      - {_flow(ind)}" for ind in fam["indicators"]]
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, sort_keys=False,
                          width=1000).strip()
    return text[:-3].strip() if text.endswith("\n...") else text  # a scalar's end-of-document mark


def write_scorecard(params: str | Path, family: str, weights: Mapping[str, float],
                    out: str | Path) -> Path:
    """Write a whole scorecard YAML to ``out`` with ``family``'s weights replaced, after
    validating it like ``perfkit check`` would (the error names file, entry and field)."""
    path = find_params(params) / "scorecard.yaml"
    raw = read_yaml(path)
    new = set_family_weights(raw, family, weights, str(path))
    _, problems = validate_scorecard(new, catalog_info(params), file=str(out))
    if problems:
        raise problems[0]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("# written by perfkit.appraisal.derive.write_scorecard (weights.ipynb)\n"
                   + yaml.safe_dump(new, allow_unicode=True, sort_keys=False, width=100),
                   encoding="utf-8")
    tmp.replace(out)
    log.info("wrote %s (family %s: %s)", out, family, percent_weights(weights))
    return out
