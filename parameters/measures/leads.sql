-- 潜在客户 measures. A lead belongs to its current manager (clients.employee_id).
-- measure: leads_new: 新增潜在客户数 — clients whose lead_date (登记日期) falls in the month
-- measure: leads_opened: 潜在客户开户数 — clients whose open_date (开户日期) falls in the month
-- measure: leads_pool: 潜在客户数 — clients that were leads at some time in the month (registered by month end, not opened before the month)
SELECT c.employee_id,
       m.month,
       count(*) FILTER (WHERE c.lead_date >= m.month_start)           AS leads_new,
       count(*) FILTER (WHERE c.open_date BETWEEN m.month_start AND m.month_end) AS leads_opened,
       count(*)                                                       AS leads_pool
FROM clients AS c
JOIN report_months AS m
  ON c.lead_date <= m.month_end
 AND (c.open_date IS NULL OR c.open_date >= m.month_start)
GROUP BY ALL
