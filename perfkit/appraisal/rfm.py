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

:func:`classify` is the rule on a frame; :func:`rfm_query` is the same rule inside DuckDB, so that
the store-backed frames never hold a row per client in pandas (:func:`write_rfm_clients` writes
them straight to Parquet for the month snapshot; the summaries are aggregated in the query).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from perfkit.appraisal.advisor import window_months
from perfkit.appraisal.options import CLASSES, RFMSpec, load_appraisal
from perfkit.data.store import connect, copy_parquet
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


def rfm_query(spec: RFMSpec, month: str) -> tuple[str, dict]:
    """(SQL, named arguments) of every client with an account-month in ``month`` (not lost by
    the month's end), with the columns of :func:`rfm_clients`, classified as :func:`classify`
    does. Unsorted."""
    classes = [(r, f, rfm_class(r, f), spec.services.get(service_key(r, f),
                                                         spec.services.get(rfm_class(r, f), "")))
               for r in (True, False) for f in (True, False)]
    args: dict = {f"{k}{i}": v for i, row in enumerate(classes)
                  for k, v in zip(("r", "f", "c", "s"), row, strict=True)}
    values = ", ".join(f"($r{i}, $f{i}, $c{i}, $s{i})" for i in range(len(classes)))
    args.update(months=window_months(month, spec.window_months), month=month,
                end=str(pd.Period(month, freq="M").end_time.date()),
                return_high=spec.return_high, trade_days_high=spec.trade_days_high,
                vip=spec.vip_assets, core=spec.core_assets)
    sql = f"""
        WITH w AS (
            SELECT client_id,
                   CASE WHEN sum(assets_begin + 0.5 * net_inflow) > 0
                        THEN sum(pnl) / sum(assets_begin + 0.5 * net_inflow) END AS return_window,
                   avg(trade_days) AS trade_days_avg, count(*) AS months
            FROM client_months WHERE list_contains($months, month) GROUP BY 1),
        base AS (
            SELECT cm.client_id, c.client_name, cm.employee_id, e.branch_id, cm.assets_end,
                   w.return_window, w.trade_days_avg, w.months,
                   coalesce(w.return_window >= $return_high, false) AS r_high,
                   coalesce(w.trade_days_avg, 0) >= $trade_days_high AS f_high
            FROM client_months cm
            JOIN w USING (client_id)
            JOIN clients c USING (client_id)
            JOIN employees e ON e.employee_id = cm.employee_id
            WHERE cm.month = $month AND (c.lost_date IS NULL OR c.lost_date > CAST($end AS DATE)
                                         OR c.recalled_date <= CAST($end AS DATE)))
        SELECT b.client_id, b.client_name, b.employee_id, b.branch_id, b.assets_end,
               b.return_window, b.trade_days_avg, b.months,
               CASE WHEN b.r_high THEN '高回报' ELSE '低回报' END AS r_level,
               CASE WHEN b.f_high THEN '高周转' ELSE '低周转' END AS f_level,
               CASE WHEN coalesce(b.assets_end, 0) >= $vip THEN 'VIP'
                    WHEN coalesce(b.assets_end, 0) >= $core THEN '核心' ELSE '其它' END AS m_level,
               k.rfm_class, k.service
        FROM base AS b
        JOIN (VALUES {values}) AS k(r_high, f_high, rfm_class, service)
          ON k.r_high = b.r_high AND k.f_high = b.f_high"""
    return sql, args


def rfm_clients(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Every client with an account-month in ``month`` (not lost by the month's end), classified.

    Columns: client_id, client_name, employee_id, branch_id, assets_end (元), return_window,
    trade_days_avg, months (in the window), r_level, f_level, m_level, rfm_class, service."""
    sql, args = rfm_query(load_appraisal(find_params(params)).rfm, month)
    with connect(store) as con:
        out = con.execute(f"{sql} ORDER BY b.employee_id, b.client_id", args).df()
    log.info("rfm %s: %d clients classified", month, len(out))
    return out


def write_rfm_clients(store, month: str, path: str | Path, params: str | Path | None = None,
                      order_by: tuple[str, ...] = ()) -> int:
    """:func:`rfm_clients`'s rows written to the Parquet file ``path`` inside DuckDB, sorted by
    ``order_by`` then employee and client; the number of rows."""
    sql, args = rfm_query(load_appraisal(find_params(params)).rfm, month)
    with connect(store) as con:
        n = copy_parquet(con, sql, path, args=args,
                         order_by=list(dict.fromkeys([*order_by, "employee_id", "client_id"])))
    log.info("rfm %s: %d clients classified, written to %s", month, n, path)
    return n


def _grid(agg: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per-``by`` × class sums (clients, assets, vip, core) with every class for every key."""
    keys = agg[by].drop_duplicates().sort_values()
    grid = pd.MultiIndex.from_product([keys, CLASSES], names=[by, "rfm_class"])
    out = (agg.set_index([by, "rfm_class"])[["clients", "assets", "vip", "core"]]
           .reindex(grid, fill_value=0).reset_index())
    out[["clients", "vip", "core"]] = out[["clients", "vip", "core"]].astype(int)
    return out


def summarise(clients: pd.DataFrame, by: str) -> pd.DataFrame:
    """Pure: clients per ``by`` (employee_id or branch_id) × class: clients, assets (元), vip, core;
    every class present for every key (zeros when empty), classes in :data:`CLASSES` order."""
    x = clients.assign(vip=(clients["m_level"] == "VIP").astype(int),
                       core=(clients["m_level"] == "核心").astype(int), n=1)
    agg = (x.groupby([by, "rfm_class"])[["n", "assets_end", "vip", "core"]].sum()
           .rename(columns={"n": "clients", "assets_end": "assets"}).reset_index())
    return _grid(agg, by)


def _summary_frame(store, month: str, params: str | Path | None, by: str) -> pd.DataFrame:
    """:func:`summarise` of :func:`rfm_clients`, aggregated inside DuckDB."""
    sql, args = rfm_query(load_appraisal(find_params(params)).rfm, month)
    with connect(store) as con:
        agg = con.execute(
            f"""SELECT {by}, rfm_class, count(*) AS clients, fsum(assets_end) AS assets,
                       count(*) FILTER (WHERE m_level = 'VIP') AS vip,
                       count(*) FILTER (WHERE m_level = '核心') AS core
                FROM ({sql}) GROUP BY ALL""", args).df()
    return _grid(agg, by)


def rfm_employee_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Per employee × class: employee_id, rfm_class, clients, assets (元), vip, core."""
    return _summary_frame(store, month, params, "employee_id")


def rfm_branch_frame(store, month: str, params: str | Path | None = None) -> pd.DataFrame:
    """Per branch × class (for the company report): branch_id, rfm_class, clients, assets, vip, core."""
    return _summary_frame(store, month, params, "branch_id")
