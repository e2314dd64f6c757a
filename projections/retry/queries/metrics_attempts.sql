-- Failed attempts on the audit by error class and task type, for /metrics
-- (clio_retry_failed_attempts). A purged task's attempts leave with it.
SELECT a.error_class, t.task_type, count(*)
FROM {schema}.attempts a JOIN {schema}.tasks t USING (task_id)
GROUP BY a.error_class, t.task_type ORDER BY a.error_class, t.task_type
