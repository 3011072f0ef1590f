"""``index.html`` (for headquarters) and ``distribution.csv`` (who receives which file), both built
from the manifest records of the month (and, once the month is delivered, ``delivery.json``: who
was sent what). Every value from data is HTML-escaped; the page has no
external reference (inline CSS, relative links only)."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfkit.batch.manifest import DONE, record_order
from perfkit.batch.plan import RECIPIENT_ROLES, ROLE_LABELS
from perfkit.files import atomic_path
from perfkit.report.dataview import LONG_TABLE
from perfkit.sheets import safe_rows

log = logging.getLogger(__name__)

INDEX = "index.html"
DISTRIBUTION = "distribution.csv"
DELIVERY = "delivery.json"  # written by perfkit.delivery; the index shows who was sent what
DISTRIBUTION_COLUMNS = (
    "recipient_role", "entity_id", "recipient_id", "recipient_name", "branch_id", "branch_name", "file",
)

Scores = Mapping[str, tuple[float | None, str | None]]  # entity id → (composite, grade)


def load_scores(db: Path, month: str, params: Path) -> dict[str, dict[str, tuple[float | None, str | None]]]:
    """``{"branch": {id: (composite, grade)}, "employee": {...}}``: the scores the reports show (a
    published month's from its latest version, :func:`perfkit.snapshot.source`); empty (and logged)
    when the scorecard fails, so the index omits scores."""
    from perfkit.month.sources import source

    out: dict[str, dict[str, tuple[float | None, str | None]]] = {}
    try:
        src = source(db, month, params)
    except Exception as exc:  # noqa: BLE001 - the index is still useful without scores
        log.warning("no scores for the index (%s: %s)", type(exc).__name__, exc)
        return out
    for level in ("branch", "employee"):
        try:
            df = src.scores(level)
            out[level] = {
                str(r.entity_id): (
                    None if r.composite != r.composite else float(r.composite),  # NaN → None
                    None if getattr(r, "grade", None) is None else str(r.grade),
                )
                for r in df.itertuples()
            }
        except Exception as exc:  # noqa: BLE001 - the index is still useful without scores
            log.warning("no %s scores for the index (%s: %s)", level, type(exc).__name__, exc)
    return out


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f3f5f8}.num{text-align:right}.failed{color:#b00020}.counts span{margin-right:1.5em}
a{color:#1558b0}@media print{a{color:#000;text-decoration:none}.tools{display:none}}
.tools input{font:inherit;padding:.3em .5em;width:22em;max-width:100%}.tools span{margin-left:1em;color:#555}
"""

#: the filter of a long index (more reports than a long table has rows: :data:`LONG_TABLE`): every
#: term typed, in any case, must occur in a report's row or its branch's heading; branches with no
#: matching report are hidden. Shown only when scripts run (no script: the whole list, as printed).
FILTER_SCRIPT = """
(function () {
  var tools = document.getElementById("pk-tools"), box = document.getElementById("pk-filter");
  var count = document.getElementById("pk-count"), always = +tools.dataset.always || 0;
  var total = always;  // reports listed outside the branches (the company's): always shown
  var groups = Array.prototype.map.call(document.querySelectorAll("section.pk-branch"), function (s) {
    var head = s.querySelector("h2").textContent;
    var rows = Array.prototype.slice.call(s.querySelectorAll("tr")).slice(1);
    total += rows.length;
    return {s: s, rows: rows.map(function (r) {
      return {r: r, t: (head + " " + r.textContent).toLowerCase()}; })};
  });
  function apply() {
    var terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean), shown = always;
    groups.forEach(function (g) {
      var any = false;
      g.rows.forEach(function (x) {
        var ok = terms.every(function (t) { return x.t.indexOf(t) >= 0; });
        x.r.hidden = !ok;
        if (ok) { any = true; shown += 1; }
      });
      g.s.hidden = !any;
    });
    count.textContent = terms.length ? "显示 " + shown + " / " + total + " 份" : "共 " + total + " 份";
  }
  tools.hidden = false;
  box.addEventListener("input", apply);
  apply();
})();
"""


def _score_cells(scores: Scores, entity_id: str) -> str:
    if not scores:
        return ""
    comp, grade = scores.get(entity_id, (None, None))
    text = "—" if comp is None else f"{comp:.1f}"
    return f"<td class='num'>{_e(text)}</td><td>{_e(grade or '—')}</td>"


def delivery_status(month_dir: Path) -> dict[str, list[str]]:
    """Manifest key → "sent to 张三 <address> at …" lines, from the month's delivery record (none
    when the month was not delivered; an unreadable record shows nothing here)."""
    path = Path(month_dir) / DELIVERY
    try:
        messages = json.loads(path.read_text(encoding="utf-8"))["messages"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    out: dict[str, list[str]] = {}
    for m in messages:
        if m.get("status") not in ("sent", "uncertain"):
            continue
        when = (m.get("sent_at") or m.get("created_at") or "")[:16].replace("T", " ")
        line = f"{m.get('name')} <{m.get('email')}> {when}{' (待核实)' if m['status'] != 'sent' else ''}"
        for f in m.get("files", []):
            for key in f.get("keys", []):
                out.setdefault(key, []).append(line)
    return out


def render_index(month: str, jobs: Mapping[str, dict[str, Any]],
                 scores: Mapping[str, Scores] | None = None,
                 sent: Mapping[str, list[str]] | None = None) -> str:
    """The index page as a string (see module doc); ``sent``: :func:`delivery_status`."""
    scores = scores or {}
    sent = sent or {}
    recs = sorted(jobs.values(), key=record_order)
    ok = [r for r in recs if r.get("status") in DONE and r.get("output")]
    failed = [r for r in recs if r.get("status") == "failed"]
    none = [r for r in recs if r.get("reason") and not r.get("output")]  # no report, on purpose
    has_scores = bool(scores.get("branch") or scores.get("employee"))
    head = "<th>综合得分</th><th>等级</th>" if has_scores else ""
    head += "<th>已发送</th>" if sent else ""

    def sent_cell(r: dict[str, Any]) -> str:
        return f"<td>{'<br>'.join(_e(x) for x in sent.get(r.get('key', ''), [])) or '—'}</td>" \
            if sent else ""

    def link(r: dict[str, Any]) -> str:
        label = f"{r.get('entity_name')}（{r.get('entity_id')}）"
        if r.get("status") in DONE and r.get("output"):
            return f"<a href='{_e(r['output']['path'])}'>{_e(label)}</a>"
        if r.get("reason"):
            return f"<span>{_e(r['reason'])}</span>"
        return f"<span class='failed'>{_e(label)} — 生成失败</span>"

    out = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{_e(month)} 绩效报表索引</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(month)} 绩效报表索引</h1>",
        f"<p class='counts'><span>成功 {len(ok)}</span><span class='failed'>失败 {len(failed)}</span>"
        + (f"<span>未生成 {len(none)}</span>" if none else "") + f"<span>合计 {len(recs)}</span></p>",
    ]
    branches: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        if r.get("role") in ("branch", "employee"):
            branches.setdefault(r.get("branch_id") or "", []).append(r)
    long = sum(len(rows) for rows in branches.values()) > LONG_TABLE
    company = [r for r in recs if r.get("role") == "company"]
    if long:
        out.append(f"<p class='tools' id='pk-tools' data-always='{len(company[:1])}' hidden>"
                   "<input type='search' id='pk-filter' "
                   "placeholder='筛选：姓名、编号、营业部' aria-label='筛选报表'>"
                   "<span id='pk-count'></span></p>")
    if company:
        out.append(f"<h2>{_e(ROLE_LABELS['company'])}</h2><p>{link(company[0])}</p>")
        if sent.get(company[0].get("key", "")):
            out.append(f"<p>已发送：{'；'.join(_e(x) for x in sent[company[0]['key']])}</p>")
    for bid, rows in branches.items():
        name = next((r.get("branch_name") for r in rows if r.get("branch_name")), None) or bid
        out.append(f"<section class='pk-branch'><h2>{_e(name)}（{_e(bid)}）</h2>"
                   f"<table><tr><th>报表</th><th>对象</th>{head}</tr>")
        for r in rows:
            cells = _score_cells(scores.get(r["role"], {}), r.get("entity_id", "")) if has_scores else ""
            out.append(f"<tr><td>{_e(ROLE_LABELS.get(r['role'], r['role']))}</td><td>{link(r)}</td>"
                       f"{cells}{sent_cell(r)}</tr>")
        out.append("</table></section>")
    if failed:
        out.append("<h2 class='failed'>生成失败</h2><table><tr><th>报表</th><th>对象</th><th>单元格</th>"
                   "<th>错误</th><th>说明</th><th>执行记录</th></tr>")
        for r in failed:
            err = r.get("error") or {}
            nb = r.get("executed_notebook")
            nb_link = f"<a href='{_e(nb)}'>{_e(nb)}</a>" if nb else "—"
            cell = err.get("cell_index")
            out.append(
                f"<tr><td>{_e(ROLE_LABELS.get(r['role'], r['role']))}</td>"
                f"<td>{_e(r.get('entity_name'))}（{_e(r.get('entity_id'))}）</td>"
                f"<td class='num'>{_e('—' if cell is None else cell)}</td>"
                f"<td>{_e(err.get('exception'))}</td><td>{_e(err.get('message'))}</td><td>{nb_link}</td></tr>"
            )
        out.append("</table>")
    if long:
        out.append(f"<script>{FILTER_SCRIPT}</script>")
    out.append("</body></html>\n")
    return "".join(out)


def distribution_rows(jobs: Mapping[str, dict[str, Any]]) -> list[dict[str, str]]:
    """One row per report file that exists (status ok or skipped): the company report goes to
    总部管理层, a branch report to the branch's 营业部负责人 (names joined with 、 when there are several,
    empty when the branch has none), an employee report to the employee."""
    rows = []
    for r in sorted(jobs.values(), key=record_order):
        if r.get("status") not in DONE or not r.get("output"):
            continue
        recips = r.get("recipients") or []
        rows.append({
            "recipient_role": RECIPIENT_ROLES.get(r["role"], r["role"]),
            "entity_id": r.get("entity_id") or "",
            "recipient_id": "、".join(x[0] for x in recips),
            "recipient_name": "、".join(x[1] for x in recips),
            "branch_id": r.get("branch_id") or "",
            "branch_name": r.get("branch_name") or "",
            "file": r["output"]["path"],
        })
    return rows


def write_outputs(month_dir: Path, month: str, jobs: Mapping[str, dict[str, Any]],
                  scores: Mapping[str, Scores] | None = None) -> tuple[Path, Path]:
    """Write ``index.html`` and ``distribution.csv`` (UTF-8 with BOM, for Excel) atomically."""
    index = month_dir / INDEX
    with atomic_path(index) as tmp:
        tmp.write_text(render_index(month, jobs, scores, delivery_status(month_dir)),
                       encoding="utf-8")
        tmp.chmod(0o644)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=DISTRIBUTION_COLUMNS, lineterminator="\r\n")  # quotes a \r
    w.writeheader()
    w.writerows(safe_rows(distribution_rows(jobs)))
    dist = month_dir / DISTRIBUTION
    with atomic_path(dist) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8-sig")
        tmp.chmod(0o644)
    return index, dist
