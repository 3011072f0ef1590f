"""RFM client classes (seed 000, 大投顾业务管理与绩效考核实施细则, 第二章 客户类别).

Each client with an account in the report month is described by three attributes over the last
``window_months`` months (thresholds in ``rfm:`` of parameters/appraisal.yaml):

* **R** 投资回报率: the client's return over the window, modified Dietz
  ``Σ pnl / Σ (assets_begin + ½ · net_inflow)``; 高回报 (R↑) when ≥ ``return_high``, else 低回报 (R↓).
* **F** 交易频率: mean trading days per month over the window; 高周转 (F↑) when ≥
  ``trade_days_high``, else 低周转 (F↓).
* **M** 客户价值: assets at the end of the report month; VIP (M↑) when ≥ ``vip_assets``,
  核心 (M→) when ≥ ``core_assets``, else 其它 (M↓, potential and ordinary clients).

Class (第五条): R↑F↑ 自主决策类; R↑F↓ and R↓F↑ 咨询依托类; R↓F↓ 资产管理类 — whatever M is. The
service the seed recommends for each (``services``) is shown beside the class.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.advisor import window_months
from perfkit.appraisal.options import CLASSES, RFMSpec, load_appraisal
from perfkit.data.store import connect
from perfkit.metrics.catalog import find_params

log = logging.getLogger(__name__)

VALUE_LEVELS = ("VIP", "核心", "其它")

#: (R high, F high) → class: 第五条 of the seed's rules.
CLASS_OF: dict[tuple[bool, bool], str] = {
    (True, True): "自主决策类",
    (True, False): "咨询依托类",
    (False, True): "咨询依托类",
    (False, False): "资产管理类",
}


def rfm_class(r_high: bool, f_high: bool) -> str:
    """The class of a client from R (high/low) and F (high/low): :data:`CLASS_OF`."""
    return CLASS_OF[(bool(r_high), bool(f_high))]


def service_key(r_high: bool, f_high: bool) -> str:
    """The key of ``services``: the class, with ·R↑F↓ / ·R↓F↑ for the two 咨询依托 kinds."""
    cls = rfm_class(r_high, f_high)
    if cls != "咨询依托类":
        return cls
    return f"{cls}·{'R↑F↓' if r_high else 'R↓F↑'}"


def value_level(assets: pd.Series, spec: RFMSpec) -> pd.Series:
    """VIP / 核心 / 其它 by month-end assets (元)."""
    a = assets.fillna(0.0).to_numpy(float)
    return pd.Series(np.where(a >= spec.vip_assets, "VIP",
                              np.where(a >= spec.core_assets, "核心", "其它")), index=assets.index)


def classify(frame: pd.DataFrame, spec: RFMSpec) -> pd.DataFrame:
    """Pure: per client ``return_window``, ``trade_days_avg``, ``assets_end`` → adds r_level
    (高回报/低回报), f_level (高周转/低周转), m_level, rfm_class and service. A client without a
    return (no capital at work in the window) counts as 低回报."""
    r_high = frame["return_window"].fillna(-np.inf) >= spec.return_high
    f_high = frame["trade_days_avg"].fillna(0.0) >= spec.trade_days_high
    out = frame.copy()
    out["r_level"] = np.where(r_high, "高回报", "低回报")
    out["f_level"] = np.where(f_high, "高周转", "低周转")
    out["m_level"] = value_level(frame["assets_end"], spec)
    out["rfm_class"] = [rfm_class(r, f) for r, f in zip(r_high, f_high, strict=True)]
    out["service"] = [spec.services.get(service_key(r, f), spec.services.get(rfm_class(r, f), ""))
                      for r, f in zip(r_high, f_high, strict=True)]
    return out


def rfm_clients(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Every client with an account-month in ``month`` (not lost by the month's end), classified.

    Columns: client_id, client_name, employee_id, branch_id, assets_end (元), return_window,
    trade_days_avg, months (in the window), r_level, f_level, m_level, rfm_class, service."""
    spec = load_appraisal(find_params(params)).rfm
    months = window_months(month, spec.window_months)
    end = str(pd.Period(month, freq="M").end_time.date())
    with connect(store) as con:
        df = con.execute(
            """WITH w AS (
                   SELECT client_id,
                          CASE WHEN sum(assets_begin + 0.5 * net_inflow) > 0
                               THEN sum(pnl) / sum(assets_begin + 0.5 * net_inflow) END
                              AS return_window,
                          avg(trade_days) AS trade_days_avg, count(*) AS months
                   FROM client_months WHERE list_contains(?, month) GROUP BY 1)
               SELECT cm.client_id, c.client_name, cm.employee_id, e.branch_id, cm.assets_end,
                      w.return_window, w.trade_days_avg, w.months
               FROM client_months cm
               JOIN w USING (client_id)
               JOIN clients c USING (client_id)
               JOIN employees e ON e.employee_id = cm.employee_id
               WHERE cm.month = ? AND (c.lost_date IS NULL OR c.lost_date > CAST(? AS DATE)
                                       OR c.recalled_date <= CAST(? AS DATE))
               ORDER BY cm.employee_id, cm.client_id""",
            [months, month, end, end],
        ).df()
    out = classify(df, spec)
    log.info("rfm %s: %d clients classified", month, len(out))
    return out


def summarise(clients: pd.DataFrame, by: str) -> pd.DataFrame:
    """Pure: clients per ``by`` (employee_id or branch_id) × class: clients, assets (元), vip, core;
    every class present for every key (zeros when empty), classes in :data:`CLASSES` order."""
    keys = clients[by].drop_duplicates().sort_values()
    grid = pd.MultiIndex.from_product([keys, CLASSES], names=[by, "rfm_class"])
    x = clients.assign(vip=(clients["m_level"] == "VIP").astype(int),
                       core=(clients["m_level"] == "核心").astype(int), n=1)
    out = (x.groupby([by, "rfm_class"])[["n", "assets_end", "vip", "core"]].sum()
           .rename(columns={"n": "clients", "assets_end": "assets"})
           .reindex(grid, fill_value=0).reset_index())
    out[["clients", "vip", "core"]] = out[["clients", "vip", "core"]].astype(int)
    return out


def rfm_employee_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Per employee × class: employee_id, rfm_class, clients, assets (元), vip, core."""
    return summarise(rfm_clients(store, month, params), "employee_id")


def rfm_branch_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Per branch × class (for the company report): branch_id, rfm_class, clients, assets, vip, core."""
    return summarise(rfm_clients(store, month, params), "branch_id")
