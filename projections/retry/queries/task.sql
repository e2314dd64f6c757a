-- One task with its audit (failed runs, oldest first) and its callbacks, as JSON. $1 the task.
SELECT row_to_json(t)::jsonb
       || jsonb_build_object(
              'attempts_audit', (SELECT coalesce(jsonb_agg(to_jsonb(a) - 'source_topic' - 'source_partition' - 'source_offset'
                                                           ORDER BY a.failed_at, a.attempt), '[]'::jsonb)
                                   FROM {schema}.attempts a WHERE a.task_id = t.task_id),
              'callbacks', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.received_at), '[]'::jsonb)
                              FROM {schema}.callbacks c WHERE c.task_id = t.task_id))
  FROM {schema}.tasks t WHERE t.task_id = $1
