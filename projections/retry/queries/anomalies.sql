-- Every task an operator should look at, as a JSON array.
SELECT coalesce(json_agg(row_to_json(a) ORDER BY a.updated_at), '[]'::json) FROM {schema}.anomalies a
