-- One page of a debtor's accounts with their balances, as a JSON array ordered by creditor id.
-- $1 debtor_id, $2 the creditor id to start after, $3 the page size.
SELECT coalesce(json_agg(row_to_json(b) ORDER BY b.creditor_id), '[]'::json) FROM (
    SELECT creditor_id, principal, interest, interest_rate, locked_amount, available_amount, status,
           overflown, config_flags, config_data, negligible_amount, event_at
      FROM {schema}.account_balances
     WHERE debtor_id = $1 AND creditor_id > $2
     ORDER BY creditor_id LIMIT $3) b
