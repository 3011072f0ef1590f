"""A tiny hand-built CRM store shared by the indicator, task, table and scorecard tests.

Shape (kept stable — other test modules rely on it):

- months 2026-08, 2026-09, 2026-10 (``TINY_MONTHS``); the tests mostly look at 2026-10.
- branches B01 (一类) and B02 (二类).
- employees E1 张伟 (B01, 客户经理 中级), E2 李娜 (B01, 客户经理 初级), E3 王芳 (B02, 客户经理 高级),
  E4 刘洋 (B02, 客户经理 初级, hired 2026-10-08, no clients at all).
- clients C01…C12 (leads and accounts; see the comments in :data:`CLIENTS`), a few contacts, surveys,
  risk assessments, one incident, a few 360 reviews and the market rows.

Every expected indicator value in tests/test_indicators.py is computed by hand from these rows.
Fixtures: ``tiny_store`` (path of a read-only-ready DuckDB file, built once per session) and
``tiny_con`` (an open read-only connection, closed after the test). ``build_tiny_store(path)`` builds
the same store anywhere (e.g. to modify a copy).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.data.store import create_store, open_store

TINY_MONTHS = ["2026-08", "2026-09", "2026-10"]

BRANCHES = [
    {"branch_id": "B01", "branch_name": "上海淮海中路证券营业部", "region": "华东", "city": "上海",
     "region_class": "一类"},
    {"branch_id": "B02", "branch_name": "成都人民南路证券营业部", "region": "西南", "city": "成都",
     "region_class": "二类"},
]

EMPLOYEES = [
    {"employee_id": "E1", "employee_name": "张伟", "branch_id": "B01", "position": "客户经理",
     "level": "中级", "hire_date": "2020-03-01", "leave_date": None},
    {"employee_id": "E2", "employee_name": "李娜", "branch_id": "B01", "position": "客户经理",
     "level": "初级", "hire_date": "2025-01-10", "leave_date": None},
    {"employee_id": "E3", "employee_name": "王芳", "branch_id": "B02", "position": "客户经理",
     "level": "高级", "hire_date": "2019-06-01", "leave_date": None},
    {"employee_id": "E4", "employee_name": "刘洋", "branch_id": "B02", "position": "客户经理",
     "level": "初级", "hire_date": "2026-10-08", "leave_date": None},
]

_FULL = {"occupation": "工程师", "address": "上海市徐汇区1号", "email": "a@example.com",
         "income_band": "30-50万"}
_NONE = {"occupation": None, "address": None, "email": None, "income_band": None}


def _client(cid, name, emp, branch, lead, open_=None, *, lost=None, reason=None, recalled=None,
            risk=None, profile=None, completed=None, phone=None, id_no=None):
    n = int(cid[1:])
    return {
        "client_id": cid, "client_name": name,
        "phone": phone or f"1380000{n:04d}", "id_no": id_no or f"11010119800101{n:04d}",
        "branch_id": branch, "employee_id": emp, "lead_date": lead, "lead_source": "网点",
        "open_date": open_, "lost_date": lost, "lost_reason": reason, "recalled_date": recalled,
        "risk_level": risk[1] if risk else None, "risk_assessed_on": risk[0] if risk else None,
        **(profile if profile is not None else _NONE), "profile_completed_on": completed,
    }


CLIENTS = [
    # E1 / B01
    _client("C01", "赵一", "E1", "B01", "2023-12-20", "2024-01-10", risk=("2026-01-05", "C3"),
            profile=_FULL, completed="2024-02-01"),                      # old account, all good
    _client("C02", "钱二", "E1", "B01", "2026-09-28", "2026-10-05", risk=("2026-10-05", "C2"),
            profile={**_FULL, "email": None}),                          # new in Oct, no email
    _client("C03", "孙三", "E1", "B01", "2026-10-20"),                   # lead, never followed up
    _client("C04", "李四", "E1", "B01", "2025-05-20", "2025-06-01", lost="2026-10-15", reason="销户",
            risk=("2025-06-01", "C3"), profile=_FULL, completed="2025-06-10"),
    # E2 / B01
    _client("C05", "周五", "E2", "B01", "2025-02-01", "2025-03-01", risk=("2024-08-01", "C1"),
            profile={**_FULL, "occupation": None, "address": None}),   # expired assessment
    _client("C06", "吴六", "E2", "B01", "2026-10-02"),                   # lead, followed up late
    _client("C11", "郑十一", "E2", "B01", "2025-12-01", "2026-09-20", risk=("2026-09-20", "C4"),
            profile=_FULL, completed="2026-10-18"),                      # never called back
    # E3 / B02
    _client("C07", "王七", "E3", "B02", "2020-04-01", "2020-05-01", risk=("2026-10-20", "C5"),
            profile=_FULL, completed="2020-05-10"),                      # big account
    _client("C08", "冯八", "E3", "B02", "2026-07-20", "2026-08-10", risk=("2026-08-10", "C3"),
            profile=_FULL, completed="2026-09-15"),
    _client("C09", "陈九", "E3", "B02", "2019-01-01", "2019-02-01", lost="2026-09-10", reason="转托管",
            recalled="2026-10-12", risk=("2025-01-01", "C2"), profile=_FULL, completed="2019-02-05"),
    _client("C10", "褚十", "E3", "B02", "2026-10-30"),                   # lead, task still running
    _client("C12", "卫十二", "E3", "B02", "2024-01-01", "2024-02-01", lost="2026-10-20",
            reason="资产流出", risk=("2025-02-01", "C3"), profile=_FULL, completed="2024-02-10"),
]

RISK_ASSESSMENTS = [
    ("C01", "2024-01-10", "C3"), ("C01", "2026-01-05", "C3"),   # renewed before expiry: no task
    ("C02", "2026-10-05", "C2"),
    ("C04", "2025-06-01", "C3"),
    ("C05", "2024-08-01", "C1"),                                 # expired 2026-08-01, never renewed
    ("C07", "2024-09-15", "C5"), ("C07", "2026-10-20", "C5"),   # expired 2026-09-15, renewed late
    ("C08", "2026-08-10", "C3"),
    ("C09", "2025-01-01", "C2"),
    ("C11", "2026-09-20", "C4"),
    ("C12", "2025-02-01", "C3"),
]


def _cm(cid, month, emp, begin, end, inflow=0.0, pnl=0.0, trade=0.0, days=0, comm=0.0):
    return {"client_id": cid, "month": month, "employee_id": emp, "assets_begin": begin,
            "assets_end": end, "net_inflow": inflow, "trade_amount": trade, "trade_days": days,
            "commission": comm, "pnl": pnl}


CLIENT_MONTHS = [
    _cm("C01", "2026-08", "E1", 200000, 210000, 0, 10000, 50000, 3, 50),
    _cm("C01", "2026-09", "E1", 210000, 205000, 0, -5000),
    _cm("C01", "2026-10", "E1", 205000, 230000, 20000, 5000, 100000, 5, 120),
    _cm("C02", "2026-10", "E1", 0, 50000, 50000, 0, 20000, 2, 30),
    _cm("C04", "2026-08", "E1", 80000, 80000),
    _cm("C04", "2026-09", "E1", 80000, 80000),
    _cm("C04", "2026-10", "E1", 80000, 0, -80000),
    _cm("C05", "2026-08", "E2", 5000, 5000),
    _cm("C05", "2026-09", "E2", 5000, 5000),
    _cm("C05", "2026-10", "E2", 5000, 5000),
    _cm("C11", "2026-09", "E2", 0, 30000, 30000),
    _cm("C11", "2026-10", "E2", 30000, 31000, 0, 1000, 10000, 1, 10),
    _cm("C07", "2026-08", "E3", 1000000, 1020000, 0, 20000, 300000, 8, 300),
    _cm("C07", "2026-09", "E3", 1020000, 1000000, -30000, 10000, 200000, 6, 200),
    _cm("C07", "2026-10", "E3", 1000000, 1050000, 0, 50000, 400000, 10, 400),
    _cm("C08", "2026-08", "E3", 0, 100000, 100000, 0, 50000, 2, 50),
    _cm("C08", "2026-09", "E3", 100000, 102000, 0, 2000),
    _cm("C08", "2026-10", "E3", 102000, 101000, 0, -1000),
    _cm("C09", "2026-08", "E3", 60000, 60000),
    _cm("C09", "2026-09", "E3", 60000, 0, -60000),
    _cm("C09", "2026-10", "E3", 0, 40000, 40000, 0, 5000, 1, 5),
    _cm("C12", "2026-08", "E3", 30000, 30000),
    _cm("C12", "2026-09", "E3", 30000, 30000),
    _cm("C12", "2026-10", "E3", 30000, 8000, -22000),
]

# (contact_id, employee, client, time, channel, purpose)
CONTACTS = [
    (1, "E1", "C02", "2026-09-29 10:00:00", "电话", "潜客跟进"),
    (2, "E1", "C02", "2026-10-08 10:00:00", "电话", "开户回访"),
    (3, "E1", "C04", "2026-10-25 10:00:00", "电话", "流失挽回"),
    (4, "E1", "C01", "2026-10-10 14:00:00", "微信", "日常服务"),
    (5, "E2", "C06", "2026-10-07 09:30:00", "电话", "潜客跟进"),
    (6, "E3", "C07", "2026-10-09 15:00:00", "面访", "日常服务"),
    (7, "E3", "C08", "2026-08-20 10:00:00", "电话", "开户回访"),
    (8, "E3", "C09", "2026-09-12 10:00:00", "电话", "流失挽回"),
    (9, "E3", "C07", "2026-08-15 11:00:00", "微信", "投资建议"),
    (10, "E3", "C08", "2026-10-21 10:00:00", "电话", "日常服务"),
]

# (survey_id, client, employee, date, score)
SURVEYS = [
    (1, "C07", "E3", "2026-10-20", 5),
    (2, "C01", "E1", "2026-10-15", 4),
    (3, "C02", "E1", "2026-10-28", 3),
    (4, "C08", "E3", "2026-09-25", 4),
]

INCIDENTS = [(1, "E2", "2026-10-12", "C01", 5.0, "客户投诉服务不及时")]

MARKET = [("2026-08", 0.012, 0.0015), ("2026-09", -0.02, 0.0015), ("2026-10", 0.03, 0.0015)]

REVIEWS = [
    ("2026H1", "E1", "E1", "self", "专业能力", 85.0),
    ("2026H1", "E1", "E3", "peer", "专业能力", 80.0),
    ("2026H1", "E2", "E1", "superior", "服务态度", 75.0),
    ("2026H1", "E3", "E3", "self", "问题解决", 90.0),
]


def _insert_dicts(con, table: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    con.executemany(sql, [[r[c] for c in cols] for r in rows])


def _insert_tuples(con, table: str, rows: list[tuple]) -> None:
    con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)


def build_tiny_store(path: str | Path) -> Path:
    """Write the tiny store to ``path`` (replacing it) and return the path."""
    path = Path(path)
    con = create_store(path, overwrite=True)
    try:
        _insert_dicts(con, "branches", BRANCHES)
        _insert_dicts(con, "employees", EMPLOYEES)
        _insert_dicts(con, "clients", CLIENTS)
        _insert_dicts(con, "client_months", CLIENT_MONTHS)
        _insert_tuples(con, "contacts", CONTACTS)
        _insert_tuples(con, "risk_assessments", RISK_ASSESSMENTS)
        _insert_tuples(con, "surveys", SURVEYS)
        _insert_tuples(con, "incidents", INCIDENTS)
        _insert_tuples(con, "market", MARKET)
        _insert_tuples(con, "reviews", REVIEWS)
    finally:
        con.close()
    return path


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> Path:
    """Path of the tiny store (built once per test session; treat it as read-only)."""
    return build_tiny_store(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture
def tiny_con(tiny_store):
    """An open read-only connection to the tiny store."""
    con = open_store(tiny_store)
    yield con
    con.close()


def params_with(tmp_path: Path, scorecard: dict) -> Path:
    """A copy of the repository's parameters folder in ``tmp_path`` with ``scorecard`` (plain data)
    as its scorecard.yaml."""
    import shutil

    import yaml

    dst = tmp_path / "parameters"
    shutil.copytree(Path(__file__).resolve().parents[1] / "parameters", dst)
    (dst / "scorecard.yaml").write_text(yaml.safe_dump(scorecard, allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
    return dst


@pytest.fixture(scope="session")
def params_dir() -> Path:
    """The repository's parameters folder."""
    return Path(__file__).resolve().parents[1] / "parameters"


@pytest.fixture()
def read_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, str]]]:
    """Every ``Snapshot.read`` while the test runs: (frame, the id columns it filtered by)."""
    from perfkit.month.snapshot import Snapshot

    calls: list[tuple[str, dict[str, str]]] = []
    real = Snapshot.read

    def spy(self: Snapshot, name: str, **kw: object) -> object:
        calls.append((name, {k: v for k, v in kw.items() if k not in ("part", "any_of")}))
        return real(self, name, **kw)

    monkeypatch.setattr(Snapshot, "read", spy)
    return calls


@pytest.fixture(scope="session")
def default_demo_store(tmp_path_factory) -> Path:
    """The store ``perfkit demo`` builds with its default flags and seed (12 branches, 180 employees,
    60,000 clients, 13 months to 2026-10; about 10 s), built once per session; treat it as read-only."""
    from perfkit.data.demo import generate

    path = tmp_path_factory.mktemp("demo_default") / "crm.duckdb"
    generate(path)
    return path
