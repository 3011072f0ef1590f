"""Report sections of the appraisal methods (考核方法): widgets from already-scoped frames.

The role reports (:mod:`perfkit.report`) load the frames of :mod:`perfkit.appraisal.frames` through
their data source (sliced by branch or employee), keep only the rows their role may see
(:func:`employee_frames`, :func:`branch_frames`, :func:`company_frames`), and call the builders
here (pure: frames in, widgets out). Every section can be switched off in parameters/appraisal.yaml
``sections``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from perfkit.appraisal.advisor import ACTIONS, NO_VERDICT
from perfkit.appraisal.options import CLASSES, AppraisalSpec
from perfkit.appraisal.rfm import summarise
from perfkit.formatting import DASH, format_number
from perfkit.report.dataview import shared_tables
from perfkit.report.sections import stars
from perfkit.report.widgets import Html, Page, as_widget, drilldown, table_html, tabs, text

SECTION_TITLES = {"ability": "能力评价（360度）", "conduct": "行为扣分与绩效奖金",
                  "advisor": "风险调整收益评价", "rfm": "客户分类（RFM）"}
CLIENT_ROWS_SHOWN = 150


# ── formatting ──────────────────────────────────────────────────────────────────────────────────
def wan(x: Any) -> str:
    """元 → "1,234.56 万元"."""
    s = format_number(None if x is None or pd.isna(x) else float(x) / 1e4, 2)
    return s if s == DASH else f"{s} 万元"


def yuan(x: Any) -> str:
    s = format_number(x, 0)
    return s if s == DASH else f"{s} 元"


def pct(x: Any, decimals: int = 2, sign: bool = False) -> str:
    return format_number(x, decimals, percent=True, sign=sign)


def num(x: Any, decimals: int = 2) -> str:
    return format_number(x, decimals)


def _coef(c: Any, p: Any, decimals: int = 4) -> str:
    """"0.0061（p=0.012）"."""
    if c is None or pd.isna(c):
        return DASH
    return f"{format_number(c, decimals, sign=True)}（p={format_number(p, 3)}）"


def verdict_reason(r: Any) -> str:
    """Why the action level: rank band and the significance behind it."""
    if r.action == NO_VERDICT:
        return f"有收益的月份 {int(r.months)} 个，不足考察期要求，不作评级"
    band = {"A": "排名前列（A级）", "B": "排名居中（B级）", "C": "排名末位（C级）"}[r.band]
    skill = []
    if r.jensen_skill:
        skill.append("Jensen α 显著为正")
    if r.tm_skill:
        skill.append("T-M 选股或择时能力显著")
    text_ = band + "；" + ("、".join(skill) if skill else "未显示显著的选股或择时能力")
    if isinstance(r.watch_until, str):
        text_ += f"；查看期至 {r.watch_until}"
    return text_


# ── employee ────────────────────────────────────────────────────────────────────────────────────
def ability_page(ab: pd.DataFrame, dims: pd.DataFrame) -> Page:
    if ab.empty or ab["ability_score"].isna().all():
        return text("本考核期无360度评价。", css_class="perfkit-note")
    r = next(ab.itertuples())
    rel = {"superior": "上级", "peer": "同事", "subordinate": "下属", "self": "自评"}
    who = "、".join(rel.get(x, x) for x in str(r.relations).split("+"))
    line = (f"能力得分 {num(r.ability_score, 1)}（考核期 {r.review_period}，评价人：{who}；"
            "各评价关系按 scorecard.yaml 权重加权，缺少的关系不计）")
    table = pd.DataFrame({"评价维度": dims["dimension"].to_numpy(),
                          "得分": [num(x, 1) for x in dims["score"]]})
    return as_widget([text(line, css_class="perfkit-score"), table_html(table)])


def conduct_page(cd: pd.DataFrame, inc: pd.DataFrame, floor: float) -> Page:
    if cd.empty:
        return text("本月无行为考核记录。", css_class="perfkit-note")
    r = next(cd.itertuples())
    line = (f"行为得分 {num(r.conduct_score, 0)}（百分制倒扣：100 − 扣分 {num(r.deduction_points, 0)}，"
            f"不低于 {num(floor, 0)}）")
    if not pd.isna(r.bonus_standard):
        line += f"　绩效奖金 {yuan(r.bonus)} = 奖励标准金 {yuan(r.bonus_standard)} × {num(r.conduct_score, 0)}%"
    parts: list[Page] = [text(line, css_class="perfkit-score")]
    if inc.empty:
        parts.append(text("本期无违规或投诉记录。", css_class="perfkit-note"))
    else:
        parts += [text(f"扣分记录 {len(inc)} 项", tag="h4"), table_html(incident_table(inc))]
    return as_widget(parts)


def incident_table(inc: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    out = pd.DataFrame()
    if names is not None:
        out["员工"] = inc["employee_id"].map(names).to_numpy()
    out["日期"] = pd.to_datetime(inc["incident_date"]).dt.strftime("%Y-%m-%d").to_numpy()
    out["条款"] = inc["rule_code"].to_numpy()
    out["违规或投诉"] = inc["rule_name"].fillna(DASH).to_numpy()
    out["扣分"] = [num(x, 0) for x in inc["points"]]
    out["说明"] = inc["note"].fillna(DASH).to_numpy()
    return out


def advisor_page(adv: pd.DataFrame) -> Page:
    if adv.empty:
        return text("本考察期无客户资产，无法计算风险调整收益。", css_class="perfkit-note")
    r = next(adv.itertuples())
    rows = [
        ("客户资产（月末）", wan(r.client_assets)),
        ("本月客户资产增值/减值", wan(r.client_pnl)),
        ("考察期客户资产增值/减值", wan(r.client_pnl_window)),
        ("本月客户收益率", pct(r.return_month)),
        ("考察期累计收益率", pct(r.return_window)),
        ("风险调整收益 MRAR(γ=2，年化)", pct(r.mrar)),
        ("星级（同岗位强制分布）", stars(r.stars)),
        ("同岗位排名", DASH if pd.isna(r.rank) else f"{int(r.rank)}/{int(r.n_peers)}"),
        ("Jensen α（月）", _coef(r.alpha, r.alpha_p)),
        ("β", _coef(r.beta, r.beta_p, 3)),
        ("T-M 选股能力 a", _coef(r.tm_a, r.tm_a_p)),
        ("T-M 择时能力 c", _coef(r.tm_c, r.tm_c_p, 3)),
        ("有收益的月份", f"{int(r.months)}"),
    ]
    line = f"考核级别：{r.action}（{verdict_reason(r)}）"
    return as_widget([text(line, css_class="perfkit-score"),
                         table_html(pd.DataFrame(rows, columns=["项目", "数值"]))])


def rfm_summary_table(summary: pd.DataFrame, services: dict[str, str]) -> pd.DataFrame:
    s = summary.set_index("rfm_class").reindex(list(CLASSES)).fillna(0)
    return pd.DataFrame({
        "客户类别": list(CLASSES),
        "客户数": [int(x) for x in s["clients"]],
        "资产": [wan(x) for x in s["assets"]],
        "VIP": [int(x) for x in s["vip"]],
        "核心": [int(x) for x in s["core"]],
        "建议服务": [service_text(c, services) for c in CLASSES],
    })


def service_text(cls: str, services: dict[str, str]) -> str:
    """The recommended service of a class; for 咨询依托类 both kinds (R↑F↓ and R↓F↑)."""
    if cls in services:
        return services[cls]
    kinds = [f"{k.split('·', 1)[1]}：{v}" for k, v in services.items() if k.startswith(cls + "·")]
    return "；".join(kinds) or DASH


def rfm_page(clients: pd.DataFrame, services: dict[str, str]) -> Page:
    if clients.empty:
        return text("本月无在册客户。", css_class="perfkit-note")
    summary = summarise(clients, "employee_id")
    listings, labels, totals = [], [], []
    for cls in CLASSES:
        everyone = clients[clients["rfm_class"] == cls]
        mine = everyone.sort_values(["assets_end", "client_id"],
                                    ascending=[False, True]).iloc[:CLIENT_ROWS_SHOWN]
        totals.append(len(everyone))
        listings.append(pd.DataFrame(index=mine.index, data={
            "客户号": mine["client_id"].to_numpy(),
            "客户姓名": mine["client_name"].to_numpy(),
            "客户价值": mine["m_level"].to_numpy(),
            "回报": mine["r_level"].to_numpy(),
            "周转": mine["f_level"].to_numpy(),
            "考察期收益率": [pct(x) for x in mine["return_window"]],
            "月均交易天数": [num(x, 1) for x in mine["trade_days_avg"]],
            "月末资产": [wan(x) for x in mine["assets_end"]],
            "建议服务": mine["service"].to_numpy(),
        }))
        labels.append(f"{cls}（{len(everyone)}）")
    # one data set for the five lists (drawn by the page script, long ones with filter and sort)
    views = [Html(p) for p in shared_tables(listings, totals=totals)]
    return as_widget([table_html(rfm_summary_table(summary, services)),
                         text("按类别查看客户（资产从高到低）：", css_class="perfkit-note"),
                         drilldown(list(zip(labels, views, strict=True)), kind="toggle")])


def employee_section(spec: AppraisalSpec, pages: dict[str, Page]) -> Page:
    """The employee's enabled sections as tabs (a note when every section is off)."""
    shown = {SECTION_TITLES[k]: v for k, v in pages.items() if spec.enabled(k)}
    if not shown:
        return text("考核方法各部分均已在 parameters/appraisal.yaml 中关闭。", css_class="perfkit-note")
    return tabs(shown)


# ── branch (one row per employee) ───────────────────────────────────────────────────────────────
def branch_employee_table(staff: pd.DataFrame, ab: pd.DataFrame, cd: pd.DataFrame,
                          adv: pd.DataFrame, spec: AppraisalSpec) -> pd.DataFrame:
    """One row per employee of the branch with the enabled sections' figures."""
    s = staff.sort_values("employee_id")
    out = pd.DataFrame({"员工": s["employee_name"].to_numpy(), "岗位": s["position"].to_numpy()})
    ids = s["employee_id"]
    if spec.enabled("ability"):
        m = ab.set_index("employee_id")["ability_score"]
        out["能力得分"] = [num(m.get(e), 1) for e in ids]
    if spec.enabled("conduct"):
        c = cd.set_index("employee_id")
        out["扣分"] = [num(c["deduction_points"].get(e), 0) for e in ids]
        out["行为得分"] = [num(c["conduct_score"].get(e), 0) for e in ids]
        out["绩效奖金"] = [yuan(c["bonus"].get(e)) for e in ids]
    if spec.enabled("advisor"):
        a = adv.set_index("employee_id")
        out["客户资产"] = [wan(a["client_assets"].get(e)) for e in ids]
        out["本月客户增值"] = [wan(a["client_pnl"].get(e)) for e in ids]
        out["MRAR"] = [pct(a["mrar"].get(e)) for e in ids]
        out["星级"] = [stars(a["stars"].get(e)) for e in ids]
        out["Jensen α"] = [_coef(a["alpha"].get(e), a["alpha_p"].get(e)) for e in ids]
        out["考核级别"] = [a["action"].get(e, DASH) for e in ids]
    return out


def branch_rfm_table(staff: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per employee: clients and assets per RFM class."""
    s = staff.sort_values("employee_id")
    out = pd.DataFrame({"员工": s["employee_name"].to_numpy()})
    idx = summary.set_index(["employee_id", "rfm_class"])
    for cls in CLASSES:
        out[f"{cls}客户数"] = [int(idx["clients"].get((e, cls), 0)) for e in s["employee_id"]]
        out[f"{cls}资产"] = [wan(idx["assets"].get((e, cls), 0)) for e in s["employee_id"]]
    return out


def branch_section(spec: AppraisalSpec, staff: pd.DataFrame, frames: dict[str, pd.DataFrame]
                   ) -> Page:
    """部门: the per-employee table, the incidents behind the deductions, RFM per employee."""
    if not any(spec.enabled(k) for k in SECTION_TITLES):
        return text("考核方法各部分均已在 parameters/appraisal.yaml 中关闭。", css_class="perfkit-note")
    pages: dict[str, Any] = {}
    if any(spec.enabled(k) for k in ("ability", "conduct", "advisor")):
        pages["员工考核汇总"] = [
            table_html(branch_employee_table(staff, frames["ability"], frames["conduct"],
                                               frames["advisor"], spec)),
            text("考核级别：排名前40%且 Jensen α 或 T-M 能力显著为奖励，否则督导；中间段显著为督导，"
                 "否则警告（查看期）；末位10%显著为督导，否则更换；历史不足不评级。",
                 css_class="perfkit-note")]
    if spec.enabled("conduct"):
        names = dict(zip(staff["employee_id"], staff["employee_name"], strict=True))
        inc = frames["incidents"]
        pages["扣分记录"] = (table_html(incident_table(inc, names)) if not inc.empty
                         else text("本期无违规或投诉记录。", css_class="perfkit-note"))
    if spec.enabled("rfm"):
        pages["客户分类"] = [table_html(branch_rfm_table(staff, frames["rfm_employee"])),
                         table_html(rfm_summary_table(
                             frames["rfm_employee"].groupby("rfm_class", as_index=False)
                             [["clients", "assets", "vip", "core"]].sum(), spec.rfm.services))]
    return tabs(pages)


# ── company (one row per branch) ────────────────────────────────────────────────────────────────
def company_section(spec: AppraisalSpec, adv: pd.DataFrame, rfm_br: pd.DataFrame,
                    branch_names: dict[str, str]) -> Page:
    """总部: per branch, the action levels of its employees and its clients by RFM class."""
    pages: dict[str, Any] = {}
    if spec.enabled("advisor"):
        a = adv.sort_values("branch_id")
        out = pd.DataFrame({"营业部": a["branch_name"].to_numpy(),
                            "评级人数": a["verdicts"].to_numpy()})
        for act in (*ACTIONS, NO_VERDICT):
            out[act] = a[act].to_numpy()
        out["客户资产"] = [wan(x) for x in a["client_assets"]]
        out["本月客户增值"] = [wan(x) for x in a["client_pnl"]]
        out["考察期客户增值"] = [wan(x) for x in a["client_pnl_window"]]
        out["平均MRAR"] = [pct(x) for x in a["mean_mrar"]]
        pages["考核级别"] = [
            table_html(out),
            text("各营业部员工按考核级别计数（员工按同岗位 MRAR 排名与 Jensen α、T-M 回归的显著性评级）。",
                 css_class="perfkit-note")]
    if spec.enabled("rfm"):
        order = sorted(set(rfm_br["branch_id"]))
        idx = rfm_br.set_index(["branch_id", "rfm_class"])
        out = pd.DataFrame({"营业部": [branch_names.get(b, b) for b in order]})
        for cls in CLASSES:
            out[f"{cls}客户数"] = [int(idx["clients"].get((b, cls), 0)) for b in order]
            out[f"{cls}资产"] = [wan(idx["assets"].get((b, cls), 0)) for b in order]
        total = rfm_br.groupby("rfm_class", as_index=False)[["clients", "assets", "vip", "core"]].sum()
        pages["客户分类"] = [table_html(out), table_html(rfm_summary_table(total, spec.rfm.services))]
    if not pages:
        return text("考核方法各部分均已在 parameters/appraisal.yaml 中关闭。", css_class="perfkit-note")
    return tabs(pages)


# ── scoped data: what each role may see ─────────────────────────────────────────────────────────
# ``data`` is the report's source (:func:`perfkit.month.sources.source`): ``data.appraisal(name,
# employee=…, branch=…)`` gives the frame's rows of that employee / branch — computed from the
# store, or the slice of the month snapshot or of the published version.
_EMPLOYEE_FRAMES = {"ability": ("ability", "ability_dimensions"), "conduct": ("conduct", "incidents"),
                    "advisor": ("advisor",), "rfm": ("rfm_clients",)}


def employee_frames(data: Any, employee_id: str, spec: AppraisalSpec) -> dict[str, pd.DataFrame]:
    """The enabled frames, each reduced to this employee's rows (his clients for RFM)."""
    out = {}
    for section, names in _EMPLOYEE_FRAMES.items():
        if spec.enabled(section):
            for name in names:
                df = data.appraisal(name, employee=employee_id)
                out[name] = df[df["employee_id"] == employee_id].reset_index(drop=True)
    return out


def branch_frames(data: Any, branch_id: str, spec: AppraisalSpec) -> dict[str, pd.DataFrame]:
    """The enabled frames, each reduced to the branch's employees; ``staff`` lists them (employed
    in the month). No client rows: a branch sees its employees' class counts only."""
    ab = data.appraisal("ability", branch=branch_id)
    staff = ab.loc[ab["branch_id"] == branch_id,
                   ["employee_id", "employee_name", "branch_id", "position"]].reset_index(drop=True)
    ids = set(staff["employee_id"])
    out = {"staff": staff, "ability": ab[ab["employee_id"].isin(ids)].reset_index(drop=True)}
    wanted = [n for s, names in (("conduct", ("conduct", "incidents")), ("advisor", ("advisor",)),
                                 ("rfm", ("rfm_employee",))) if spec.enabled(s) for n in names]
    for name in wanted:
        df = data.appraisal(name, branch=branch_id)
        out[name] = df[df["employee_id"].isin(ids)].reset_index(drop=True)
    for name, cols in (("conduct", ["employee_id", "deduction_points", "conduct_score", "bonus"]),
                       ("incidents", ["employee_id", "incident_date", "rule_code", "rule_name",
                                      "points", "note"]),
                       ("advisor", ["employee_id", "client_assets", "client_pnl", "mrar", "stars",
                                    "alpha", "alpha_p", "action"]),
                       ("rfm_employee", ["employee_id", "rfm_class", "clients", "assets", "vip",
                                         "core"])):
        out.setdefault(name, pd.DataFrame(columns=cols))
    return out


def company_frames(data: Any, spec: AppraisalSpec) -> dict[str, pd.DataFrame]:
    """Branch-level frames only: the company report never holds an employee row."""
    out = {}
    if spec.enabled("advisor"):
        out["advisor_branch"] = data.appraisal("advisor_branch")
    if spec.enabled("rfm"):
        out["rfm_branch"] = data.appraisal("rfm_branch")
    return out
