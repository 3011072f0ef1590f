-- 流失客户 measures. A client lost in the month counts for the manager in that month
-- (client_months.employee_id of the month of lost_date, else the current manager).
-- measure: lost_clients: 流失客户数 — clients whose lost_date falls in the month
-- measure: lost_assets: 流失资产 (元) — month-start assets of the clients lost in the month
-- measure: lost_closed: 销户客户数 — lost in the month, reason 销户
-- measure: lost_transferred: 转托管客户数 — lost in the month, reason 转托管
-- measure: lost_outflow: 资产流出客户数 — lost in the month, reason 资产流出
SELECT coalesce(cm.employee_id, c.employee_id)                      AS employee_id,
       m.month,
       count(*)                                                     AS lost_clients,
       coalesce(sum(cm.assets_begin), 0)                            AS lost_assets,
       count(*) FILTER (WHERE c.lost_reason = '销户')               AS lost_closed,
       count(*) FILTER (WHERE c.lost_reason = '转托管')             AS lost_transferred,
       count(*) FILTER (WHERE c.lost_reason = '资产流出')           AS lost_outflow
FROM clients AS c
JOIN report_months AS m ON c.lost_date BETWEEN m.month_start AND m.month_end
LEFT JOIN client_months AS cm ON cm.client_id = c.client_id AND cm.month = m.month
GROUP BY ALL
