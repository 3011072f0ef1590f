-- 现有客户 measures, from the monthly snapshot: one row per account per month, owned by
-- client_months.employee_id (the manager in that month). Money in 元.
-- 有效户 (effective client), the one place perfkit computes it — from the settings of indicators.yaml:
--   assets on the basis ${effective_assets_basis} (month_end | month_avg | window_avg) ≥ ${effective_min_assets} 元
--   and the activity rule ${effective_activity} over the last ${effective_window_months} months (incl. this one):
--   trade_days ≥ ${effective_min_trade_days} | commission ≥ ${effective_min_commission} 元 | none.
-- Daily-average assets come from assets_avg; a month without it uses (assets_begin + assets_end) / 2.
-- measure: accounts_active: 在册客户数 — accounts with a snapshot in the month
-- measure: effective_clients: 有效客户数 — accounts meeting the 有效户 rule above
-- measure: assets_end: 客户资产总额 (元) — Σ month-end assets
-- measure: net_inflow: 资产净流入 (元) — Σ transfers in − transfers out
-- measure: commission: 佣金收入 (元) — Σ net commission
-- measure: pnl: 投资收益 (元) — Σ clients' market gain/loss of the month
-- measure: return_base: 收益率分母 (元) — Σ (month-start assets + ½ net inflow), the modified Dietz base
-- measure: traded_clients: 交易客户数 — accounts with at least one trading day in the month
-- measure: profile_complete: 资料完整客户数 — accounts whose profile was complete by month end
-- measure: missing_occupation: 缺职业客户数 — accounts without occupation
-- measure: missing_address: 缺联系地址客户数 — accounts without address
-- measure: missing_email: 缺电子邮箱客户数 — accounts without email
-- measure: missing_income_band: 缺年收入客户数 — accounts without income band
WITH window_months AS (        -- report month → the months of its 有效户 window
  SELECT m.month, strftime(m.month_start - INTERVAL (i) MONTH, '%Y-%m') AS window_month
  FROM report_months AS m, range(${effective_window_months}) AS r(i)
), window_sums AS (             -- per account over the window: trading days, commission, daily-average assets
  SELECT w.month, cm.client_id,
         sum(cm.trade_days)                                                   AS trade_days,
         sum(cm.commission)                                                   AS commission,
         sum(coalesce(cm.assets_avg, (cm.assets_begin + cm.assets_end) / 2))
           / ${effective_window_months}                                       AS avg_assets
  FROM client_months AS cm
  JOIN window_months AS w ON w.window_month = cm.month
  WHERE ${effective_assets_basis} = 'window_avg'   -- else only the rows the activity rule can count
     OR CASE ${effective_activity}
          WHEN 'trade_days' THEN cm.trade_days > 0
          WHEN 'commission' THEN cm.commission <> 0
          ELSE FALSE
        END
  GROUP BY w.month, cm.client_id
)
SELECT cm.employee_id,
       cm.month,
       count(*)                                                            AS accounts_active,
       count(*) FILTER (                                                   -- the 有效户 rule
         WHERE CASE ${effective_assets_basis}
                 WHEN 'month_end'  THEN cm.assets_end
                 WHEN 'month_avg'  THEN coalesce(cm.assets_avg, (cm.assets_begin + cm.assets_end) / 2)
                 WHEN 'window_avg' THEN coalesce(w.avg_assets, 0)
               END >= ${effective_min_assets}
           AND CASE ${effective_activity}
                 WHEN 'trade_days' THEN coalesce(w.trade_days, 0) >= ${effective_min_trade_days}
                 WHEN 'commission' THEN coalesce(w.commission, 0) >= ${effective_min_commission}
                 ELSE TRUE
               END)                                                        AS effective_clients,
       sum(cm.assets_end)                                                  AS assets_end,
       sum(cm.net_inflow)                                                  AS net_inflow,
       sum(cm.commission)                                                  AS commission,
       sum(cm.pnl)                                                         AS pnl,
       sum(cm.assets_begin + 0.5 * cm.net_inflow)                          AS return_base,
       count(*) FILTER (WHERE cm.trade_days > 0)                           AS traded_clients,
       count(*) FILTER (WHERE c.profile_completed_on <= m.month_end)       AS profile_complete,
       count(*) FILTER (WHERE c.occupation IS NULL)                        AS missing_occupation,
       count(*) FILTER (WHERE c.address IS NULL)                           AS missing_address,
       count(*) FILTER (WHERE c.email IS NULL)                             AS missing_email,
       count(*) FILTER (WHERE c.income_band IS NULL)                       AS missing_income_band
FROM client_months AS cm
JOIN report_months AS m ON m.month = cm.month
LEFT JOIN window_sums AS w ON w.month = cm.month AND w.client_id = cm.client_id
JOIN clients AS c ON c.client_id = cm.client_id
GROUP BY cm.employee_id, cm.month
