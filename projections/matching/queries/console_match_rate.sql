-- The console's match rate per merchant.
SELECT coalesce(merchant, '(unidentified)') AS merchant, count(*)::text AS payments,
       count(*) FILTER (WHERE status = 'MATCHED')::text AS matched,
       round(100.0 * count(*) FILTER (WHERE status = 'MATCHED') / count(*), 1)::text || ' %' AS "match rate"
FROM {schema}.payment_transactions GROUP BY 1 ORDER BY 1
