-- 流失客户挽回 measures over a rolling window of ${recall_window_months} months ending at month end,
-- owned by the client's current manager (clients.employee_id).
-- measure: lost_window: 窗口期流失客户数 — clients lost in the ${recall_window_months} months up to month end
-- measure: recalled_window: 已挽回客户数 — of those, clients recalled (recalled_date) by month end
SELECT c.employee_id,
       m.month,
       count(*)                                                   AS lost_window,
       count(*) FILTER (WHERE c.recalled_date <= m.month_end)     AS recalled_window
FROM clients AS c
JOIN report_months AS m
  ON c.lost_date <= m.month_end
 AND c.lost_date > m.month_end - INTERVAL ${recall_window_months} MONTH
GROUP BY ALL
