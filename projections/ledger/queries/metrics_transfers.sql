-- Committed transfers (one row per account side) by coordinator, for /metrics (clio_ledger_transfers_committed).
SELECT coordinator_type, count(*) FROM {schema}.transfers GROUP BY coordinator_type ORDER BY coordinator_type
