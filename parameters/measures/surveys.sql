-- 客户满意度 measures: survey answers count for the employee being rated (surveys.employee_id).
-- measure: survey_score: 满意度总分 — Σ scores (1–5) of surveys dated in the month
-- measure: survey_count: 满意度答卷数 — surveys dated in the month
SELECT s.employee_id,
       m.month,
       sum(s.score)  AS survey_score,
       count(*)      AS survey_count
FROM surveys AS s
JOIN report_months AS m ON s.survey_date BETWEEN m.month_start AND m.month_end
GROUP BY ALL
