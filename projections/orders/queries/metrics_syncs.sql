-- Syncs by what is synced and its state, for /metrics (clio_orders_syncs): messages both ways
-- (requested: pending; synced, skipped, failed) and each item's tracker issue (requested until
-- the issue exists).
SELECT 'message from ' || origin AS what, state, count(*) FROM {schema}.messages GROUP BY origin, state
UNION ALL
SELECT 'item issue', CASE WHEN tracker_key IS NULL THEN 'requested' ELSE 'synced' END, count(*)
  FROM {schema}.items GROUP BY 2
ORDER BY 1, 2
