-- 员工日常服务 measures: contacts count for the employee who made them (contacts.employee_id).
-- measure: service_contacts: 客户服务次数 — service records (any purpose) dated in the month
SELECT k.employee_id,
       m.month,
       count(*) AS service_contacts
FROM contacts AS k
JOIN report_months AS m
  ON CAST(k.contact_time AS DATE) BETWEEN m.month_start AND m.month_end
WHERE k.contact_time >= (SELECT min(month_start) FROM report_months)  -- lets DuckDB skip older contacts
GROUP BY ALL
