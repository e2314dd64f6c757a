-- One page of merchant transactions, as a JSON array ordered by key (merchant:transaction id).
-- $1 merchant (NULL: any), $2 status (NULL: any), $3 transaction time from (NULL: any), $4
-- before (NULL: any), $5 the key to start after, $6 the page size.
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.key), '[]'::json) FROM (
    SELECT merchant || ':' || transaction_id AS key, merchant, transaction_id, status, provider, mids, amount, currency,
           transaction_at, source_zone, first_six, last_four, auth_code, match_id, batch, imported_at, updated_at
      FROM {schema}.scheme_transactions
     WHERE ($1::text IS NULL OR merchant = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::timestamptz IS NULL OR transaction_at >= $3) AND ($4::timestamptz IS NULL OR transaction_at < $4)
       AND merchant || ':' || transaction_id > $5
     ORDER BY 1 LIMIT $6) t
