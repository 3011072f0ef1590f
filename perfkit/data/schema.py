"""The CRM store's schema: one definition, used to create tables, validate imports and document columns.

Money is stored in yuan (元) as DOUBLE; months are ``'YYYY-MM'`` strings; dates are DATE.
Bump :data:`SCHEMA_VERSION` whenever a table or column changes: a store written with another version
is refused with a clear error instead of failing later in a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 5  # 4: employees.email; 5: publication_files (perfkit upgrade-store migrates 3 → 5)

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

LOST_REASONS = ("销户", "转托管", "资产流出")
POSITIONS = ("客户经理", "理财顾问", "投资顾问", "营业部负责人")
LEVELS = ("初级", "中级", "高级", "资深")
REGION_CLASSES = ("一类", "二类", "三四类")
CHANNELS = ("电话", "微信", "面访", "短信", "邮件")
PURPOSES = ("潜客跟进", "开户回访", "资料完善", "流失挽回", "日常服务", "风险测评", "投资建议")
RELATIONS = ("self", "superior", "peer", "subordinate")
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
INCOME_BANDS = ("10万以下", "10-30万", "30-50万", "50-100万", "100万以上")


@dataclass(frozen=True)
class Column:
    """One column: SQL type, meaning (Chinese name and explanation), unit and validation rules."""

    name: str
    type: str
    doc: str
    unit: str = ""
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ForeignKey:
    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Ordered:
    """Row rule ``name``: where both are set, ``earlier`` ≤ ``later``."""

    name: str
    earlier: str
    later: str

    @property
    def text(self) -> str:
        return f"{self.earlier} ≤ {self.later}"


@dataclass(frozen=True)
class Requires:
    """Row rule ``name``: a row with ``column`` set also has ``needs`` set."""

    name: str
    column: str
    needs: str

    @property
    def text(self) -> str:
        return f"{self.column} set ⇒ {self.needs} set"


@dataclass(frozen=True)
class SameAs:
    """Row rule ``name``: ``column`` equals ``ref_column`` of the ``ref_table`` row that ``via``
    names (a client's branch is his manager's branch). A source mapping may waive it."""

    name: str
    column: str
    via: str
    ref_table: str
    ref_key: str
    ref_column: str

    @property
    def text(self) -> str:
        return f"{self.column} = {self.ref_table}.{self.ref_column} of {self.via}"


RowRule = Ordered | Requires | SameAs


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)
    rules: tuple[RowRule, ...] = field(default_factory=tuple)  # checked by perfkit import

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        """Columns that must be present (and non-null) in every imported row."""
        return [c.name for c in self.columns if not c.nullable]

    def ddl(self) -> str:
        cols = [
            f"    {c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        ]
        cols.append(f"    PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(cols) + "\n)"


def C(name: str, type: str, doc: str, unit: str = "", **kw) -> Column:  # noqa: A002 - mirrors SQL
    return Column(name, type, doc, unit, **kw)


def _req(name: str, type: str, doc: str, unit: str = "", **kw) -> Column:  # noqa: A002
    return Column(name, type, doc, unit, nullable=False, **kw)


TABLES: tuple[Table, ...] = (
    Table(
        "branches",
        "营业部 — one row per branch (securities sales department).",
        (
            _req("branch_id", "VARCHAR", "营业部编号, e.g. B001"),
            _req("branch_name", "VARCHAR", "营业部名称, e.g. 上海淮海中路证券营业部"),
            _req("region", "VARCHAR", "所属区域 (华东, 华南, 华北 …)"),
            _req("city", "VARCHAR", "所在城市"),
            _req("region_class", "VARCHAR", "地区类别, drives level thresholds", values=REGION_CLASSES),
        ),
        key=("branch_id",),
    ),
    Table(
        "employees",
        "员工 — client managers and advisers; an employee belongs to one branch.",
        (
            _req("employee_id", "VARCHAR", "员工编号, e.g. E00001"),
            _req("employee_name", "VARCHAR", "员工姓名"),
            _req("branch_id", "VARCHAR", "所属营业部编号"),
            _req("position", "VARCHAR", "岗位 (position in the sales organisation)", values=POSITIONS),
            C("level", "VARCHAR", "职级 (客户经理序列); empty for other positions", values=LEVELS),
            _req("hire_date", "DATE", "入职日期"),
            C("leave_date", "DATE", "离职日期; empty while employed"),
            C("email", "VARCHAR", "电子邮箱: where `perfkit deliver` sends his reports; empty = none",
              pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
        ),
        key=("employee_id",),
        foreign_keys=(ForeignKey("branch_id", "branches", "branch_id"),),
        rules=(Ordered("hired_before_leaving", "hire_date", "leave_date"),),
    ),
    Table(
        "levels",
        "职级记录 — each 客户经理's level history, one row per period at a level (see parameters/levels.yaml).",
        (
            _req("employee_id", "VARCHAR", "员工编号"),
            _req("level", "VARCHAR", "职级", values=LEVELS),
            _req("start_date", "DATE", "起始日期 (first day at this level)"),
            C("end_date", "DATE", "结束日期 (last day at this level); empty = current level"),
            C("reason", "VARCHAR", "变动原因 (入职定级, 晋级, 降级, 试用期满 …)"),
        ),
        key=("employee_id", "start_date"),
        foreign_keys=(ForeignKey("employee_id", "employees", "employee_id"),),
        rules=(Ordered("period_starts_before_it_ends", "start_date", "end_date"),),
    ),
    Table(
        "clients",
        "客户 — every lead (潜在客户) and account; an open_date makes a lead a client.",
        (
            _req("client_id", "VARCHAR", "客户号 (client account id)"),
            _req("client_name", "VARCHAR", "客户姓名"),
            C("phone", "VARCHAR", "手机号 (11 digits); masked in every report", pattern=r"^1[3-9][0-9]{9}$"),
            C("id_no", "VARCHAR", "证件号码 (18 characters); masked in every report",
              pattern=r"^[0-9]{17}[0-9X]$"),
            _req("branch_id", "VARCHAR", "开户/归属营业部编号"),
            _req("employee_id", "VARCHAR", "当前服务客户经理编号"),
            _req("lead_date", "DATE", "成为潜在客户的日期 (登记日期)"),
            C("lead_source", "VARCHAR", "潜客来源 (网点, 互联网, 转介绍, 活动)"),
            C("open_date", "DATE", "开户日期; empty while still a lead"),
            C("lost_date", "DATE", "流失日期; empty while active"),
            C("lost_reason", "VARCHAR", "流失原因", values=LOST_REASONS),
            C("recalled_date", "DATE", "挽回日期: a lost client who came back; empty otherwise"),
            C("risk_level", "VARCHAR", "风险承受能力等级 (latest assessment)", values=RISK_LEVELS),
            C("risk_assessed_on", "DATE", "最近一次风险测评日期 (= latest risk_assessments row)"),
            C("occupation", "VARCHAR", "职业 (profile field; empty = missing)"),
            C("address", "VARCHAR", "联系地址 (profile field; empty = missing)"),
            C("email", "VARCHAR", "电子邮箱 (profile field; empty = missing)"),
            C("income_band", "VARCHAR", "年收入区间 (profile field; empty = missing)", values=INCOME_BANDS),
            C("profile_completed_on", "DATE", "资料完善日期: when every profile field was filled; empty = incomplete"),
        ),
        key=("client_id",),
        foreign_keys=(
            ForeignKey("branch_id", "branches", "branch_id"),
            ForeignKey("employee_id", "employees", "employee_id"),
        ),
        rules=(
            Ordered("lead_before_open", "lead_date", "open_date"),
            Ordered("open_before_lost", "open_date", "lost_date"),
            Ordered("lost_before_recalled", "lost_date", "recalled_date"),
            Requires("lost_after_opening", "lost_date", "open_date"),
            Requires("recalled_after_lost", "recalled_date", "lost_date"),
            SameAs("same_branch_as_employee", "branch_id", "employee_id", "employees",
                   "employee_id", "branch_id"),
        ),
    ),
    Table(
        "client_months",
        "客户月度快照 — the monthly snapshot a brokerage warehouse keeps, one row per account and month.",
        (
            _req("client_id", "VARCHAR", "客户号 (client account id)"),
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("employee_id", "VARCHAR", "该月服务客户经理编号 (owner in that month)"),
            _req("assets_begin", "DOUBLE", "月初资产", "元", min=0),
            _req("assets_end", "DOUBLE", "月末资产", "元", min=0),
            C("assets_avg", "DOUBLE", "月日均资产 (the month's daily-average assets); empty when the source "
              "has none (有效户 on a daily-average basis then uses (月初 + 月末) ÷ 2)", "元", min=0),
            _req("net_inflow", "DOUBLE", "资产净流入 (转入 − 转出)", "元"),
            _req("trade_amount", "DOUBLE", "交易金额", "元", min=0),
            _req("trade_days", "INTEGER", "交易天数", "天", min=0, max=23),
            _req("commission", "DOUBLE", "佣金收入 (净佣金)", "元", min=0),
            _req("pnl", "DOUBLE", "投资收益 (market P&L of the month)", "元"),
        ),
        key=("client_id", "month"),
        foreign_keys=(
            ForeignKey("client_id", "clients", "client_id"),
            ForeignKey("employee_id", "employees", "employee_id"),
        ),
    ),
    Table(
        "contacts",
        "客户服务记录 — every contact an employee logged with a client or lead.",
        (
            _req("contact_id", "BIGINT", "服务记录编号"),
            _req("employee_id", "VARCHAR", "服务员工编号"),
            _req("client_id", "VARCHAR", "客户号 (client account id)"),
            _req("contact_time", "TIMESTAMP", "服务时间"),
            _req("channel", "VARCHAR", "服务渠道", values=CHANNELS),
            _req("purpose", "VARCHAR", "服务目的", values=PURPOSES),
        ),
        key=("contact_id",),
        foreign_keys=(
            ForeignKey("employee_id", "employees", "employee_id"),
            ForeignKey("client_id", "clients", "client_id"),
        ),
    ),
    Table(
        "risk_assessments",
        "风险测评记录 — every risk-tolerance assessment; each is valid for a period set in parameters.",
        (
            _req("client_id", "VARCHAR", "客户号 (client account id)"),
            _req("assessed_on", "DATE", "测评日期"),
            _req("risk_level", "VARCHAR", "测评结果等级", values=RISK_LEVELS),
        ),
        key=("client_id", "assessed_on"),
        foreign_keys=(ForeignKey("client_id", "clients", "client_id"),),
    ),
    Table(
        "surveys",
        "客户满意度调查 — one answer per client and survey date.",
        (
            _req("survey_id", "BIGINT", "问卷编号"),
            _req("client_id", "VARCHAR", "客户号 (client account id)"),
            _req("employee_id", "VARCHAR", "被评价员工编号"),
            _req("survey_date", "DATE", "调查日期"),
            _req("score", "INTEGER", "满意度评分 1–5 (5 = 非常满意)", "分", min=1, max=5),
        ),
        key=("survey_id",),
        foreign_keys=(
            ForeignKey("client_id", "clients", "client_id"),
            ForeignKey("employee_id", "employees", "employee_id"),
        ),
    ),
    Table(
        "reviews",
        "360度评估 — ability scores by self, superior, peers and subordinates, per half-year period.",
        (
            _req("period", "VARCHAR", "考核期, e.g. 2026H1", pattern=r"^[0-9]{4}H[12]$"),
            _req("reviewee_id", "VARCHAR", "被评价员工编号"),
            _req("reviewer_id", "VARCHAR", "评价人员工编号"),
            _req("relation", "VARCHAR", "评价关系", values=RELATIONS),
            _req("dimension", "VARCHAR", "评价维度 (专业能力, 服务态度, 问题解决, 团队合作, 创新能力)"),
            _req("score", "DOUBLE", "评分 0–100", "分", min=0, max=100),
        ),
        key=("period", "reviewee_id", "reviewer_id", "dimension"),
        foreign_keys=(
            ForeignKey("reviewee_id", "employees", "employee_id"),
            ForeignKey("reviewer_id", "employees", "employee_id"),
        ),
    ),
    Table(
        "incidents",
        "违规与投诉记录 — conduct incidents for 百分制倒扣 deduction scoring.",
        (
            _req("incident_id", "BIGINT", "记录编号"),
            _req("employee_id", "VARCHAR", "员工编号"),
            _req("incident_date", "DATE", "发生日期"),
            _req("rule_code", "VARCHAR", "违规条款代码 (see parameters/scorecard.yaml deductions)"),
            _req("points", "DOUBLE", "扣分 (positive number of points off 100)", "分", min=0, max=100),
            C("note", "VARCHAR", "说明"),
        ),
        key=("incident_id",),
        foreign_keys=(ForeignKey("employee_id", "employees", "employee_id"),),
    ),
    Table(
        "market",
        "市场基准 — the benchmark index and risk-free rate per month, for risk-adjusted evaluation.",
        (
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("index_return", "DOUBLE", "基准指数月收益率 (0.012 = 1.2%)", "比率"),
            _req("risk_free_rate", "DOUBLE", "无风险月利率 (0.0015 = 0.15%)", "比率", min=-0.05, max=0.05),
        ),
        key=("month",),
    ),
)

#: Published month results (``perfkit publish``, :mod:`perfkit.month.publish`): written by perfkit, never
#: imported, never overwritten or deleted. Not in :data:`TABLES` (the CRM data that is imported).
PUBLICATION_TABLES: tuple[Table, ...] = (
    Table(
        "publications",
        "已发布版本 — one row per published version of a month's results (perfkit publish).",
        (
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("version", "INTEGER", "版本号: 1 = first publication, 2 … = revisions", min=1),
            _req("published_at", "TIMESTAMP", "发布时间 (local time)"),
            _req("published_by", "VARCHAR", "发布人 (--by, default the OS user)"),
            _req("fingerprint", "VARCHAR", "input fingerprint: store content for the month, parameters "
                 "files, perfkit version (sha256)"),
            C("reason", "VARCHAR", "修订原因 (required for a revision)"),
            C("params", "VARCHAR", "parameters folder the results were computed with"),
            C("perfkit_version", "VARCHAR", "perfkit version and code digest"),
            _req("frames", "INTEGER", "number of frozen frames"),
            _req("changes", "INTEGER", "figures changed against the previous version (0 for v1)"),
        ),
        key=("month", "version"),
    ),
    Table(
        "publication_frames",
        "已发布数据 — the frozen frames of a published version (the month snapshot's frames), one "
        "Parquet file per frame or part.",
        (
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("version", "INTEGER", "版本号", min=1),
            _req("frame", "VARCHAR", "frame name (perfkit.month.frames registry), e.g. indicators.employee"),
            _req("part", "INTEGER", "part number within the frame (0 for a single-part frame)", min=0),
            _req("title", "VARCHAR", "part title ('' for a single-part frame)"),
            _req("scope", "VARCHAR", "comma-separated scope columns readers slice by"),
            _req("rows", "BIGINT", "row count", min=0),
            _req("data", "BLOB", "the rows as a Parquet file"),
        ),
        key=("month", "version", "frame", "part"),
    ),
    Table(
        "publication_files",
        "已发布版本的参数与报表模板 — the parameters files that shape the reports and the role "
        "notebooks a published version was computed and rendered with, byte for byte: every later "
        "report, batch, index, comparison and delivery of the version uses them.",
        (
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("version", "INTEGER", "版本号", min=1),
            _req("path", "VARCHAR", "parameters/<file> or notebooks/<role>.ipynb"),
            _req("sha256", "VARCHAR", "sha256 of the content"),
            _req("content", "BLOB", "the file's bytes"),
        ),
        key=("month", "version", "path"),
    ),
    Table(
        "publication_changes",
        "修订变化 — what a revision changed against the previous version, one row per figure; "
        "computed when the revision is published and never recomputed.",
        (
            _req("month", "VARCHAR", "月份 YYYY-MM", pattern=MONTH_PATTERN),
            _req("version", "INTEGER", "the revision (compared with version − 1)", min=2),
            _req("seq", "INTEGER", "row number", min=1),
            _req("frame", "VARCHAR", "frame the figure comes from"),
            _req("level", "VARCHAR", "公司 / 营业部 / 员工"),
            _req("entity_id", "VARCHAR", "company, branch or employee id"),
            C("entity_name", "VARCHAR", "name shown"),
            C("branch_id", "VARCHAR", "the branch the row belongs to (empty for company rows)"),
            C("employee_id", "VARCHAR", "the employee the row belongs to (empty above employees)"),
            _req("figure", "VARCHAR", "项目 (indicator name, 综合得分, 绩效工资 …)"),
            C("old_value", "VARCHAR", "原值 as shown (empty: not in the previous version)"),
            C("new_value", "VARCHAR", "新值 as shown (empty: not in this version)"),
        ),
        key=("month", "version", "seq"),
    ),
)

TABLE_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

# Tables in an order where every foreign key points to an earlier table.
LOAD_ORDER: tuple[str, ...] = tuple(t.name for t in TABLES)


def table(name: str) -> Table:
    """The table definition called ``name``; the error lists the known tables."""
    from perfkit.errors import StoreError

    try:
        return TABLE_BY_NAME[name]
    except KeyError:
        raise StoreError(
            f"unknown table {name!r}; known tables: {', '.join(TABLE_BY_NAME)}"
        ) from None


def markdown_reference() -> str:
    """The table reference (name, type, unit, meaning of every column) as Markdown, for the README."""
    out: list[str] = []
    for t in (*TABLES, *PUBLICATION_TABLES):
        rules = "".join(f" `{r.name}`: {r.text}." for r in t.rules)
        out.append(f"### `{t.name}`\n\n{t.doc} Key: `{', '.join(t.key)}`."
                   + (f" Row rules:{rules}" if rules else "") + "\n")
        out.append("| column | type | unit | meaning |")
        out.append("|---|---|---|---|")
        for c in t.columns:
            rule = []
            if not c.nullable:
                rule.append("required")
            if c.values:
                rule.append("one of " + "/".join(c.values))
            if c.min is not None or c.max is not None:
                rule.append(f"range {c.min if c.min is not None else ''}…{c.max if c.max is not None else ''}")
            meaning = c.doc + (f" ({'; '.join(rule)})" if rule else "")
            out.append(f"| `{c.name}` | {c.type} | {c.unit} | {meaning} |")
        out.append("")
    return "\n".join(out)
