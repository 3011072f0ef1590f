"""Benchmark of report size and time to interactive: the company report of a 460-branch store, a
branch with 150 employees and the demo's busiest employee (self-contained and with shared assets),
opened offline in Debian's Chromium.

    .venv/bin/python bench/bench_views.py [--company-db data/bench-460-branches.duckdb]
        [--branch-db data/bench-150-employees.duckdb] [--db data/crm.duckdb] [--out DIR] [--runs 3]

The two large stores are built by `perfkit demo` when missing (``data/`` is git-ignored):
``--branches 460 --employees 6000 --clients 300000`` (about 40 s) and ``--branches 2 --employees
300`` (two branches of about 150 employees). Each report is rendered with `perfkit render`
(computed from the store), then opened ``--runs`` times in Chromium with no network and no CJK
font; **time to interactive** is the median time from navigation until every widget view is
rendered and the page has been quiet (no DOM change, no long task) for half a second, taken as the
end of the last DOM change or long task. Sizes are split into the widget manager, the widget state,
the font subset, the CSS and the rest (packed parts are counted as they are in the file).
Budgets (issue 18): the company at 460 branches and the 150-employee branch at most 3 MB and
interactive in under 2 s; the employee report at most 1.2 MB self-contained, 400 KB with shared
assets. Prints Markdown for bench/README.md and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from perfkit.batch.render import render
from perfkit.data.store import default_db, open_store

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("PERFKIT_CHROMIUM", "/usr/bin/chromium"))
BUDGETS = {"company": (3_000_000, 2000), "branch": (3_000_000, 2000),
           "employee": (1_200_000, None), "employee, shared assets": (400_000, None)}
STORES = {"company": {"branches": 460, "employees": 6000, "clients": 300_000},
          "branch": {"branches": 2, "employees": 300, "clients": 60_000}}

# every widget view rendered, then quiet: the time of the last DOM change or long task
_WATCH = """window.__pkLast = 0;
new MutationObserver(() => { window.__pkLast = performance.now(); })
  .observe(document, {childList: true, subtree: true, attributes: true});
new PerformanceObserver(l => l.getEntries().forEach(e => {
  window.__pkLast = Math.max(window.__pkLast, e.startTime + e.duration); }))
  .observe({type: 'longtask', buffered: true});"""
_RENDERED = """() => { const v = document.querySelectorAll(
  'script[type="application/vnd.jupyter.widget-view+json"]').length;
  return v > 0 && document.querySelectorAll('.jp-OutputArea-output > .widget-subarea').length === v; }"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def store(path: Path, kind: str) -> Path:
    if not path.exists():
        from perfkit.data.demo import generate

        print(f"building {path} ({kind}) …", file=sys.stderr)
        generate(path, **STORES[kind], months=13, end_month="2026-10", seed=20261031)
    return path


def breakdown(path: Path) -> dict[str, int]:
    """Bytes of the page by part: widget manager, widget state, font, CSS, the rest."""
    text = path.read_text(encoding="utf-8")
    parts = {"widget manager": 0}
    for m in re.finditer(r"<script>.*?</script>", text, re.S):  # inlined as it is (before 18)
        if len(m.group(0)) > 100_000:
            parts["widget manager"] += len(m.group(0).encode())
            text = text.replace(m.group(0), "")
    patterns = {
        "widget manager": r'<script type="application/x-perfkit-gzip" data-perfkit="widgets">.*?'
                          r"</script>",
        "widget state": r'<script type="application/x-perfkit-gzip" data-perfkit="state">.*?'
                        r'</script>|<script type="application/vnd.jupyter.widget-state\+json">.*?'
                        r"</script>",
        "font": r"@font-face ?\{[^}]*\}",
        "CSS": r'<script type="application/x-perfkit-gzip" data-perfkit="css">.*?</script>|'
               r"<style[^>]*>.*?</style>",
    }
    for name, pattern in patterns.items():
        found = re.findall(pattern, text, re.S)
        parts[name] = parts.get(name, 0) + sum(len(f.encode()) for f in found)
        text = re.sub(pattern, "", text, flags=re.S)
    parts["rest"] = len(text.encode())
    return parts


def tti(pages: list[Path], runs: int) -> dict[Path, list[float]]:
    """Milliseconds to interactive of each page, ``runs`` times (a fresh page each time)."""
    from playwright.sync_api import sync_playwright

    out: dict[Path, list[float]] = {p: [] for p in pages}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        conf = Path(tmp) / "fonts.conf"  # Latin fonts only: Chinese comes from the page's font
        conf.write_text('<?xml version="1.0"?><fontconfig><dir>/usr/share/fonts/truetype/dejavu'
                        f"</dir><cachedir>{tmp}/cache</cachedir></fontconfig>", encoding="utf-8")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu"],
                                     env={**os.environ, "FONTCONFIG_FILE": str(conf),
                                          "HOME": tmp})
        try:
            for _ in range(runs):
                for path in pages:
                    page = browser.new_page(viewport={"width": 1100, "height": 900})
                    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                        ("file:", "data:")) else r.abort())
                    page.add_init_script(_WATCH)
                    page.goto(path.resolve().as_uri(), wait_until="load")
                    page.wait_for_function(_RENDERED, timeout=60_000, polling=20)
                    page.wait_for_function("() => performance.now() - window.__pkLast > 500",
                                           timeout=60_000, polling=50)
                    out[path].append(float(page.evaluate("window.__pkLast")))
                    page.close()
        finally:
            browser.close()
    return out


def busiest(db: Path, month: str, *, role: str) -> str:
    """The employee with the most clients, or the branch with the most employees, in ``month``."""
    con = open_store(db)
    try:
        if role == "employee":
            sql = ("SELECT employee_id FROM client_months WHERE month = ? GROUP BY employee_id "
                   "ORDER BY count(*) DESC, employee_id LIMIT 1")
        else:
            sql = ("SELECT branch_id FROM client_months JOIN employees USING (employee_id) "
                   "WHERE month = ? GROUP BY branch_id ORDER BY count(DISTINCT employee_id) DESC, "
                   "branch_id LIMIT 1")
        return con.execute(sql, [month]).fetchone()[0]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--company-db", type=Path, default=ROOT / "data" / "bench-460-branches.duckdb")
    ap.add_argument("--branch-db", type=Path, default=ROOT / "data" / "bench-150-employees.duckdb")
    ap.add_argument("--db", type=Path, default=default_db(), help="the demo store")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    loads = [("start", load())]
    with tempfile.TemporaryDirectory(prefix="bench-views-") as tmp:
        out = args.out or Path(tmp)
        emp = busiest(args.db, args.month, role="employee")
        branch_db = store(args.branch_db, "branch")
        branch = busiest(branch_db, args.month, role="branch")
        con = open_store(branch_db)
        staff = con.execute("SELECT count(*) FROM employees WHERE branch_id = ? AND (leave_date IS "
                            "NULL OR strftime(leave_date, '%Y-%m') >= ?)",
                            [branch, args.month]).fetchone()[0]
        con.close()
        company_db = store(args.company_db, "company")
        con = open_store(company_db)
        n_branches = con.execute("SELECT count(*) FROM branches").fetchone()[0]
        con.close()
        reports = {
            "company": (f"company, {n_branches} branches", company_db, "company", None, "inline"),
            "branch": (f"branch {branch}, {staff} employees", branch_db, "branch", branch,
                       "inline"),
            "employee": (f"employee {emp} (demo, most clients)", args.db, "employee", emp,
                         "inline"),
            "employee, shared assets": (f"employee {emp}, shared assets", args.db, "employee",
                                        emp, "shared"),
        }
        paths, render_s = {}, {}
        for key, (_, db, role, entity, assets) in reports.items():
            t0 = time.perf_counter()
            sub = out / key.replace(", ", "-").replace(" ", "-")
            paths[key] = render(args.month, role, sub / f"{role}.html", entity=entity, db=db,
                                assets=assets)
            render_s[key] = time.perf_counter() - t0
        loads.append(("rendered", load()))
        times = tti(list(paths.values()), args.runs)
        loads.append(("browser", load()))
        parts = {key: breakdown(path) for key, path in paths.items()}
        sizes = {key: path.stat().st_size for key, path in paths.items()}

    print(f"\n{args.runs} openings each, median; load average (1, 5, 15 min): "
          + "; ".join(f"{k} {v}" for k, v in loads) + "\n")
    print("| report | file | widget manager | widget state | font | CSS | rest | "
          "time to interactive | budget |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for key, (label, *_rest) in reports.items():
        size = sizes[key]
        ms = statistics.median(times[paths[key]])
        limit, tti_limit = BUDGETS[key]
        ok = size <= limit and (tti_limit is None or ms < tti_limit)
        budget = f"≤ {limit / 1e6:g} MB" + (f", < {tti_limit / 1000:g} s" if tti_limit else "")
        kb = {k: f"{v / 1e3:,.0f} KB" for k, v in parts[key].items()}
        print(f"| {label} | **{size / 1e6:.2f} MB** | {kb['widget manager']} | "
              f"{kb['widget state']} | {kb['font']} | {kb['CSS']} | {kb['rest']} | "
              f"**{ms / 1000:.2f} s** | {budget}: {'met' if ok else 'NOT met'} |")
    print("\nrender seconds (perfkit render, computed from the store): "
          + ", ".join(f"{k} {v:.1f}" for k, v in render_s.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
