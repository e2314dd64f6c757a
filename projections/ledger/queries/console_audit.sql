-- The console's ledger audit, from the read model: per debtor, its accounts and the sum of
-- their principals (exact once no transfer is in flight; clio ledger audit reads the log).
SELECT debtor_id::text AS debtor, count(*)::text AS accounts, sum(principal)::text AS "sum of principals"
FROM {schema}.accounts GROUP BY debtor_id ORDER BY debtor_id LIMIT 50
