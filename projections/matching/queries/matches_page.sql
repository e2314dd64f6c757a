-- One page of matches, as a JSON array ordered by match id. $1 merchant (NULL: any), $2
-- matching type (NULL: any), $3 transaction time from (NULL: any), $4 before (NULL: any), $5
-- the match id to start after, $6 the page size.
SELECT coalesce(json_agg(row_to_json(m) ORDER BY m.match_id), '[]'::json) FROM (
    SELECT match_id, matching_type, merchant, payment_key, payment_transaction_id, merchant_transaction_id, amount,
           currency, transaction_at, mid, card_token, scheme_account_id, matched_at
      FROM {schema}.matches
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR matching_type = $2)
       AND ($3::timestamptz IS NULL OR transaction_at >= $3) AND ($4::timestamptz IS NULL OR transaction_at < $4)
       AND match_id > $5
     ORDER BY match_id LIMIT $6) m
