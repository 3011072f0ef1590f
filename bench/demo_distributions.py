"""What the default parameters make of a demo store: level decisions, grades, stars, attainment.

    .venv/bin/python bench/demo_distributions.py                      # data/crm.duckdb, latest month
    .venv/bin/python bench/demo_distributions.py --seeds 1 2 3        # default-size stores of other seeds

One row per store: the level review (``perfkit levels``: 晋级 / 维持 / 降级 / 未达维持标准 /
试用期未达标 and the share demoted or below the maintain standard), the grades and stars of
``perfkit scores`` (employees; 不参评 counted apart), the median composite, and the median attainment (完成率: value ÷
target, target ÷ value when lower is better) over every employee × indicator scored against its
target (the scorecard's attainment, linear and band indicators with a target above 0; percentile
indicators and shown-only ones left out). ``--seeds`` builds each store in a temporary folder with
``perfkit demo``'s default sizes (about 30 s each). README.md reports the figures.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import perfkit
from perfkit.appraisal.levels import level_review
from perfkit.data.store import resolve_month

DECISIONS = ["晋级", "维持", "降级", "未达维持标准", "试用期未达标"]


def attainment_median(db: str | Path, month: str, params: str | Path | None = None) -> float:
    """Median 完成率 (1.0 = 100 %) of every employee × indicator scored against its target."""
    card = perfkit.load_scorecard(params)
    scored = {spec.id for _, spec in card.indicator_specs() if spec.method != "percentile"}
    ind = perfkit.indicators(db, month, "employee", params=params)
    ind = ind[ind["indicator_id"].isin(scored) & (ind["target"] > 0) & ind["value"].notna()]
    with np.errstate(divide="ignore"):
        ratio = np.where(ind["higher_is_better"], ind["value"] / ind["target"], ind["target"] / ind["value"])
    return float(np.median(ratio))


def distributions(db: str | Path, month: str = "latest", params: str | Path | None = None) -> dict:
    """The figures of one store (see the module docstring)."""
    month = resolve_month(db, month)
    summary, _ = level_review(db, month, params=params)
    rec = summary["recommendation"].value_counts()
    scores = perfkit.scores(db, month, "employee", params=params)
    card = perfkit.load_scorecard(params)
    row = {"month": month, "reviewed": len(summary)}
    row.update({d: int(rec.get(d, 0)) for d in DECISIONS})
    row["below %"] = round(100 * (row["降级"] + row["未达维持标准"]) / max(len(summary), 1), 1)
    grades = scores["grade"].value_counts()
    row.update({b.label: int(grades.get(b.label, 0)) for b in card.bands})
    if "scored" in scores:  # 不参评: appraised, no client this month (scorecard.yaml appraised)
        row["不参评"] = int((~scores["scored"].astype(bool)).sum())
    stars = scores["stars"].value_counts()
    row["stars 5…1"] = "/".join(str(int(stars.get(k, 0))) for k in (5, 4, 3, 2, 1))
    row["composite median"] = round(float(scores["composite"].median()), 1)
    row["attainment median %"] = round(100 * attainment_median(db, month, params), 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="data/crm.duckdb")
    ap.add_argument("--month", default="latest")
    ap.add_argument("--params", default=None)
    ap.add_argument("--seeds", type=int, nargs="*", default=None, help="build default-size stores of these seeds")
    args = ap.parse_args()
    logging.disable(logging.INFO)
    rows = {}
    if args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                db = Path(tmp) / f"seed{seed}.duckdb"
                perfkit.generate_demo(db, seed=seed)
                rows[f"seed {seed}"] = distributions(db, args.month, args.params)
    else:
        rows[args.db] = distributions(args.db, args.month, args.params)
    table = pd.DataFrame(rows)
    print("| | " + " | ".join(table.columns) + " |")
    print("|---|" + "---:|" * len(table.columns))
    for name, values in table.iterrows():
        print(f"| {name} | " + " | ".join(str(v) for v in values) + " |")


if __name__ == "__main__":
    main()
