-- How many payments, merchant transactions, matches, streamed transactions and exports there
-- are per merchant and status (a match's status is its matching type, a streamed
-- transaction's its feed), as a JSON array. $1 merchant (NULL: every merchant).
SELECT coalesce(json_agg(row_to_json(c) ORDER BY c.merchant, c.kind, c.status), '[]'::json) FROM (
    SELECT 'payment' AS kind, coalesce(merchant, '') AS merchant, status, count(*) AS count
      FROM {schema}.payment_transactions WHERE $1::text IS NULL OR merchant = $1 GROUP BY 2, 3
    UNION ALL
    SELECT 'merchant_transaction', merchant, status, count(*)
      FROM {schema}.scheme_transactions WHERE $1::text IS NULL OR merchant = $1 GROUP BY 2, 3
    UNION ALL
    SELECT 'match', merchant, matching_type, count(*)
      FROM {schema}.matches WHERE $1::text IS NULL OR merchant = $1 GROUP BY 2, 3
    UNION ALL
    SELECT 'streamed', merchant, feed, count(*)
      FROM {schema}.streamed WHERE $1::text IS NULL OR merchant = $1 GROUP BY 2, 3
    UNION ALL
    SELECT 'export', merchant, status, count(*)
      FROM {schema}.exports WHERE $1::text IS NULL OR merchant = $1 GROUP BY 2, 3) c
