-- The console's largest accounts by principal.
SELECT debtor_id::text AS debtor, creditor_id::text AS creditor, principal::text AS principal
FROM {schema}.accounts WHERE creditor_id <> 0 ORDER BY principal DESC, debtor_id, creditor_id LIMIT 10
