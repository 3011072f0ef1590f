"""Demo generator, clients: leads and accounts, the monthly simulation of every account, risk
assessments and the clients table with its profile fields (all vectorised); their contacts and
surveys are :mod:`perfkit.data.demo.contacts`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from perfkit.data.demo import reference as D
from perfkit.data.demo.base import (
    MANAGER,
    NO_DAY,
    _Calendar,
    _cat,
    _dates,
    _join,
    _num,
    _strs,
    _take,
    _uniform_day,
    _ymd,
)
from perfkit.data.demo.staff import _Params, _person_names, _Staff
from perfkit.data.schema import INCOME_BANDS, LOST_REASONS, RISK_LEVELS


@dataclass
class _Clients:
    """Every lead and account (index = position in these arrays, not the client number)."""

    owner0: np.ndarray  # employee who registered / was first given the client
    lead: np.ndarray
    open: np.ndarray  # NO_DAY = still a lead
    source: np.ndarray
    cno: np.ndarray  # client number (1-based, in order of registration)
    acct: np.ndarray  # indices of accounts
    open_m: np.ndarray  # per account: month index of open_date (−1 = before the window)
    # set by the monthly simulation (per account)
    lost: np.ndarray | None = None
    lost_m: np.ndarray | None = None
    reason: np.ndarray | None = None
    recalled: np.ndarray | None = None
    rec_m: np.ndarray | None = None
    a_ref: np.ndarray | None = None
    active_trader: np.ndarray | None = None
    lam: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.owner0)


def _clients(rng: np.random.Generator, n: int, s: _Staff, p: _Params, cal: _Calendar,
             ret: np.ndarray) -> _Clients:
    T = len(cal.labels)
    n_old = int(round(n * 0.36)) if p.book_w.sum() > 0 else 0
    n_new = n - n_old
    # Accounts opened before the window, spread over the books of the employees.
    owner_old = rng.choice(s.n, size=n_old, p=p.book_w / p.book_w.sum()) if n_old else np.zeros(0, np.int64)
    age_days = np.minimum(np.floor(rng.gamma(2.0, 1.6, n_old) * 365.25), 20 * 365).astype(np.int64)
    open_old = cal.first - 1 - age_days
    lead_old = open_old - np.floor(rng.exponential(20.0, n_old)).astype(np.int64)
    # Leads registered during the window: employee × month cells weighted by skill, time employed
    # and the market mood (more leads after a rising month).
    days = (cal.end - cal.start + 1).astype(float)
    lo = np.maximum(cal.start[None, :], s.hire[:, None])
    hi = np.minimum(cal.end[None, :], s.leave[:, None])
    frac = np.clip((hi - lo + 1) / days[None, :], 0.0, 1.0)
    w = p.lead_w[:, None] * frac * np.exp(2.0 * ret)[None, :]
    if w.sum() <= 0:
        w = np.ones_like(w) * (frac > 0)
    cell = rng.choice(s.n * T, size=n_new, p=(w / w.sum()).ravel())
    owner_new, t_new = cell // T, cell % T
    lead_new = _uniform_day(rng, lo[owner_new, t_new], hi[owner_new, t_new])
    converts = rng.random(n_new) < p.conv[owner_new]
    delay = 1 + np.minimum(np.floor(rng.gamma(1.6, 14.0, n_new)), 119).astype(np.int64)
    open_new = np.where(converts & (lead_new + delay <= cal.last), lead_new + delay, NO_DAY)

    owner0 = np.concatenate([owner_old, owner_new]).astype(np.int64)
    lead = np.concatenate([lead_old, lead_new]).astype(np.int64)
    opened = np.concatenate([open_old, open_new]).astype(np.int64)
    w_src = np.array([x[1] for x in D.LEAD_SOURCES])
    source = rng.choice(len(w_src), size=n, p=w_src / w_src.sum())
    # client numbers in order of registration; arrays are kept in that order
    order = np.lexsort((np.arange(n), lead))
    owner0, lead, opened, source = owner0[order], lead[order], opened[order], source[order]
    cno = np.arange(1, n + 1, dtype=np.int64)
    acct = np.flatnonzero(opened < NO_DAY)
    open_m = cal.month_of(opened[acct])
    return _Clients(owner0=owner0, lead=lead, open=opened, source=source, cno=cno, acct=acct,
                    open_m=open_m)


@dataclass
class _Months:
    """client_months rows (and the day range each row covers, for dating contacts and surveys)."""

    acct: np.ndarray  # index into _Clients.acct
    t: np.ndarray
    owner: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    inflow: np.ndarray
    trade: np.ndarray
    tdays: np.ndarray
    comm: np.ndarray
    pnl: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _simulate(rng: np.random.Generator, c: _Clients, s: _Staff, p: _Params, cal: _Calendar,
              ret: np.ndarray) -> _Months:
    """Month-by-month balances, flows, trading, churn and recall of every account (vectorised)."""
    T = len(cal.labels)
    k = len(c.acct)
    owner0 = c.owner0[c.acct]
    open_day = c.open[c.acct]
    af = p.asset_f[owner0]
    beta = np.clip(rng.normal(1.0, 0.28, k), 0.15, 1.9)
    kind = rng.random(k)
    kind = np.where(c.open_m >= 0, 0.15 + 0.85 * kind, kind)  # new clients open an account to trade
    p_trade = np.where(kind < 0.35, 0.004, np.where(kind < 0.75, rng.beta(1.2, 12.0, k), rng.beta(3.0, 4.0, k)))
    turn = rng.lognormal(np.log(0.15), 0.5, k)
    rate = np.clip(0.00025 * np.exp(rng.normal(0, 0.3, k)), 0.0001, 0.0008)
    min5 = rng.random(k) < 0.4
    # a new client's wealth depends less on who serves him than an old book's does
    a_ref = np.where(c.open_m < 0, rng.lognormal(np.log(4.0e4), 1.3, k) * af,
                     rng.lognormal(np.log(4.5e4), 1.0, k) * np.sqrt(af))
    # 高净值客户 (median 300万) in older books, served by senior managers, advisers and branch heads
    vip_share = np.where(s.pos == MANAGER, np.array([0.0, 0.002, 0.006, 0.015])[np.maximum(s.level, 0)],
                         np.array([0.0, 0.02, 0.03, 0.05])[s.pos])
    vip = (c.open_m < 0) & (rng.random(k) < vip_share[owner0])
    a_ref = np.where(vip, rng.lognormal(np.log(3.0e6), 1.0, k) * np.sqrt(af), a_ref)
    a_ref = np.round(np.maximum(a_ref, 100.0), 2)
    # Service coverage: chance of a routine contact in a quarter; larger clients are served more.
    boost = 1.0 + 0.25 * np.clip(np.log10(a_ref / 1e5), -1, 2)
    cover = np.clip(p.coverage[owner0] * np.exp(rng.normal(0, 0.25, k)), 0.03, 0.99)
    cover = np.minimum(1.0 - (1.0 - cover) ** boost, 0.95)
    lam = -np.log(1.0 - cover) / 3.0  # routine contacts per month
    hazard = 0.018 * np.exp(-1.5 * cover) * rng.lognormal(-0.125, 0.5, k) * np.where(a_ref < 1e4, 1.4, 1.0)

    lost_m = np.full(k, -1, dtype=np.int64)
    rec_m = np.full(k, -1, dtype=np.int64)
    lost = np.full(k, NO_DAY, dtype=np.int64)
    recalled = np.full(k, NO_DAY, dtype=np.int64)
    reason = np.full(k, -1, dtype=np.int64)
    assets = np.where(c.open_m < 0, a_ref, 0.0)
    # pass 1: which months each account has a row (churn and recall do not depend on balances)
    for t in range(T):
        # churn this month (not in the month of opening, never twice)
        mood = 1.0 + 0.4 * max(-ret[t], 0.0) / 0.05  # falling markets lose more clients
        u = rng.random(k)
        lose = (c.open_m < t) & (lost_m < 0) & (u < hazard * mood)
        lost_m[lose] = t
        nl = int(lose.sum())
        lost[lose] = _uniform_day(rng, np.full(nl, cal.start[t]), np.full(nl, cal.end[t]))
        reason[lose] = rng.choice(3, size=nl, p=[0.35, 0.30, 0.35])
        back = rng.random(nl) < p.recall_p[s.owner(owner0[lose], np.full(nl, t), by_month=True)]
        when = t + 1 + rng.integers(0, 3, nl)
        idx_l = np.flatnonzero(lose)
        ok = back & (when <= T - 1)
        rec_m[idx_l[ok]] = when[ok]
        recalled[idx_l[ok]] = _uniform_day(rng, cal.start[when[ok]], cal.end[when[ok]])

    start = np.maximum(c.open_m, 0)
    gap = np.where(lost_m >= 0, np.where(rec_m >= 0, rec_m - lost_m - 1, T - 1 - lost_m), 0)
    count = T - start - gap
    offset = np.cumsum(count) - count  # rows are written in key order (client number, month)
    seen = np.zeros(k, dtype=np.int64)
    n_rows = int(count.sum())
    out_i = {name: np.zeros(n_rows, dtype=np.int64) for name in ("acct", "t", "owner", "tdays", "lo", "hi")}
    out_f = {name: np.zeros(n_rows) for name in ("begin", "end", "inflow", "trade", "comm", "pnl")}
    # pass 2: balances, flows and trading month by month
    for t in range(T):
        gone = (lost_m >= 0) & (lost_m < t) & ~((rec_m >= 0) & (rec_m <= t))
        r = np.flatnonzero((c.open_m <= t) & ~gone)
        m = len(r)
        own = s.owner(owner0[r], np.full(m, t), by_month=True)
        opening = c.open_m[r] == t
        resuming = rec_m[r] == t
        leaving = lost_m[r] == t
        lo = np.full(m, cal.start[t])
        lo = np.where(opening, open_day[r], lo)
        lo = np.where(resuming, recalled[r], lo)
        hi = np.where(leaving, lost[r], cal.end[t])
        share = (hi - lo + 1) / (cal.end[t] - cal.start[t] + 1)
        ab = np.where(opening, 0.0, assets[r])
        ar = a_ref[r]
        # flows: regular small ones, occasional large deposits or withdrawals (drawn only where used)
        u = rng.random(m)
        flow = np.zeros(m)
        sel = np.flatnonzero(u < 0.45)
        flow[sel] = ab[sel] * rng.normal(p.flow_mu[own[sel]], 0.05)
        sel = np.flatnonzero((u >= 0.45) & (u < 0.463))
        flow[sel] = ar[sel] * rng.lognormal(-0.7, 0.6, len(sel))
        sel = np.flatnonzero(u >= 0.985)
        flow[sel] = -ab[sel] * rng.uniform(0.1, 0.5, len(sel))
        flow[opening] = ar[opening]
        sel = np.flatnonzero(resuming)
        flow[sel] = ar[sel] * rng.lognormal(-0.5, 0.5, len(sel))
        mret = beta[r] * ret[t] + p.alpha[own] + 0.045 * beta[r] * rng.standard_normal(m)
        mret = np.clip(mret, -0.6, 1.0) * np.where(opening | resuming, share, 1.0)
        pnl = np.round((ab + 0.5 * np.maximum(flow, 0.0)) * mret, 2)
        flow = np.round(flow, 2)
        # leaving: 销户 / 转托管 empty the account, 资产流出 leaves a small balance (< 1,000 元)
        residue = np.zeros(m)
        sel = np.flatnonzero(leaving & (reason[r] == 2))
        residue[sel] = np.round(rng.uniform(0, 900, len(sel)), 2)
        residue = np.minimum(residue, np.maximum(np.round(ab + pnl, 2), 0.0))
        flow = np.where(leaving, np.round(residue - ab - pnl, 2), flow)
        neg = ab + flow + pnl < 0
        flow = np.where(neg, np.round(-(ab + pnl), 2), flow)
        end = np.maximum(np.round(ab + flow + pnl, 2), 0.0)
        base = (ab + end) / 2.0
        td = rng.binomial(np.round(cal.tdays[t] * share).astype(np.int64), p_trade[r])
        td = np.where(base < 100.0, 0, td)
        trade = np.round(td * base * turn[r] * rng.lognormal(0, 0.35, m), 2)
        comm = trade * rate[r]
        comm = np.round(np.where(min5[r] & (td > 0), np.maximum(comm, np.minimum(5.0 * td, trade * 0.003)), comm), 2)
        assets[r] = end
        pos = offset[r] + seen[r]
        seen[r] += 1
        for name, v in (("acct", r), ("t", t), ("owner", own), ("tdays", td), ("lo", lo), ("hi", hi)):
            out_i[name][pos] = v
        for name, v in (("begin", ab), ("end", end), ("inflow", flow), ("trade", trade), ("comm", comm),
                        ("pnl", pnl)):
            out_f[name][pos] = v

    c.lost, c.lost_m, c.reason, c.recalled, c.rec_m = lost, lost_m, reason, recalled, rec_m
    c.a_ref, c.active_trader, c.lam = a_ref, kind >= 0.75, lam
    return _Months(acct=out_i["acct"], t=out_i["t"], owner=out_i["owner"], begin=out_f["begin"],
                   end=out_f["end"], inflow=out_f["inflow"], trade=out_f["trade"],
                   tdays=out_i["tdays"], comm=out_f["comm"], pnl=out_f["pnl"], lo=out_i["lo"],
                   hi=out_i["hi"])


# ----------------------------------------------------------------------------- risk assessments


@dataclass
class _Risk:
    acct: np.ndarray  # index into _Clients.acct
    day: np.ndarray
    level: np.ndarray
    renewal: np.ndarray  # not the first assessment
    last_day: np.ndarray  # per account
    last_level: np.ndarray
    remind_acct: np.ndarray  # assessments that expire in the window without a timely renewal
    remind_day: np.ndarray


def _risk(rng: np.random.Generator, c: _Clients, cal: _Calendar, validity: int = 730) -> _Risk:
    """First assessment at opening, then renewals around expiry (some late, some never)."""
    k = len(c.acct)
    cur = c.open[c.acct].copy()
    lvl = rng.choice(5, size=k, p=[0.06, 0.17, 0.40, 0.26, 0.11])
    lvl = np.minimum(lvl + ((c.active_trader) & (rng.random(k) < 0.4)), 4)
    rows = [(np.arange(k), cur.copy(), lvl.copy(), np.zeros(k, dtype=bool))]
    alive = np.ones(k, dtype=bool)
    lost, recalled = c.lost, c.recalled
    rem_a: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    rem_d: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    while alive.any():
        u = rng.random(k)
        delay = np.where(u < 0.5, -rng.integers(0, 46, k),
                         np.where(u < 0.93, rng.integers(1, 31, k), rng.integers(31, 201, k)))
        nxt = cur + validity + delay
        gone = (lost < NO_DAY) & (nxt > lost) & ~((recalled < NO_DAY) & (nxt >= recalled))
        ok = alive & (u < 0.96) & (nxt <= cal.last) & ~gone
        expiry = cur + validity
        late = alive & (expiry >= cal.first) & (expiry <= cal.last) & (~ok | (nxt > expiry)) & (expiry < lost)
        rem_a.append(np.flatnonzero(late))
        rem_d.append(expiry[late])
        lvl = np.clip(lvl + np.where(u < 0.1, -1, np.where(rng.random(k) < 0.1, 1, 0)), 0, 4)
        cur = np.where(ok, nxt, cur)
        idx = np.flatnonzero(ok)
        rows.append((idx, cur[idx], lvl[idx], np.ones(len(idx), dtype=bool)))
        alive &= ok
    cols = [np.concatenate([r[i] for r in rows]) for i in range(4)]
    order = np.lexsort((cols[1], c.cno[c.acct[cols[0]]]))  # key order (client, date)
    cols = [x[order] for x in cols]
    last_day = np.full(k, -1, dtype=np.int64)
    last_level = np.zeros(k, dtype=np.int64)
    order = np.lexsort((cols[1], cols[0]))  # latest row per account wins
    last_day[cols[0][order]] = cols[1][order]
    last_level[cols[0][order]] = cols[2][order]
    return _Risk(cols[0], cols[1], cols[2], cols[3], last_day, last_level,
                 np.concatenate(rem_a), np.concatenate(rem_d))


# ----------------------------------------------------------------------------- clients table


@dataclass
class _Profile:
    table: pa.Table
    client_ids: pa.Array  # per client index
    completed: np.ndarray  # profile_completed_on per client (NO_DAY = incomplete)


def _client_table(rng: np.random.Generator, c: _Clients, s: _Staff, p: _Params, cal: _Calendar,
                  risk: _Risk, emp_ids: pa.Array, branch_ids: pa.Array, client_ids: pa.Array) -> _Profile:
    n = c.n
    is_acct = c.open < NO_DAY
    a_pos = np.full(n, -1, dtype=np.int64)
    a_pos[c.acct] = np.arange(len(c.acct))

    def per_client(values: np.ndarray, fill) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        out[c.acct] = values
        return out

    lost = per_client(c.lost, NO_DAY)
    reason = per_client(c.reason, -1)
    recalled = per_client(c.recalled, NO_DAY)
    a_ref = per_client(c.a_ref, 0.0)
    owner = c.owner0 if s.leaver < 0 else np.where(c.owner0 == s.leaver, s.successor, c.owner0)
    branch = s.branch[c.owner0]

    # names
    sur, g1, g2 = _person_names(rng, n)
    sur_s = _strs(x[0] for x in D.SURNAMES)
    giv_s = _strs([x[0] for x in D.GIVEN_CHARS] + [""])
    g2i = np.where(g2 < 0, len(D.GIVEN_CHARS), g2)
    name = _join(_take(sur_s, sur), _take(giv_s, g1), _take(giv_s, g2i))
    # phone
    prefixes = np.array([int(x) for x in D.PHONE_PREFIXES], dtype=np.int64)
    phone = _num(prefixes[rng.integers(0, len(prefixes), n)] * 10**8 + rng.integers(0, 10**8, n))
    # home district (the branch's city mostly) and birth date
    dist_name = [d[0] for x in D.CITIES for d in x[4]]
    dist_code = np.array([int(d[1]) for x in D.CITIES for d in x[4]], dtype=np.int64)
    off = np.concatenate([[0], np.cumsum([len(x[4]) for x in D.CITIES])[:-1]])
    cnt = np.array([len(x[4]) for x in D.CITIES])
    city = np.where(rng.random(n) < 0.85, s.branch_city[branch], rng.integers(0, len(D.CITIES), n))
    dist = off[city] + np.floor(rng.random(n) * cnt[city]).astype(np.int64)
    age = np.where(is_acct, np.clip(rng.normal(46, 13, n), 20, 85), np.clip(rng.normal(36, 11, n), 18, 75))
    birth = cal.last - np.floor(age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    ref = np.where(is_acct, c.open, c.lead)
    birth = np.minimum(birth, ref - 6575)  # 18 years old at registration
    area = np.where(rng.random(n) < 0.65, dist_code[dist], dist_code[rng.integers(0, len(dist_code), n)])
    body = area * 10**11 + _ymd(birth) * 1000 + rng.integers(0, 1000, n)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    rest = body.copy()
    for w in weights[::-1]:
        total += (rest % 10) * w
        rest //= 10
    check = _take(_strs("10X98765432"), total % 11)
    id_null = ~is_acct & (rng.random(n) < 0.6)
    id_no = pc.if_else(pa.array(id_null), pa.scalar(None, pa.string()), _join(_num(body), check))

    # profile fields
    occ_w = np.array([x[1] for x in D.OCCUPATIONS])
    occ = rng.choice(len(occ_w), size=n, p=occ_w / occ_w.sum())
    retired = [x[0] for x in D.OCCUPATIONS].index("离退休人员")
    student = [x[0] for x in D.OCCUPATIONS].index("学生")
    occ = np.where((age >= 60) & (rng.random(n) < 0.85), retired, occ)
    occ = np.where((age < 23) & (rng.random(n) < 0.5), student, occ)
    band_x = np.log10(np.maximum(a_ref, 1.0)) + rng.normal(0, 0.35, n)
    band = np.where(is_acct, np.searchsorted([4.6, 5.1, 5.5, 5.9], band_x),
                    rng.choice(5, size=n, p=[0.3, 0.35, 0.17, 0.12, 0.06]))
    city_s = _strs(x[0] + "市" for x in D.CITIES)
    roads = _strs(D.ADDRESS_ROADS)
    address = _join(
        _take(city_s, city), _take(_strs(dist_name), dist), _take(roads, rng.integers(0, len(D.ADDRESS_ROADS), n)),
        _num(rng.integers(1, 1200, n)), "号", _num(rng.integers(1, 30, n)), "栋",
        _num(rng.integers(1, 33, n) * 100 + rng.integers(1, 7, n)), "室",
    )
    py_sur = _strs(x[1] for x in D.SURNAMES)
    py_giv = _strs([x[1] for x in D.GIVEN_CHARS] + [""])
    kind = rng.random(n)
    suffix = pc.if_else(pa.array(kind < 0.5), _num(_ymd(birth) // 10000 % 100, 2), _num(rng.integers(1, 999, n)))
    suffix = pc.if_else(pa.array(kind < 0.75), suffix, "")
    email = _join(_take(py_sur, sur), _take(py_giv, g1), _take(py_giv, g2i), suffix, "@",
                  _take(_strs(D.EMAIL_DOMAINS), rng.integers(0, len(D.EMAIL_DOMAINS), n)))
    qq = _join(_num(rng.integers(10**5, 3 * 10**9, n)), "@qq.com")
    email = pc.if_else(pa.array(rng.random(n) < 0.35), qq, email)

    dil = s.dil[c.owner0]
    miss = np.zeros((n, 4), dtype=bool)
    pick = rng.integers(0, 4, n)
    rows = np.arange(n)
    incomplete = is_acct & (rng.random(n) < 0.03 + 0.25 * (1 - dil) ** 1.5)
    miss |= incomplete[:, None] & (rng.random((n, 4)) < 0.45)
    miss[rows[incomplete], pick[incomplete]] = True
    miss |= ~is_acct[:, None] & (rng.random((n, 4)) > 0.3)
    lag = np.where(rng.random(n) < 0.5, 0, np.floor(rng.exponential(5 + 40 * (1 - dil))))
    completed = np.where(is_acct, c.open + lag, c.lead + np.floor(rng.exponential(10.0, n))).astype(np.int64)
    late = ~miss.any(axis=1) & (completed > cal.last)
    miss[rows[late], pick[late]] = True
    completed = np.where(miss.any(axis=1), NO_DAY, completed)

    risk_day = np.full(n, NO_DAY, dtype=np.int64)
    risk_lvl = np.zeros(n, dtype=np.int64)
    risk_day[c.acct] = risk.last_day
    risk_lvl[c.acct] = risk.last_level

    table = pa.table(
        {
            "client_id": client_ids,
            "client_name": name,
            "phone": phone,
            "id_no": id_no,
            "branch_id": _cat(branch, branch_ids),
            "employee_id": _cat(owner, emp_ids),
            "lead_date": _dates(c.lead),
            "lead_source": _cat(c.source, [x[0] for x in D.LEAD_SOURCES]),
            "open_date": _dates(np.where(is_acct, c.open, 0), null=~is_acct),
            "lost_date": _dates(np.where(lost < NO_DAY, lost, 0), null=lost >= NO_DAY),
            "lost_reason": _cat(np.maximum(reason, 0), LOST_REASONS, null=reason < 0),
            "recalled_date": _dates(np.where(recalled < NO_DAY, recalled, 0), null=recalled >= NO_DAY),
            "risk_level": _cat(risk_lvl, RISK_LEVELS, null=risk_day >= NO_DAY),
            "risk_assessed_on": _dates(np.where(risk_day < NO_DAY, risk_day, 0), null=risk_day >= NO_DAY),
            "occupation": _cat(occ, [x[0] for x in D.OCCUPATIONS], null=miss[:, 0]),
            "address": pc.if_else(pa.array(miss[:, 1]), pa.scalar(None, pa.string()), address),
            "email": pc.if_else(pa.array(miss[:, 2]), pa.scalar(None, pa.string()), email),
            "income_band": _cat(band, INCOME_BANDS, null=miss[:, 3]),
            "profile_completed_on": _dates(np.where(completed < NO_DAY, completed, 0), null=completed >= NO_DAY),
        }
    )
    return _Profile(table, client_ids, completed)
