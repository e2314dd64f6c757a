-- One page of tasks, as a JSON array ordered by task id. $1 status (NULL: any), $2 task type
-- (NULL: any), $3 the task id to start after, $4 the page size.
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.task_id), '[]'::json) FROM (
    SELECT task_id, task_type, status, attempts, callback_errors, next_attempt_at, deadline, params,
           last_error_class, last_error, requeued_as, created_at, updated_at
      FROM {schema}.tasks
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR task_type = $2) AND task_id > $3
     ORDER BY task_id LIMIT $4) t
