-- The finished tasks (SUCCESS, CANCELLED, REQUEUED) created before $1, for `clio retry purge`.
SELECT task_id FROM {schema}.tasks
 WHERE status IN ('SUCCESS', 'CANCELLED', 'REQUEUED') AND created_at < $1
 ORDER BY task_id
