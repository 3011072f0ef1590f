-- 任务 measures, counted from task_list: the client-level to-dos of parameters/tasks.yaml for each
-- report month (columns month, rule_id, client_id, employee_id, created_on, due_on, done_on, status,
-- due_in_month). Because indicators and task lists read the same rows they always agree.
-- measure: lead_fu_due: 应跟进潜客数 — lead follow-up tasks due in the month
-- measure: lead_fu_on_time: 及时跟进潜客数 — of those, followed up by the due date
-- measure: callback_due: 应回访新开户数 — new-account call-back tasks due in the month
-- measure: callback_on_time: 及时回访新开户数 — of those, called back by the due date
-- measure: recall_fu_due: 应挽回联系流失客户数 — lost-client recall tasks due in the month
-- measure: recall_fu_on_time: 及时挽回联系客户数 — of those, contacted by the due date
-- measure: risk_due: 应更新风险测评数 — risk-assessment renewal tasks due in the month
-- measure: risk_on_time: 及时更新风险测评数 — of those, renewed by the due date
-- measure: coverage_tasks: 本季应联系客户数 — quarterly-contact tasks listed in the month (active accounts)
-- measure: coverage_done: 本季已联系客户数 — of those, contacted in the quarter by month end
-- measure: profile_open: 资料未完善客户数 — profile tasks not done by month end
-- measure: tasks_due: 到期任务数 — tasks of every rule due in the month
-- measure: tasks_due_on_time: 按时完成任务数 — due in the month and done by the due date
-- measure: tasks_due_done: 已完成任务数 — due in the month and done by month end (on time or late)
-- measure: tasks_overdue: 逾期未完成任务数 — tasks past due and not done at month end (any due month)
SELECT employee_id,
       month,
       count(*) FILTER (WHERE rule_id = 'lead_followup' AND due_in_month)                    AS lead_fu_due,
       count(*) FILTER (WHERE rule_id = 'lead_followup' AND due_in_month AND status = '已完成') AS lead_fu_on_time,
       count(*) FILTER (WHERE rule_id = 'account_callback' AND due_in_month)                 AS callback_due,
       count(*) FILTER (WHERE rule_id = 'account_callback' AND due_in_month AND status = '已完成') AS callback_on_time,
       count(*) FILTER (WHERE rule_id = 'lost_recall' AND due_in_month)                      AS recall_fu_due,
       count(*) FILTER (WHERE rule_id = 'lost_recall' AND due_in_month AND status = '已完成') AS recall_fu_on_time,
       count(*) FILTER (WHERE rule_id = 'risk_renewal' AND due_in_month)                     AS risk_due,
       count(*) FILTER (WHERE rule_id = 'risk_renewal' AND due_in_month AND status = '已完成') AS risk_on_time,
       count(*) FILTER (WHERE rule_id = 'quarterly_contact')                                 AS coverage_tasks,
       count(*) FILTER (WHERE rule_id = 'quarterly_contact' AND status IN ('已完成', '逾期完成')) AS coverage_done,
       count(*) FILTER (WHERE rule_id = 'profile_completion' AND status IN ('未完成', '进行中')) AS profile_open,
       count(*) FILTER (WHERE due_in_month)                                                  AS tasks_due,
       count(*) FILTER (WHERE due_in_month AND status = '已完成')                            AS tasks_due_on_time,
       count(*) FILTER (WHERE due_in_month AND status IN ('已完成', '逾期完成'))             AS tasks_due_done,
       count(*) FILTER (WHERE status = '未完成')                                             AS tasks_overdue
FROM task_list
GROUP BY ALL
