"""perfkit.data.demo: schema, determinism, the data contract of DATA.md and realism bands.

One small store (3 branches, 30 employees, 3,000 clients, 13 months) is built per module; a second
build with the same seed and one with another seed check determinism.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from perfkit.data.demo import generator as demo
from perfkit.data.schema import TABLES
from perfkit.data.store import create_store, open_store, store_checksums
from perfkit.errors import RequestError

SMALL = dict(branches=3, employees=30, clients=3000, months=13, end_month="2026-10")
SEED = 7
GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "crm.duckdb"
    counts = demo.generate(db, seed=SEED, **SMALL)
    return db, counts


@pytest.fixture(scope="module")
def con(built):
    c = open_store(built[0])
    yield c
    c.close()


def df(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


# ----------------------------------------------------------------------------- schema & determinism


def test_every_table_is_populated_and_counts_are_returned(built, con):
    _, counts = built
    assert list(counts) == [t.name for t in TABLES]
    for t in TABLES:
        n = con.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
        assert n == counts[t.name] > 0, t.name
    assert counts["clients"] == SMALL["clients"]
    assert counts["branches"] == 3 and counts["employees"] == 30 and counts["market"] == 13


def test_tables_are_exactly_the_schema_tables(built, tmp_path):
    fresh = create_store(tmp_path / "fresh.duckdb")
    want = dict(fresh.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
    fresh.close()
    con = duckdb.connect(str(built[0]), read_only=True)
    got = dict(con.execute("SELECT table_name, sql FROM duckdb_tables()").fetchall())
    con.close()
    assert got == want  # same columns, types, NOT NULL and primary keys as create_store


def test_no_leftover_temporary_files(built):
    db = built[0]
    assert not db.with_name(db.name + ".tmp").exists()
    assert not db.with_name(db.name + ".tmp.wal").exists()


def test_same_seed_same_contents_other_seed_other_contents(built, con, tmp_path):
    again = tmp_path / "again.duckdb"
    demo.generate(again, seed=SEED, **SMALL)
    c2 = open_store(again)
    assert store_checksums(c2) == store_checksums(con)
    c2.close()
    other = tmp_path / "other.duckdb"
    demo.generate(other, seed=SEED + 1, **SMALL)
    c3 = open_store(other)
    mine, theirs = store_checksums(con), store_checksums(c3)
    c3.close()
    for name in ("clients", "client_months", "contacts", "employees"):
        assert mine[name] != theirs[name], name


def test_existing_store_is_replaced(tmp_path):
    db = tmp_path / "crm.duckdb"
    demo.generate(db, seed=1, branches=1, employees=3, clients=50, months=2)
    counts = demo.generate(db, seed=1, branches=2, employees=6, clients=80, months=3)
    with open_store(db) as c:
        assert c.execute("SELECT count(*) FROM clients").fetchone()[0] == 80 == counts["clients"]


def test_failed_build_leaves_the_old_store_and_no_temporary(tmp_path, monkeypatch):
    db = tmp_path / "crm.duckdb"
    demo.generate(db, seed=1, branches=1, employees=4, clients=60, months=3)
    before = open_store(db)
    sums = store_checksums(before)
    before.close()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(demo, "_contacts", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        demo.generate(db, seed=2, branches=2, employees=8, clients=100, months=3)
    assert not (tmp_path / "crm.duckdb.tmp").exists()
    after = open_store(db)
    assert store_checksums(after) == sums
    after.close()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(branches=0), "at least one branch"),
        (dict(months=0), "at least one branch and one month"),
        (dict(branches=5, employees=4), "at least one employee per branch"),
        (dict(end_month="2026-13"), "end_month must be YYYY-MM"),
    ],
)
def test_impossible_sizes_are_request_errors(tmp_path, kw, message):
    with pytest.raises(RequestError, match=message):
        demo.generate(tmp_path / "x.duckdb", **{**SMALL, **kw})
    assert not (tmp_path / "x.duckdb").exists()


def test_tiny_sizes_still_build(tmp_path):
    counts = demo.generate(tmp_path / "t.duckdb", branches=1, employees=1, clients=10, months=1)
    assert counts["employees"] == 1 and counts["clients"] == 10 and counts["market"] == 1
    counts = demo.generate(tmp_path / "t.duckdb", branches=2, employees=6, clients=0, months=2)
    assert counts["clients"] == counts["client_months"] == counts["contacts"] == 0


# ----------------------------------------------------------------------------- column rules


def test_every_value_passes_the_schema_rules(con):
    for t in TABLES:
        for c in t.columns:
            col = f'"{c.name}"'
            if not c.nullable:
                assert con.execute(f"SELECT count(*) FROM {t.name} WHERE {col} IS NULL").fetchone()[0] == 0, (t.name, c.name)
            if c.values:
                got = {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM {t.name} WHERE {col} IS NOT NULL").fetchall()}
                assert got <= set(c.values), (t.name, c.name, got - set(c.values))
            if c.min is not None:
                assert con.execute(f"SELECT count(*) FROM {t.name} WHERE {col} < ?", [c.min]).fetchone()[0] == 0, (t.name, c.name)
            if c.max is not None:
                assert con.execute(f"SELECT count(*) FROM {t.name} WHERE {col} > ?", [c.max]).fetchone()[0] == 0, (t.name, c.name)
            if c.pattern:
                values = [r[0] for r in con.execute(f"SELECT {col} FROM {t.name} WHERE {col} IS NOT NULL").fetchall()]
                bad = [v for v in values if not re.match(c.pattern, str(v))]
                assert not bad, (t.name, c.name, bad[:3])


def test_foreign_keys_hold(con):
    for t in TABLES:
        for fk in t.foreign_keys:
            n = con.execute(
                f"SELECT count(*) FROM {t.name} x ANTI JOIN {fk.ref_table} r "
                f"ON x.{fk.column} = r.{fk.ref_column} WHERE x.{fk.column} IS NOT NULL"
            ).fetchone()[0]
            assert n == 0, (t.name, fk.column)


def _gb11643_ok(id_no: str) -> bool:
    total = sum(int(d) * w for d, w in zip(id_no[:17], GB11643_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == id_no[17]


def test_phone_and_id_numbers_are_plausible(con):
    c = df(con, "SELECT phone, id_no, open_date, lead_date FROM clients")
    assert c.phone.str.fullmatch(r"1[3-9]\d{9}").all()
    ids = c.id_no.dropna()
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert all(_gb11643_ok(x) for x in ids)
    assert c.loc[c.open_date.notna(), "id_no"].notna().all()  # accounts are real-name
    birth = pd.to_datetime(ids.str[6:14], format="%Y%m%d")  # valid calendar dates
    ref = pd.to_datetime(c.loc[ids.index, "open_date"].fillna(c.loc[ids.index, "lead_date"]))
    assert ((ref - birth).dt.days >= 18 * 365).all()  # adults when registered
    assert ids.str[:2].isin(["11", "12", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
                             "44", "50", "51", "53", "61", "21", "22", "23"]).all()


def test_names_look_chinese(con):
    c = df(con, "SELECT client_name FROM clients")
    assert c.client_name.str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    top = c.client_name.str[0].value_counts(normalize=True)
    assert set(top.index[:5]) & {"王", "李", "张", "刘", "陈"}  # common surnames lead
    e = df(con, "SELECT employee_name FROM employees")
    assert e.employee_name.is_unique
    b = df(con, "SELECT branch_name, city, region_class FROM branches")
    assert all(n.startswith(city) and n.endswith("证券营业部") for n, city in zip(b.branch_name, b.city, strict=True))
    assert b.branch_name.is_unique


# ----------------------------------------------------------------------------- employees & edge cases


def test_every_branch_has_staff_and_one_head(con):
    e = df(con, "SELECT branch_id, position, level FROM employees")
    heads = e[e.position == "营业部负责人"].groupby("branch_id").size()
    assert heads.to_dict() == {b: 1 for b in e.branch_id.unique()}
    assert e.branch_id.nunique() == 3
    assert (e.level.notna() == (e.position == "客户经理")).all()
    assert set(e.level.dropna()) == {"初级", "中级", "高级", "资深"}


def test_new_hire_without_clients(con):
    e = df(con, "SELECT employee_id, hire_date FROM employees")
    latest = e.loc[e.hire_date.idxmax()]
    assert (e.hire_date == latest.hire_date).sum() == 1
    assert str(latest.hire_date)[:7] == "2026-10"
    eid = latest.employee_id
    for table in ("clients", "client_months", "contacts", "surveys"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE employee_id = ?", [eid]).fetchone()[0] == 0


def test_leaver_hands_his_clients_over(con):
    left = df(con, "SELECT employee_id, branch_id, leave_date FROM employees WHERE leave_date IS NOT NULL")
    assert len(left) == 1
    eid, leave = left.employee_id[0], pd.Timestamp(left.leave_date[0])
    leave_month = leave.strftime("%Y-%m")
    assert "2025-10" < leave_month < "2026-10"  # mid-window
    rows = df(con, f"SELECT month FROM client_months WHERE employee_id = '{eid}'")
    assert len(rows) > 0 and rows.month.max() == leave_month
    assert con.execute("SELECT count(*) FROM clients WHERE employee_id = ?", [eid]).fetchone()[0] == 0
    late = con.execute("SELECT count(*) FROM contacts WHERE employee_id = ? AND contact_time::DATE > ?",
                       [eid, leave.date()]).fetchone()[0]
    assert late == 0
    # the successor of the same branch serves his former clients from the next month
    succ = df(con, f"""SELECT DISTINCT m2.employee_id, e.branch_id FROM client_months m1
        JOIN client_months m2 ON m1.client_id = m2.client_id AND m2.month > '{leave_month}'
        JOIN employees e ON e.employee_id = m2.employee_id
        WHERE m1.employee_id = '{eid}'""")
    assert len(succ) == 1 and succ.branch_id[0] == left.branch_id[0]


def test_employees_differ(con):
    per = df(con, """SELECT employee_id, sum(assets_end) assets, sum(commission) comm
        FROM client_months WHERE month = '2026-10' GROUP BY 1""")
    assert per.assets.max() > 5 * per.assets.median()
    assert per.comm.quantile(0.9) > 2 * per.comm.quantile(0.1)


# ----------------------------------------------------------------------------- data contract


def test_client_months_invariants(con):
    m = df(con, "SELECT * FROM client_months ORDER BY client_id, month")
    c = df(con, "SELECT client_id, branch_id, open_date, lost_date, recalled_date FROM clients").set_index("client_id")
    m["next_begin"] = m.groupby("client_id").assets_begin.shift(-1)
    m["next_month"] = m.groupby("client_id").month.shift(-1)
    pair = m.dropna(subset=["next_begin"])
    assert (pair.assets_end == pair.next_begin).all()  # assets_end(M) = assets_begin(M+1)
    recon = m.assets_begin + m.net_inflow + m.pnl - m.assets_end
    assert recon.abs().max() < 0.05
    # first row in the open month (or the window's first month), none after loss unless recalled
    first = m.groupby("client_id").month.min()
    open_m = pd.to_datetime(c.loc[first.index, "open_date"]).dt.strftime("%Y-%m").clip(lower="2025-10")
    assert (first == open_m).all()
    last = m.groupby("client_id").month.max()
    lost = c.loc[last.index]
    lost_m = pd.to_datetime(lost.lost_date).dt.strftime("%Y-%m")
    gone = lost.lost_date.notna() & lost.recalled_date.isna()
    assert (last[gone] == lost_m[gone]).all()
    rec = lost.recalled_date.notna()
    rec_m = pd.to_datetime(lost.recalled_date).dt.strftime("%Y-%m")
    rows = m[m.client_id.isin(rec[rec].index)]
    for cid, g in rows.groupby("client_id"):
        months = set(g.month)
        assert lost_m[cid] in months and rec_m[cid] in months
        assert not any(lost_m[cid] < x < rec_m[cid] for x in months)
    # the month's owner belongs to the client's branch
    emp = df(con, "SELECT employee_id, branch_id FROM employees").set_index("employee_id").branch_id
    assert (m.employee_id.map(emp).values == c.loc[m.client_id, "branch_id"].values).all()
    # 销户 / 转托管 empty the account in the lost month; 资产流出 leaves a small balance
    lm = m.merge(df(con, "SELECT client_id, lost_reason, lost_date FROM clients WHERE lost_date IS NOT NULL"))
    lm = lm[lm.month == pd.to_datetime(lm.lost_date).dt.strftime("%Y-%m")]
    assert (lm[lm.lost_reason != "资产流出"].assets_end == 0).all()
    assert (lm[lm.lost_reason == "资产流出"].assets_end < 1000).all()


def test_clients_contract(con):
    c = df(con, "SELECT * FROM clients")
    e = df(con, "SELECT employee_id, branch_id FROM employees").set_index("employee_id").branch_id
    assert (c.employee_id.map(e) == c.branch_id).all()
    assert (c.open_date.isna() | (c.lead_date <= c.open_date)).all()
    assert (c.lost_date.isna() | (c.open_date <= c.lost_date)).all()
    assert (c.lost_reason.isna() == c.lost_date.isna()).all()
    assert (c.recalled_date.isna() | (c.recalled_date > c.lost_date)).all()
    fields = c[["occupation", "address", "email", "income_band"]].notna().all(axis=1)
    assert (fields == c.profile_completed_on.notna()).all()
    done = c[c.profile_completed_on.notna()]
    assert (done.profile_completed_on >= done.open_date.fillna(done.lead_date)).all()
    assert 0.05 < (~fields[c.open_date.notna()]).mean() < 0.5  # some incomplete profiles
    ra = df(con, "SELECT client_id, max(assessed_on) AS last_on, arg_max(risk_level, assessed_on) lvl, "
                 "min(assessed_on) AS first_on FROM risk_assessments GROUP BY 1").set_index("client_id")
    acc = c[c.open_date.notna()].set_index("client_id")
    assert set(ra.index) == set(acc.index)
    assert (acc.risk_assessed_on == ra.loc[acc.index, "last_on"]).all()
    assert (acc.risk_level == ra.loc[acc.index, "lvl"]).all()
    assert (ra.loc[acc.index, "first_on"] == acc.open_date).all()  # first assessment at opening
    assert c[c.open_date.isna()].risk_level.isna().all()


def test_contacts_contract(con):
    k = df(con, """SELECT k.*, c.lead_date, c.open_date, c.lost_date, e.hire_date, e.leave_date
        FROM contacts k JOIN clients c ON c.client_id = k.client_id
        JOIN employees e ON e.employee_id = k.employee_id""")
    t = pd.to_datetime(k.contact_time)
    assert (t.dt.dayofweek < 5).all()
    assert ((t.dt.hour >= 9) & ((t.dt.hour < 17) | ((t.dt.hour == 17) & (t.dt.minute < 30)))).all()
    day = pd.to_datetime(t.dt.date)
    assert (day >= pd.to_datetime(k.hire_date)).all()
    assert (k.leave_date.isna() | (day <= pd.to_datetime(k.leave_date))).all()
    assert (day >= pd.to_datetime(k.lead_date)).all()
    assert ((k.purpose != "开户回访") | (day >= pd.to_datetime(k.open_date))).all()
    assert ((k.purpose != "流失挽回") | (day >= pd.to_datetime(k.lost_date))).all()
    assert set(k.purpose) == {"潜客跟进", "开户回访", "资料完善", "流失挽回", "日常服务", "风险测评", "投资建议"}
    assert k.contact_id.is_unique
    assert k.sort_values("contact_id").contact_time.is_monotonic_increasing  # ids in time order


def test_lead_follow_up_and_call_back_timeliness(con):
    f = df(con, """SELECT c.client_id, c.employee_id, c.lead_date,
            min(k.contact_time)::DATE - c.lead_date AS days
        FROM clients c LEFT JOIN contacts k ON k.client_id = c.client_id AND k.purpose = '潜客跟进'
        WHERE c.lead_date BETWEEN '2025-10-01' AND '2026-09-15'
        GROUP BY c.client_id, c.employee_id, c.lead_date""")
    within3 = (f.days <= 3).mean()
    never = f.days.isna().mean()
    assert 0.5 < within3 < 0.95 and 0.02 < never < 0.3
    per_emp = f.assign(ok=f.days <= 3).groupby("employee_id").ok.mean()
    assert per_emp.max() - per_emp.min() > 0.2  # diligence differs by employee
    cb = df(con, """SELECT c.client_id, min(k.contact_time)::DATE - c.open_date AS days
        FROM clients c LEFT JOIN contacts k ON k.client_id = c.client_id AND k.purpose = '开户回访'
        WHERE c.open_date BETWEEN '2025-10-01' AND '2026-09-15' GROUP BY c.client_id, c.open_date""")
    assert 0.6 < (cb.days <= 7).mean() < 0.98


def test_surveys_reviews_incidents(con):
    s = df(con, """SELECT s.*, m.employee_id AS owner FROM surveys s JOIN client_months m
        ON m.client_id = s.client_id AND m.month = strftime(s.survey_date, '%Y-%m')""")
    assert len(s) == con.execute("SELECT count(*) FROM surveys").fetchone()[0]
    assert (s.employee_id == s.owner).all()
    assert 3.6 < s.score.mean() < 4.6 and s.score.nunique() >= 4
    r = df(con, "SELECT * FROM reviews")
    assert set(r.relation) == {"self", "superior", "peer", "subordinate"}
    assert set(r.dimension) == {"专业能力", "服务态度", "问题解决", "团队合作", "创新能力"}
    assert set(r.period) == {"2025H2", "2026H1"}
    assert (r[r.relation == "self"].reviewee_id == r[r.relation == "self"].reviewer_id).all()
    i = df(con, "SELECT rule_code, points FROM incidents")
    points = {"D01": 100, "D02": 50, "D03": 50, "D04": 30, "D05": 30, "D06": 20, "D07": 10,
              "D08": 10, "C01": 5, "C02": 20}
    assert (i.rule_code.map(points) == i.points).all()
    assert i.rule_code.value_counts().index[0] == "C01"


# ----------------------------------------------------------------------------- realism bands


def test_conversion_and_churn_bands(con):
    leads = df(con, "SELECT open_date FROM clients WHERE lead_date BETWEEN '2025-10-01' AND '2026-06-30'")
    assert 0.2 <= leads.open_date.notna().mean() <= 0.45
    churn = df(con, """SELECT m.month, count(*) active,
            count(*) FILTER (WHERE strftime(c.lost_date, '%Y-%m') = m.month) lost
        FROM client_months m JOIN clients c USING (client_id) GROUP BY 1""")
    rate = churn.lost / churn.active
    assert 0.003 < rate.mean() < 0.025


def test_money_looks_like_a_brokerage(con):
    m = df(con, "SELECT * FROM client_months WHERE month = '2026-10'")
    assert 2 * m.assets_end.median() < m.assets_end.mean()  # long right tail
    assert 3e4 < m.assets_end.median() < 3e5
    assert m.assets_end.max() > 5e6
    all_m = df(con, "SELECT sum(commission) / sum(trade_amount) rate, avg((trade_days = 0)::INT) dormant "
                    "FROM client_months")
    assert 1.5e-4 < all_m.rate[0] < 4e-4
    assert 0.25 < all_m.dormant[0] < 0.7
    assert (m.trade_days.eq(0) == m.trade_amount.eq(0)).all()
    mk = df(con, "SELECT * FROM market ORDER BY month")
    assert mk.index_return.std() > 0.01 and mk.risk_free_rate.between(0.0005, 0.003).all()
    beta = df(con, """SELECT corr(pnl / assets_begin, k.index_return) r FROM client_months m
        JOIN market k USING (month) WHERE assets_begin > 10000""").r[0]
    assert beta > 0.3  # client returns co-move with the index
