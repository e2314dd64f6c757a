-- The two sides of a force match as the read model has them. $1 payment key, $2 merchant
-- transaction id (one row per merchant that has it).
SELECT json_build_object(
    'payment', (SELECT row_to_json(p) FROM (
        SELECT status, merchant, amount, bucket FROM {schema}.payment_transactions WHERE payment_key = $1) p),
    'rows', (SELECT coalesce(json_agg(row_to_json(t)), '[]'::json) FROM (
        SELECT merchant, status, amount FROM {schema}.scheme_transactions WHERE transaction_id = $2) t))
