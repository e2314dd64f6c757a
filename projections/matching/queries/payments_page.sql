-- One page of payments, as a JSON array ordered by payment key. $1 merchant (NULL: any), $2
-- status (NULL: any), $3 transaction time from (NULL: any), $4 before (NULL: any), $5 the
-- payment key to start after, $6 the page size.
SELECT coalesce(json_agg(row_to_json(p) ORDER BY p.payment_key), '[]'::json) FROM (
    SELECT payment_key, status, reason, transaction_id, feed, provider, settlement_key, primary_mid, amount, currency,
           transaction_at, source_zone, card_token, first_six, last_four, auth_code, merchant, identified_by,
           scheme_account_id, match_id, batch, imported_at, updated_at
      FROM {schema}.payment_transactions
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::timestamptz IS NULL OR transaction_at >= $3) AND ($4::timestamptz IS NULL OR transaction_at < $4)
       AND payment_key > $5
     ORDER BY payment_key LIMIT $6) p
