-- The console's retry tasks needing attention: the anomalies, then the latest failures.
SELECT task_id, task_type, status, coalesce(anomaly, '') AS why, updated_at::text AS updated
FROM {schema}.anomalies
UNION ALL
(SELECT task_id, task_type, status, coalesce(last_error_class, '') || ' ' || coalesce(last_error, ''), updated_at::text
 FROM {schema}.tasks WHERE status IN ('FAILED', 'CLEANUP_FAILED') ORDER BY updated_at DESC LIMIT 20)
