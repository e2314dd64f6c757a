-- Tasks by status and type, for /metrics (clio_retry_tasks).
SELECT status, task_type, count(*) FROM {schema}.tasks GROUP BY status, task_type ORDER BY status, task_type
