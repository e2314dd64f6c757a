-- The console's failing syncs, latest first.
SELECT project_id::text AS project, item_iid::text AS item, kind, reason, at::text AS at
FROM {schema}.sync_failures ORDER BY at DESC LIMIT 20
