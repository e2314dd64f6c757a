-- What could not be synced, newest first. $1 the project (NULL: any), $2 the page size.
SELECT coalesce(json_agg(row_to_json(f) ORDER BY f.at DESC), '[]'::json) FROM (
    SELECT * FROM {schema}.sync_failures WHERE ($1::bigint IS NULL OR project_id = $1)
     ORDER BY at DESC LIMIT $2) f
