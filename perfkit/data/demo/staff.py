"""Demo generator, people: branches, employees and their behaviour, 360 reviews, incidents,
and the market index. Employees differ in skill and diligence; :class:`Params` turns those
into the rates the client simulation uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from perfkit.data.demo import reference as D
from perfkit.data.demo.base import (
    ADVISER,
    HEAD,
    MANAGER,
    NO_DAY,
    PLANNER,
    _Calendar,
    _cat,
    _codes,
    _dates,
    _sigmoid,
    _strs,
    _uniform_day,
)
from perfkit.data.schema import LEVELS, POSITIONS, RELATIONS

# ----------------------------------------------------------------------------- branches & staff


@dataclass
class _Staff:
    branch_city: np.ndarray  # per branch: index into D.CITIES
    branch_table: pa.Table
    branch: np.ndarray  # per employee
    pos: np.ndarray
    level: np.ndarray  # −1 = none
    hire: np.ndarray
    leave: np.ndarray  # NO_DAY = still employed
    skill: np.ndarray
    dil: np.ndarray
    quality: np.ndarray
    names: list[str]
    new_hire: int  # −1 when the sizes do not allow one
    leaver: int
    successor: int
    leave_month: int

    @property
    def n(self) -> int:
        return len(self.branch)

    def owner(self, emp: np.ndarray, days_or_month: np.ndarray, *, by_month: bool = False) -> np.ndarray:
        """Who serves a client of ``emp`` on a day (or in a month index): the leaver's successor
        after the leave date (by month: from the month after the leave month)."""
        if self.leaver < 0:
            return emp
        late = days_or_month > self.leave_month if by_month else days_or_month > self.leave[self.leaver]
        return np.where((emp == self.leaver) & late, self.successor, emp)


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integer parts ≥ ``minimum`` proportional to ``weights`` (largest remainder)."""
    base = np.full(len(weights), minimum, dtype=np.int64)
    rest = total - base.sum()
    share = weights / weights.sum() * rest
    base += np.floor(share).astype(np.int64)
    left = total - base.sum()
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    base[order[:left]] += 1
    return base


def _person_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surname index, first and second given-character index (second = −1 for one-character names)."""
    share = np.array([s[2] for s in D.SURNAMES])
    sur = rng.choice(len(share), size=n, p=share / share.sum())
    g1 = rng.integers(0, len(D.GIVEN_CHARS), n)
    g2 = rng.integers(0, len(D.GIVEN_CHARS), n)
    g2[rng.random(n) < 0.28] = -1
    return sur, g1, g2


def _staff(rng: np.random.Generator, n_branches: int, n_emp: int, cal: _Calendar) -> _Staff:
    cities = D.CITIES
    names: list[str] = []
    city_idx = np.zeros(n_branches, dtype=np.int64)
    used: set[str] = set()
    for b in range(n_branches):
        ci = b % len(cities)
        city, _, _, roads, _ = cities[ci]
        city_idx[b] = ci
        free = [r for r in roads if f"{city}{r}证券营业部" not in used]
        road = free[int(rng.integers(len(free)))] if free else roads[int(rng.integers(len(roads)))]
        name, k = f"{city}{road}证券营业部", 1
        while name in used:
            k += 1
            name = f"{city}{road}第{k}证券营业部"
        used.add(name)
        names.append(name)
    branch_table = pa.table(
        {
            "branch_id": _codes("B", n_branches, 3),
            "branch_name": _strs(names),
            "region": _strs(cities[c][1] for c in city_idx),
            "city": _strs(cities[c][0] for c in city_idx),
            "region_class": _strs(cities[c][2] for c in city_idx),
        }
    )

    cls_weight = {"一类": 1.4, "二类": 1.0, "三四类": 0.75}
    sizes = _allocate(n_emp, np.array([cls_weight[cities[c][2]] for c in city_idx]), 1)
    branch = np.repeat(np.arange(n_branches), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = rng.choice([MANAGER, PLANNER, ADVISER], size=n_emp, p=[0.72, 0.15, 0.13])
    pos[first] = HEAD
    for b in range(n_branches):  # every branch with staff besides its head has a 客户经理
        if sizes[b] >= 2 and not (pos[first[b] : first[b] + sizes[b]] == MANAGER).any():
            pos[first[b] + 1] = MANAGER

    skill = rng.standard_normal(n_emp)
    dil = np.clip(rng.beta(4.0, 2.5, n_emp) + 0.05 * skill, 0.05, 0.98)
    quality = np.clip(0.55 * dil + 0.45 * _sigmoid(skill) + rng.normal(0, 0.08, n_emp), 0.0, 1.0)
    tenure = np.clip(rng.lognormal(np.log(4.0), 0.7, n_emp), 0.4, 25.0)
    tenure[pos == HEAD] += 5.0
    hire = cal.first - np.round(tenure * 365.25).astype(np.int64)
    n_months = len(cal.labels)
    if n_months >= 4:  # a few hires during the window (never in its last month)
        late = (pos != HEAD) & (rng.random(n_emp) < 0.04)
        k = rng.integers(1, max(2, n_months * 2 // 3), n_emp)
        hire = np.where(late, cal.start[np.minimum(k, n_months - 2)] + rng.integers(0, 20, n_emp), hire)
    in_window = hire >= cal.first

    score = 0.7 * skill + 0.8 * np.log(tenure) + rng.normal(0, 0.3, n_emp)
    level = np.full(n_emp, -1, dtype=np.int64)
    is_mgr = pos == MANAGER
    if is_mgr.any():
        cuts = np.quantile(score[is_mgr], [0.3, 0.65, 0.9])
        level[is_mgr] = np.searchsorted(cuts, score[is_mgr])
    level[is_mgr & ((tenure < 1.0) | in_window)] = 0

    leave = np.full(n_emp, NO_DAY, dtype=np.int64)
    new_hire = leaver = successor = -1
    leave_month = n_months // 2
    # Edge case 1: a new hire in the last month, with no clients (the largest branch's last member).
    big = int(np.argmax(sizes))
    if sizes[big] >= 2:
        new_hire = int(first[big] + sizes[big] - 1)
        pos[new_hire], level[new_hire] = MANAGER, 0
        hire[new_hire] = cal.start[-1] + int(rng.integers(0, 10))
        in_window[new_hire] = True
    # Edge case 2: a 客户经理 who left mid-window; a colleague of his branch takes his clients over.
    cands = [
        e for e in range(n_emp)
        if pos[e] == MANAGER and not in_window[e]
        and any(pos[o] == MANAGER and o != e and not in_window[o]
                for o in range(first[branch[e]], first[branch[e]] + sizes[branch[e]]))
    ]
    if not cands:
        cands = [e for e in range(n_emp) if pos[e] == MANAGER and not in_window[e] and sizes[branch[e]] >= 2]
    if cands:
        leaver = int(cands[int(rng.integers(len(cands)))])
        b = branch[leaver]
        mates = [o for o in range(first[b], first[b] + sizes[b])
                 if o != leaver and pos[o] == MANAGER and not in_window[o]]
        successor = int(mates[int(rng.integers(len(mates)))]) if mates else int(first[b])
        leave[leaver] = min(int(cal.start[leave_month]) + 14, int(cal.end[leave_month]))

    # Unique employee names.
    sur, g1, g2 = _person_names(rng, n_emp * 3)
    emp_names: list[str] = []
    seen: set[str] = set()
    for s, a, c in zip(sur, g1, g2, strict=True):
        name = D.SURNAMES[s][0] + D.GIVEN_CHARS[a][0] + (D.GIVEN_CHARS[c][0] if c >= 0 else "")
        if name not in seen:
            seen.add(name)
            emp_names.append(name)
        if len(emp_names) == n_emp:
            break
    while len(emp_names) < n_emp:  # astronomically unlikely; keeps the function total
        emp_names.append(f"{D.SURNAMES[0][0]}{D.GIVEN_CHARS[0][0]}{len(emp_names)}")

    return _Staff(
        branch_city=city_idx, branch_table=branch_table, branch=branch, pos=pos, level=level,
        hire=hire, leave=leave, skill=skill, dil=dil, quality=quality, names=emp_names,
        new_hire=new_hire, leaver=leaver, successor=successor, leave_month=leave_month,
    )


def _employee_table(staff: _Staff) -> pa.Table:
    n = staff.n
    ids = _codes("E", n, 5)
    return pa.table(
        {
            "employee_id": ids,
            "employee_name": _strs(staff.names),
            "branch_id": _cat(staff.branch, staff.branch_table["branch_id"].combine_chunks()),
            "position": _cat(staff.pos, POSITIONS),
            "level": _cat(np.maximum(staff.level, 0), LEVELS, null=staff.level < 0),
            "hire_date": _dates(staff.hire),
            "leave_date": _dates(np.where(staff.leave < NO_DAY, staff.leave, 0), null=staff.leave >= NO_DAY),
            # synthetic addresses on the reserved domain (RFC 2606): never a real mailbox
            "email": pa.array([f"{e.lower()}@example.com" for e in ids.to_pylist()], pa.string()),
        }
    )


# ----------------------------------------------------------------------------- behaviour & market


# Clients' wealth by the branch's region class, in the ratio of the published maintain standards
# (levels.yaml: 二类 about 0.8, 三四类 about 0.6 of 一类).
REGION_ASSETS = {"一类": 1.0, "二类": 0.8, "三四类": 0.6}


@dataclass
class _Params:
    """Per-employee behaviour derived from skill and diligence."""

    book_w: np.ndarray
    lead_w: np.ndarray
    asset_f: np.ndarray
    conv: np.ndarray
    alpha: np.ndarray
    flow_mu: np.ndarray
    coverage: np.ndarray
    fu_never: np.ndarray
    fu_mean: np.ndarray
    cb_ontime: np.ndarray
    recall_try: np.ndarray
    recall_p: np.ndarray


def _params(rng: np.random.Generator, s: _Staff, cal: _Calendar) -> _Params:
    n = s.n
    z, d = s.skill, s.dil
    tenure = np.clip((cal.first - s.hire) / 365.25, 0.1, None)
    pos_book = np.array([1.0, 0.7, 0.5, 0.3])[s.pos]
    # A 客户经理's book follows his level, other staff's their tenure. lvl_book (accounts) and lvl_asset
    # (wealth per account) are calibrated so that with the default sizes a book sits at about 1.5–1.8 ×
    # its level's maintain standard (levels.yaml): bench/demo_distributions.py, README.md.
    lvl_book = np.where(s.level >= 0, np.array([0.38, 0.9, 1.15, 1.5])[np.maximum(s.level, 0)], 1.0)
    ten = np.where(s.pos == MANAGER, 1.0, (np.minimum(tenure, 8) / 4) ** 0.3)
    book_w = pos_book * lvl_book * ten * np.exp(0.1 * z)
    book_w[s.hire >= cal.first] = 0.0  # hires during the window start without a book
    # juniors prospect more, seniors serve their books (new clients come from both)
    lvl_lead = np.where(s.level >= 0, np.array([1.25, 1.1, 1.0, 0.9])[np.maximum(s.level, 0)], 1.0)
    lead_w = np.array([1.0, 0.6, 0.4, 0.15])[s.pos] * lvl_lead * np.exp(0.15 * z + rng.normal(0, 0.15, n))
    if s.new_hire >= 0:
        lead_w[s.new_hire] = 0.0
    lvl_asset = np.array([0.6, 0.64, 1.0, 1.0])[np.maximum(s.level, 0)]
    asset_f = np.where(s.pos == MANAGER, lvl_asset, np.array([1.0, 1.1, 1.3, 1.6])[s.pos])
    region = np.array([REGION_ASSETS[D.CITIES[c][2]] for c in s.branch_city])[s.branch]
    return _Params(
        book_w=book_w,
        lead_w=lead_w,
        asset_f=asset_f * region * np.exp(0.1 * z),
        conv=np.clip(0.22 + 0.16 * _sigmoid(1.2 * z + rng.normal(0, 0.5, n)), 0.2, 0.4),
        alpha=0.003 * z + rng.normal(0, 0.003, n),
        flow_mu=0.005 + 0.003 * z + rng.normal(0, 0.002, n),
        coverage=np.clip(0.25 + 0.6 * d + rng.normal(0, 0.05, n), 0.15, 0.92),
        fu_never=0.01 + 0.2 * (1 - d) ** 2,
        fu_mean=0.5 + 5.0 * (1 - d) ** 2,
        cb_ontime=0.8 + 0.19 * d,
        recall_try=0.7 + 0.28 * d,
        recall_p=0.1 + 0.28 * d,
    )


def _market(rng: np.random.Generator, cal: _Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Monthly index return and risk-free rate (fractions), rounded to 6 decimals."""
    n = len(cal.labels)
    # Ordinary volatility around a rising market: the path differs by seed, the drift does not — the
    # shocks cancel within each half-year counted back from the last month (a short first block joins
    # the next), so books and flows, and the half-yearly level review built on them, do not hang on
    # one seed's market.
    shock = rng.normal(0.0, 0.055, n)
    block = np.minimum((n - 1 - np.arange(n)) // 6, max(n // 6 - 1, 0))
    shock -= (np.bincount(block, shock) / np.bincount(block))[block]
    ret = np.round(np.clip(0.006 + shock, -0.2, 0.2), 6)
    rf = np.round(0.00155 - 0.00001 * np.arange(n) + rng.normal(0, 0.00003, n), 6)
    return ret, rf


# ----------------------------------------------------------------------------- staff tables


def _reviews(rng: np.random.Generator, s: _Staff, cal: _Calendar, emp_ids: pa.Array) -> pa.Table:
    """360 reviews for each half-year that ends in the window (or the one holding its last month)."""
    periods = []
    for i, label in enumerate(cal.labels):
        year, month = int(label[:4]), int(label[5:])
        if month in (6, 12):
            periods.append((f"{year}H{1 if month == 6 else 2}", int(cal.end[i])))
    if not periods:
        year, month = int(cal.labels[-1][:4]), int(cal.labels[-1][5:])
        periods.append((f"{year}H{1 if month <= 6 else 2}", cal.last))
    z, d = s.skill, s.dil
    team = rng.normal(0, 1, s.n)
    ability = np.stack(
        [79 + 6 * z, 65 + 30 * d, 79 + 4 * z + 10 * (d - 0.6), 75 + 12 * (d - 0.6) + 3 * team, 77 + 5 * z],
        axis=1,
    )
    harsh = rng.normal(0, 3, s.n)
    bias = {"self": 6.0, "superior": -2.0, "peer": 1.0, "subordinate": 3.0}
    heads = {int(s.branch[e]): e for e in np.flatnonzero(s.pos == HEAD)}
    out: dict[str, list] = {"period": [], "reviewee": [], "reviewer": [], "relation": [], "dim": [], "score": []}
    for period, p_end in periods:
        on = (s.hire <= p_end - 60) & (s.leave > p_end)
        for e in np.flatnonzero(on):
            b = int(s.branch[e])
            mates = [o for o in np.flatnonzero(on & (s.branch == b) & (s.pos != HEAD)) if o != e]
            raters: list[tuple[int, str]] = [(int(e), "self")]
            if s.pos[e] == HEAD:
                others = [h for bb, h in heads.items() if bb != b and on[h]]
                raters += [(int(o), "peer") for o in _sample(rng, others, 2)]
                raters += [(int(o), "subordinate") for o in _sample(rng, mates, 3)]
            else:
                if b in heads and on[heads[b]]:
                    raters.append((int(heads[b]), "superior"))
                raters += [(int(o), "peer") for o in _sample(rng, mates, 3)]
            for rater, rel in raters:
                noise = rng.normal(0, 4, len(D.REVIEW_DIMENSIONS))
                sc = np.clip(ability[e] + bias[rel] + (0 if rel == "self" else harsh[rater]) + noise, 0, 100)
                for j in range(len(D.REVIEW_DIMENSIONS)):
                    out["period"].append(period)
                    out["reviewee"].append(int(e))
                    out["reviewer"].append(rater)
                    out["relation"].append(RELATIONS.index(rel))
                    out["dim"].append(j)
                    out["score"].append(round(float(sc[j]), 1))
    return pa.table(
        {
            "period": _strs(out["period"]),
            "reviewee_id": _cat(np.array(out["reviewee"], dtype=np.int64), emp_ids),
            "reviewer_id": _cat(np.array(out["reviewer"], dtype=np.int64), emp_ids),
            "relation": _cat(np.array(out["relation"], dtype=np.int64), RELATIONS),
            "dimension": _cat(np.array(out["dim"], dtype=np.int64), D.REVIEW_DIMENSIONS),
            "score": pa.array(np.array(out["score"], dtype=np.float64)),
        }
    )


def _sample(rng: np.random.Generator, items: list, k: int) -> list:
    if len(items) <= k:
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), size=k, replace=False))]


def _incidents(rng: np.random.Generator, s: _Staff, cal: _Calendar, emp_ids: pa.Array) -> pa.Table:
    """Complaints (mostly C01) and rare conduct breaches, more for low-quality employees."""
    T = len(cal.labels)
    lo = np.maximum(cal.start[None, :], s.hire[:, None])
    hi = np.minimum(cal.end[None, :], s.leave[:, None])
    on = hi >= lo
    risk = rng.lognormal(-0.3, 0.8, s.n) * (1.8 - 1.5 * s.quality)
    rate = np.array([r[2] for r in D.INCIDENT_RULES])
    lam = risk[:, None, None] * rate[None, None, :] * on[:, :, None]
    cnt = rng.poisson(np.broadcast_to(lam, (s.n, T, len(rate))))
    e, t, code = np.nonzero(cnt)
    rep = cnt[e, t, code]
    e, t, code = np.repeat(e, rep), np.repeat(t, rep), np.repeat(code, rep)
    day = _uniform_day(rng, lo[e, t], hi[e, t])
    note_lists = [r[3] for r in D.INCIDENT_RULES]
    note = [note_lists[cd][int(rng.integers(len(note_lists[cd])))] for cd in code]
    order = np.argsort(day, kind="stable")
    return pa.table(
        {
            "incident_id": pa.array(np.arange(1, len(day) + 1, dtype=np.int64)),
            "employee_id": _cat(e[order], emp_ids),
            "incident_date": _dates(day[order]),
            "rule_code": _cat(code[order], [r[0] for r in D.INCIDENT_RULES]),
            "points": pa.array(np.array([r[1] for r in D.INCIDENT_RULES], dtype=np.float64)[code[order]]),
            "note": _strs(note[i] for i in order),
        }
    )




# ----------------------------------------------------------------------------- level history


def _levels(rng: np.random.Generator, s: _Staff, cal: _Calendar, emp_ids: pa.Array) -> pa.Table:
    """职级记录 of every 客户经理, consistent with ``employees.level`` and the hire date.

    Built backwards from the current level: level changes take effect on a half-year review date
    (1 January or 1 July), at least six months apart; each earlier stint is one level lower (a
    promotion), and about one manager in six was once a level higher and demoted (降级). A manager
    whose tenure is too short for every promotion joined above 初级 (入职定级). The last row of a
    leaver ends on the leave date; every other current row has no end date.
    """
    first_year = int(np.datetime64(int(s.hire.min()) if s.n else cal.first, "D")
                     .astype("datetime64[Y]").astype(np.int64)) + 1970
    last_year = int(np.datetime64(cal.last, "D").astype("datetime64[Y]").astype(np.int64)) + 1970
    reviews = np.array(
        [np.datetime64(f"{y}-{m:02d}-01", "D").astype(np.int64)
         for y in range(first_year, last_year + 1) for m in (1, 7)], dtype=np.int64)
    reviews = reviews[reviews <= cal.last]
    mgr = np.flatnonzero((s.pos == MANAGER) & (s.level >= 0))
    demote = rng.random(s.n) < 0.17
    back = rng.integers(0, 4, size=(s.n, 8))      # half-years back from one change to the previous
    out_e: list[int] = []
    out_l: list[int] = []
    out_s: list[int] = []
    out_end: list[int] = []
    out_r: list[str] = []
    for e in mgr:
        level = int(s.level[e])
        hire = int(s.hire[e])
        # review dates after six months in the job (the first review) and before leaving
        dates = reviews[(reviews > hire + 182) & (reviews <= min(int(s.leave[e]), cal.last))]
        # levels from the current one backwards: L, L-1, …, 0 (or L, L+1, L, …, 0 with a demotion)
        path = [level]
        if demote[e] and len(dates) >= 3:
            path = [level, level + 1] if level < len(LEVELS) - 1 else [level, level - 1, level]
        while path[-1] > 0:
            path.append(path[-1] - 1)
        stints: list[tuple[int, int]] = []       # (level, start day) from the current one back
        pos = len(dates) - 1 - int(back[e, 0])   # the current level started on dates[pos]
        for k, lv in enumerate(path):
            if k == len(path) - 1 or pos < 0:
                stints.append((lv, hire))
                break
            stints.append((lv, int(dates[pos])))
            pos -= 1 + int(back[e, (k + 1) % back.shape[1]])
        stints.reverse()
        for k, (lv, start) in enumerate(stints):
            end = stints[k + 1][1] - 1 if k + 1 < len(stints) else (
                int(s.leave[e]) if s.leave[e] < NO_DAY else NO_DAY)
            if k == 0:
                reason = "入职" if lv == 0 else "入职定级"
            else:
                reason = "晋级" if lv > stints[k - 1][0] else "降级"
            out_e.append(int(e))
            out_l.append(lv)
            out_s.append(start)
            out_end.append(end)
            out_r.append(reason)
    ends = np.array(out_end, dtype=np.int64)
    return pa.table(
        {
            "employee_id": _cat(np.array(out_e, dtype=np.int64), emp_ids),
            "level": _cat(np.array(out_l, dtype=np.int64), LEVELS),
            "start_date": _dates(np.array(out_s, dtype=np.int64)),
            "end_date": _dates(np.where(ends < NO_DAY, ends, 0), null=ends >= NO_DAY),
            "reason": _strs(out_r),
        }
    )
