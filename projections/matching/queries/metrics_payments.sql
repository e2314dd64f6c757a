-- Payments by merchant and status (MATCHED, PENDING, ...), for /metrics (clio_matching_payments).
SELECT coalesce(merchant, ''), status, count(*) FROM {schema}.payment_transactions GROUP BY 1, 2 ORDER BY 1, 2
