-- One page of streamed transactions, as a JSON array ordered by stream id. $1 merchant (NULL:
-- any), $2 feed (NULL: any), $3 transaction time from (NULL: any), $4 before (NULL: any), $5 the
-- stream id to start after, $6 the page size.
SELECT coalesce(json_agg(row_to_json(s) ORDER BY s.stream_id), '[]'::json) FROM (
    SELECT stream_id, purchase_id, merchant, payment_key, feed, provider, transaction_id, amount, currency,
           transaction_at, mid, card_token, scheme_account_id, streamed_at
      FROM {schema}.streamed
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR feed = $2)
       AND ($3::timestamptz IS NULL OR transaction_at >= $3) AND ($4::timestamptz IS NULL OR transaction_at < $4)
       AND stream_id > $5
     ORDER BY stream_id LIMIT $6) s
