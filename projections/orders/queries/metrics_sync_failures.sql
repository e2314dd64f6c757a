-- Failed syncs by kind, for /metrics (clio_orders_sync_failures).
SELECT kind, count(*) FROM {schema}.sync_failures GROUP BY kind ORDER BY kind
