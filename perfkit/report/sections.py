"""Report sections shared by the role reports: each takes already-scoped frames and returns markup
or widgets (pure: frames in, pages out). Every value from data is escaped by
:mod:`perfkit.report.widgets`; numbers are formatted by :mod:`perfkit.formatting`.

Indicator summaries and rankings with their charts, the notes (指标说明, 任务说明), task lists, an
employee's score line, points and the reasons his score moved, and the publication note of a
published month.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from perfkit.data.store import StoreLike
from perfkit.formatting import DASH, DECIMALS, fmt_value, format_number
from perfkit.metrics.catalog import Catalog
from perfkit.month.publish import changes
from perfkit.report import charts
from perfkit.report.dataview import LONG_TABLE, shared_tables
from perfkit.report.widgets import Html, Page, as_widget, csv_download, table_html, text

STAR = "★"


#: task lists show open work first, and at most this many rows (the heading gives the full count)
STATUS_ORDER = ("未完成", "进行中", "逾期完成", "已完成")


TASK_ROWS_SHOWN = 150


TASK_COLUMNS = {
    "rule_name": "任务",
    "client_id": "客户号",
    "client_name": "客户姓名",
    "phone": "手机号",
    "created_on": "生成日期",
    "due_on": "应完成日期",
    "done_on": "完成日期",
    "status": "状态",
}


def attainment(value: float, target: float, higher_is_better: bool) -> float:
    """value ÷ target (target ÷ value when lower is better); NaN when either is missing or zero."""
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (value, target)):
        return math.nan
    if higher_is_better:
        return value / target if target else math.nan
    if value == 0:
        return math.nan if target == 0 else math.inf
    return target / value


def stars(n: Any) -> str:
    try:
        k = int(n)
    except (TypeError, ValueError):
        return DASH
    return STAR * k + "☆" * (5 - k)


def _pct(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "达标"
    return format_number(x, 1, percent=True)


def indicator_summary(rows: pd.DataFrame, *, compare: pd.DataFrame | None = None,
                      compare_label: str = "全公司") -> pd.DataFrame:
    """The month's value of each indicator with last month, change, target and attainment."""
    out = pd.DataFrame({
        "指标": rows["name"].to_numpy(),
        "本月": [fmt_value(v, u) for v, u in zip(rows["value"], rows["unit"], strict=True)],
    })
    if compare is not None:
        other = compare.set_index("indicator_id")["value"]
        out[compare_label] = [fmt_value(other.get(i), u)
                              for i, u in zip(rows["indicator_id"], rows["unit"], strict=True)]
    out["上月"] = [fmt_value(v, u) for v, u in zip(rows["prev_value"], rows["unit"], strict=True)]
    out["变化"] = [fmt_value(v, u, sign=True, with_unit=False)
                 for v, u in zip(rows["change"], rows["unit"], strict=True)]
    out["目标"] = [fmt_value(v, u) for v, u in zip(rows["target"], rows["unit"], strict=True)]
    out["完成率"] = [_pct(attainment(v, t, h)) for v, t, h in
                  zip(rows["value"], rows["target"], rows["higher_is_better"], strict=True)]
    return out


def ranking(rows: pd.DataFrame, unit: str, entity_label: str) -> pd.DataFrame:
    """Entities of one indicator in ascending order of value (missing last), as shown in drill-downs;
    indexed by entity id (the key :func:`ranking_tables` shares rows by)."""
    rows = rows.sort_values(["rank", "entity_id"], na_position="last")
    return pd.DataFrame(index=pd.Index(rows["entity_id"].to_numpy(), name=None), data={
        "排名": [format_number(x, 0) for x in rows["rank"]],  # "1", not "1.00" (NaN ranks → —)
        entity_label: rows["entity_name"].to_numpy(),
        "本月": [fmt_value(v, unit) for v in rows["value"]],
        "分子": [format_number(v, 2 if unit in ("万元", "分") else 0) for v in rows["numerator"]],
        "分母": [format_number(v, 0) for v in rows["denominator"]],
        "上月": [fmt_value(v, unit) for v in rows["prev_value"]],
        "变化": [fmt_value(v, unit, sign=True, with_unit=False) for v in rows["change"]],
    })


def ranking_tables(rankings: list[pd.DataFrame]) -> list[Html]:
    """The rankings of several indicators (:func:`ranking`) as views of one data set: each entity's
    name is sent once, however many indicators rank it (:mod:`perfkit.report.dataview`). Every
    returned piece must be shown (the first carries the data)."""
    return [Html(p) for p in shared_tables(rankings)]


def ranking_reference(rows: pd.DataFrame, additive: bool, total: float, total_label: str,
                      mean_label: str) -> tuple[float, str]:
    """The reference line of a ranking: for a ratio the parent's own value (``total``); for an
    additive indicator (a count or a sum: no denominator) the mean of the ranked entities — the
    parent's total would sit far right of every bar."""
    if not additive:
        return total, total_label
    values = pd.to_numeric(rows["value"], errors="coerce").dropna()
    return (float(values.mean()) if len(values) else float("nan")), mean_label


#: how a histogram counts the entities of a ranking, by their level
COUNTED = {"branch": "个营业部", "employee": "名员工"}


def ranking_chart(rows: pd.DataFrame, unit: str, title: str, ref_value: float,
                  ref_label: str) -> Page:
    """Horizontal bars of the entities, ascending top to bottom, with a reference line; for more
    than :data:`~perfkit.report.dataview.LONG_TABLE` entities how many fall in each value range
    (the table beside it ranks them one by one)."""
    rows = rows.sort_values(["rank", "entity_id"], na_position="last")
    if len(rows) > LONG_TABLE:
        svg = charts.histogram_svg(
            list(rows["value"]), title=f"{title}（{unit}）分布",
            unit_label=COUNTED.get(str(rows["level"].iloc[0]), "个") if "level" in rows else "个",
            decimals=DECIMALS.get(unit, 2), suffix="%" if unit == "%" else "", ref=ref_value,
            ref_label=ref_label)
        return Html(f'<div class="perfkit-chart">{svg}</div>')
    svg = charts.bars_svg(list(zip(rows["entity_name"].astype(str), rows["value"], strict=True)),
                          title=f"{title}（{unit}）", decimals=DECIMALS.get(unit, 2),
                          suffix="%" if unit == "%" else "", ref=ref_value, ref_label=ref_label)
    return Html(f'<div class="perfkit-chart">{svg}</div>')


def ranking_options(families: list[pd.DataFrame], below: pd.DataFrame, catalog: Catalog, *,
                    entity_label: str, whose: str, parent_label: str,
                    mean_label: str) -> list[list[tuple[str, list[Page]]]]:
    """Per family (its indicator rows at the parent's level), the drill-down options of its
    indicators: each one's ranking of the entities ``below`` (their indicator rows) with its chart
    and reference line (:func:`ranking_reference`). The rankings of every family are views of one
    data set (:func:`ranking_tables`): each entity is named once."""
    ranked, charts_ = [], []
    for rows in families:
        for r in rows.itertuples():
            sub = below[below["indicator_id"] == r.indicator_id]
            additive = catalog.indicator(r.indicator_id).denominator is None
            ref, ref_label = ranking_reference(sub, additive, r.value, parent_label, mean_label)
            ranked.append(ranking(sub, r.unit, entity_label))
            charts_.append((f"{r.name}：{whose}本月值（升序），虚线为{ref_label}值",
                            ranking_chart(sub, r.unit, r.name, ref, ref_label)))
    tables = iter(zip(ranking_tables(ranked), charts_, strict=True))
    out = []
    for rows in families:
        options = []
        for r in rows.itertuples():
            table, (heading, chart) = next(tables)
            options.append((r.name, [text(heading, tag="h4"), table, chart]))
        out.append(options)
    return out


def trend_chart(history: list[tuple[str, float]], unit: str, title: str,
                target: float | None = None) -> Page:
    """The indicator's monthly values (12 months by default), with the target when there is one."""
    svg = charts.trend_svg(history, title=f"{title}（{unit}）", decimals=DECIMALS.get(unit, 2),
                           suffix="%" if unit == "%" else f" {unit}", target=target)
    return Html(f'<div class="perfkit-chart">{svg}</div>')


def indicator_notes(catalog: Catalog) -> Page:
    """指标说明: every indicator's family, unit, direction and 统计项说明."""
    rows = pd.DataFrame({
        "类别": [catalog.families.get(i.family, i.family) for i in catalog.indicators],
        "指标": [i.name for i in catalog.indicators],
        "单位": [i.unit for i in catalog.indicators],
        "方向": ["越高越好" if i.higher_is_better else "越低越好" for i in catalog.indicators],
        "统计项说明": [i.description for i in catalog.indicators],
    })
    return table_html(rows, css_class="perfkit-notes")


def task_notes(catalog: Catalog) -> Page:
    """任务说明: each task rule, its time limit, what it counts and the indicators it backs."""
    rules = catalog.tasks.rules if catalog.tasks else ()
    backs = catalog.indicators_by_rule()
    rows = pd.DataFrame({
        "任务": [r.name for r in rules],
        "时限": [f"{r.days} 天" if r.days is not None else
               (f"有效期 {r.validity_months} 个月" if r.validity_months else DASH) for r in rules],
        "对应指标": ["、".join(i.name for i in backs[r.id]) or DASH for r in rules],
        "任务规则说明": [r.description for r in rules],  # last: the long column wraps
    })
    return table_html(rows, css_class="perfkit-notes")


def task_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A (masked) task list with Chinese headers: open tasks first (未完成, 进行中, then 逾期完成,
    已完成), each by due date; the index of ``df`` is kept (the key :func:`task_tables` shares
    rows by)."""
    order = df["status"].map({s: i for i, s in enumerate(STATUS_ORDER)}).fillna(len(STATUS_ORDER))
    df = df.assign(_order=order).sort_values(["_order", "due_on", "client_id", "rule_id"],
                                             kind="stable")
    out = df[list(TASK_COLUMNS)].rename(columns=TASK_COLUMNS)
    for col in ("生成日期", "应完成日期", "完成日期"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").fillna(DASH)
    return out


def task_tables(lists: list[pd.DataFrame], *, max_rows: int | None = TASK_ROWS_SHOWN) -> list[Html]:
    """Several task lists of one page (slices of one task frame: the task behind several indicators
    is one row) as views of one data set, each of at most ``max_rows`` rows. Every returned piece
    must be shown (the first carries the data)."""
    if not lists:
        return []
    union = pd.concat(lists)
    full = task_frame(union[~union.index.duplicated()])  # sorted and formatted once
    frames = [full[full.index.isin(df.index)] for df in lists]  # each in the same order
    return [Html(p) for p in shared_tables(frames, max_rows=max_rows)]


def score_line(s: Any) -> str:
    if not getattr(s, "scored", True):
        return "本月不参评（名下无客户）：不计综合得分、等级、星级与排名"
    change = "" if pd.isna(s.change) else f"，较上月 {format_number(s.change, 1, sign=True)}"
    return (f"综合得分 {format_number(s.composite, 1)}（{s.grade}）{stars(s.stars)}"
            f"　同岗位排名 {s.rank}/{s.n_peers}{change}")


def points_table(rows: pd.DataFrame, bd: pd.DataFrame) -> pd.DataFrame:
    """Indicator values with target, score and points (weight × score) of one employee."""
    merged = rows.merge(bd[["entity_id", "indicator_id", "score", "weight", "points"]],
                        on=["entity_id", "indicator_id"], how="left")
    out = indicator_summary(merged)
    out["得分"] = [format_number(x, 1) for x in merged["score"]]
    out["权重"] = [format_number(x, 1, percent=True) for x in merged["weight"]]
    out["得分点数"] = [format_number(x, 2) for x in merged["points"]]
    return out


def employee_scorecards(s: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    s = s.sort_values(["composite", "entity_id"], ascending=[False, True])
    out = pd.DataFrame({"员工": s["entity_name"].to_numpy(), "岗位": s["peer_group"].to_numpy(),
                        "KPI得分": s["kpi_score"].round(1).to_numpy(),
                        "能力得分": s["ability_score"].round(1).to_numpy(),
                        "行为扣分": s["deduction_points"].to_numpy(),
                        "综合得分": s["composite"].round(1).to_numpy(),
                        "等级": s["grade"].to_numpy(),
                        "星级": [stars(x) for x in s["stars"]],
                        "较上月": [format_number(x, 1, sign=True) for x in s["change"]]})
    return out


def why_moved(score: pd.DataFrame, bd: pd.DataFrame) -> Page:
    if score.empty:
        return text("本月无评分", css_class="perfkit-note")
    s = next(score.itertuples())
    if not getattr(s, "scored", True):
        return text("本月不参评，无得分变化可比较。", css_class="perfkit-note")
    if pd.isna(s.change):
        return text("上月无评分，无法比较。", css_class="perfkit-note")
    moved = bd.dropna(subset=["attribution"])
    moved = moved.reindex(moved["attribution"].abs().sort_values(ascending=False).index)
    top = [f"{r.indicator_name} {format_number(r.attribution, 2, sign=True)} 分"
           for r in moved.head(3).itertuples() if abs(r.attribution) >= 0.005]
    line = (f"综合得分较上月 {format_number(s.change, 1, sign=True)} 分"
            f"（{format_number(s.prev_composite, 1)} → {format_number(s.composite, 1)}）。")
    if top:
        line += "KPI 变化主要来自：" + "、".join(top) + "。"
    out = pd.DataFrame({
        "指标": moved["indicator_name"].to_numpy(),
        "上月得分点数": [format_number(x, 2) for x in moved["prev_points"]],
        "本月得分点数": [format_number(x, 2) for x in moved["points"]],
        "变化": [format_number(x, 2, sign=True) for x in moved["attribution"]],
    })
    return as_widget([text(line), table_html(out)])


CHANGES_SHOWN = 200


def publication_note(db: StoreLike, month: str, pub: Any, *, branch: str | None = None,
                     employee: str | None = None, above_employees: bool = False) -> Page:
    """Which version a report shows. Unpublished: a note that the figures are computed from the
    current data. A revision: its reason and the changed figures (entity, figure, old, new) of
    ``employee`` / ``branch``, or of the company and the branches (``above_employees``)."""
    if pub is None:
        return text(f"{month} 尚未发布：以下为按当前数据计算的结果，发布前可能变化。",
                    css_class="perfkit-note")
    parts: list[Any] = [text(pub.label, css_class="perfkit-score")]
    if pub.version == 1:
        parts.append(text(f"以下为 {month} 已发布的结果（发布后数据或参数的变化不影响本报告）。",
                          css_class="perfkit-note"))
        return as_widget(parts)
    parts.append(text(f"修订原因：{pub.reason}", css_class="perfkit-note"))
    ch = changes(db, month, pub.version, branch=branch, employee=employee,
                 above_employees=above_employees)
    prev = f"v{pub.version - 1}"
    if ch.empty:
        parts.append(text(f"与 {prev} 相比，本报告范围内的数据没有变化。", css_class="perfkit-note"))
        return as_widget(parts)
    out = pd.DataFrame({
        "层级": ch["level"].to_numpy(),
        "对象": [f"{n}（{i}）" for n, i in zip(ch["entity_name"], ch["entity_id"], strict=True)],
        "项目": ch["figure"].to_numpy(),
        f"原值（{prev}）": ch["old_value"].fillna(DASH).to_numpy(),
        f"新值（v{pub.version}）": ch["new_value"].fillna(DASH).to_numpy(),
    })
    parts += [text(f"与 {prev} 相比的变化 {len(out)} 项", tag="h4"),
              table_html(out, max_rows=CHANGES_SHOWN),
              csv_download(out, f"修订变化_v{pub.version}_{month}.csv")]
    return as_widget(parts)
