-- One page of exports, as a JSON array ordered by export id. $1 merchant the export goes to
-- (NULL: any), $2 status (NULL: any), $3 requested from (NULL: any), $4 before (NULL: any), $5
-- the export id to start after, $6 the page size.
SELECT coalesce(json_agg(row_to_json(x) ORDER BY x.export_id), '[]'::json) FROM (
    SELECT match_id AS export_id, export_of, merchant, task_id, status, not_before, attempts, error_class, reason,
           requested_at, ended_at
      FROM {schema}.exports
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::timestamptz IS NULL OR requested_at >= $3) AND ($4::timestamptz IS NULL OR requested_at < $4)
       AND match_id > $5
     ORDER BY match_id LIMIT $6) x
