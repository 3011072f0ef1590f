"""Demo generator, client contacts: the service records the task rules count (lead follow-ups,
new-account call-backs, profile completion, recall attempts, quarterly routine service, risk
renewals, investment advice) and the satisfaction surveys (all vectorised)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from perfkit.data.demo.base import (
    ADVISER,
    CHANNEL_MIX,
    NO_DAY,
    P_ADVICE,
    P_CALLBACK,
    P_LEAD,
    P_PROFILE,
    P_RECALL,
    P_RISK,
    P_ROUTINE,
    _Calendar,
    _cat,
    _dates,
    _uniform_day,
)
from perfkit.data.demo.clients import _Clients, _Months, _Risk
from perfkit.data.demo.staff import _Params, _Staff
from perfkit.data.schema import CHANNELS, PURPOSES

# ----------------------------------------------------------------------------- contacts & surveys


def _contacts(rng: np.random.Generator, c: _Clients, s: _Staff, p: _Params, cal: _Calendar,
              mo: _Months, risk: _Risk, completed: np.ndarray, emp_ids: pa.Array,
              client_ids: pa.Array) -> pa.Table:
    """Every logged contact; frequency and timeliness follow the employee's diligence."""
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray | None]] = []  # client, day, purpose, employee

    # 潜客跟进: leads registered in the window; first follow-up after a diligence-dependent delay,
    # a few more until the account is opened.
    leads = np.flatnonzero(c.lead >= cal.first)
    e = c.owner0[leads]
    m = len(leads)
    day = c.lead[leads] + np.floor(rng.exponential(p.fu_mean[e])).astype(np.int64)
    live = rng.random(m) >= p.fu_never[e]
    extra = np.minimum(rng.poisson(0.6 + 1.0 * s.dil[e]), 3)
    limit = np.minimum(c.open[leads], cal.last)
    for j in range(4):
        ok = live & (extra >= j) & (day <= limit)
        parts.append((leads[ok], day[ok], P_LEAD, None))
        day = day + rng.integers(2, 15, m)

    acct = c.acct
    e_a = c.owner0[acct]
    k = len(acct)
    # 开户回访: accounts opened in the window, mostly within 7 days.
    new = c.open_m >= 0
    on_time = rng.random(k) < p.cb_ontime[e_a]
    delay = np.where(on_time, rng.integers(0, 7, k), 8 + np.floor(rng.exponential(10.0, k)).astype(np.int64))
    ok = new & (rng.random(k) < 0.9 + 0.09 * s.dil[e_a])
    parts.append((acct[ok], c.open[acct][ok] + delay[ok], P_CALLBACK, None))
    # 资料完善: the day the profile was completed, and attempts on incomplete profiles.
    comp = completed[acct]
    ok = (comp >= cal.first) & (comp <= cal.last) & (rng.random(k) < 0.85)
    parts.append((acct[ok], comp[ok], P_PROFILE, None))
    start = np.maximum(c.open[acct], cal.first)
    ok = (comp >= NO_DAY) & (start <= cal.last) & (rng.random(k) < 0.35 * s.dil[e_a])
    parts.append((acct[ok], _uniform_day(rng, start[ok], np.full(int(ok.sum()), cal.last)), P_PROFILE, None))
    # 流失挽回: after the loss, more and sooner for diligent employees; always before a recall.
    was_lost = c.lost < NO_DAY
    back = c.recalled < NO_DAY
    tries = was_lost & (back | (rng.random(k) < p.recall_try[e_a]))
    first = c.lost + np.floor(rng.exponential(0.5 + 4 * (1 - s.dil[e_a]))).astype(np.int64)
    first = np.where(back, np.minimum(first, c.recalled), first)
    n_try = 1 + (rng.random(k) < 0.5) + (rng.random(k) < 0.2)
    day = first
    for j in range(3):
        ok = tries & (n_try > j) & (day <= cal.last)
        parts.append((acct[ok], day[ok], P_RECALL, None))
        day = day + rng.integers(3, 20, k)
    # 日常服务: Poisson contacts per active month at the client's coverage rate.
    lam = c.lam[mo.acct] * (1.0 + 0.3 * np.clip(np.log10(np.maximum(mo.begin, 1.0) / 1e5), -1, 2))
    cnt = rng.poisson(lam)
    rows = np.repeat(np.arange(len(cnt)), cnt)
    parts.append((acct[mo.acct[rows]], _uniform_day(rng, mo.lo[rows], mo.hi[rows]), P_ROUTINE, None))
    # 风险测评: before most renewals, and reminders when an assessment expires without renewal.
    ok = risk.renewal & (risk.day >= cal.first) & (rng.random(len(risk.day)) < 0.75)
    parts.append((acct[risk.acct[ok]], np.maximum(risk.day[ok] - rng.integers(0, 15, int(ok.sum())),
                                                    c.open[acct][risk.acct[ok]]), P_RISK, None))
    ok = rng.random(len(risk.remind_acct)) < 0.3 + 0.5 * s.dil[e_a[risk.remind_acct]]
    parts.append((acct[risk.remind_acct[ok]], risk.remind_day[ok] - rng.integers(0, 20, int(ok.sum())), P_RISK, None))
    # 投资建议: a branch 投资顾问 (or the owner) advises some trading clients.
    advisers = [np.flatnonzero((s.pos == ADVISER) & (s.branch == b) & (s.hire < cal.first) & (s.leave >= NO_DAY))
                for b in range(len(s.branch_city))]
    n_adv = np.array([len(a) for a in advisers])
    table_adv = np.full((len(advisers), max(1, n_adv.max(initial=0))), -1, dtype=np.int64)
    for b, a in enumerate(advisers):
        table_adv[b, : len(a)] = a
    ok = (mo.tdays > 0) & (rng.random(len(mo.t)) < 0.05)
    r = np.flatnonzero(ok)
    br = s.branch[mo.owner[r]]
    pick = np.floor(rng.random(len(r)) * np.maximum(n_adv[br], 1)).astype(np.int64)
    adv = np.where(n_adv[br] > 0, table_adv[br, pick], mo.owner[r])
    parts.append((acct[mo.acct[r]], _uniform_day(rng, mo.lo[r], mo.hi[r]), P_ADVICE, adv))

    client = np.concatenate([x[0] for x in parts])
    day = np.concatenate([x[1] for x in parts])
    purpose = np.concatenate([np.full(len(x[0]), x[2]) for x in parts])
    who = np.concatenate([x[3] if x[3] is not None else np.full(len(x[0]), -1) for x in parts])
    # working days only: Saturday/Sunday move to Monday; drop what falls after the window
    dow = (day + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    day = day + np.where(dow >= 5, 7 - dow, 0)
    keep = day <= cal.last
    client, day, purpose, who = client[keep], day[keep], purpose[keep], who[keep]
    emp = np.where(who >= 0, who, s.owner(c.owner0[client], day))
    n = len(day)
    channel = np.zeros(n, dtype=np.int64)
    for code, mix in CHANNEL_MIX.items():
        sel = purpose == code
        channel[sel] = rng.choice(len(CHANNELS), size=int(sel.sum()), p=np.array(mix) / sum(mix))
    secs = day * 86400 + 9 * 3600 + rng.integers(0, int(8.5 * 3600), n)
    order = np.argsort(secs, kind="stable")
    return pa.table(
        {
            "contact_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "employee_id": _cat(emp[order], emp_ids),
            "client_id": _cat(client[order], client_ids),
            "contact_time": pa.array(secs[order].astype("datetime64[s]")),
            "channel": _cat(channel[order], CHANNELS),
            "purpose": _cat(purpose[order], PURPOSES),
        }
    )


def _surveys(rng: np.random.Generator, c: _Clients, s: _Staff, mo: _Months, emp_ids: pa.Array,
             client_ids: pa.Array) -> pa.Table:
    """About 2.5 % of active account-months answer a 1–5 satisfaction survey about their owner."""
    r = np.flatnonzero(rng.random(len(mo.t)) < 0.025)
    day = _uniform_day(rng, mo.lo[r], mo.hi[r])
    latent = 3.5 + 1.5 * s.quality[mo.owner[r]] + rng.normal(0, 0.75, len(r))
    latent = np.where(rng.random(len(r)) < 0.04, rng.normal(2.2, 0.8, len(r)), latent)  # a few unhappy clients
    score = np.clip(np.round(latent), 1, 5).astype(np.int32)
    order = np.argsort(day, kind="stable")
    return pa.table(
        {
            "survey_id": pa.array(np.arange(1, len(r) + 1, dtype=np.int64)),
            "client_id": _cat(c.acct[mo.acct[r]][order], client_ids),
            "employee_id": _cat(mo.owner[r][order], emp_ids),
            "survey_date": _dates(day[order]),
            "score": pa.array(score[order]),
        }
    )


