-- One page of an account's open (prepared, not yet finalized) transfers, as a JSON array
-- ordered by transfer id. $1 debtor_id, $2 the transfer id to start after, $3 the page size,
-- $4 creditor_id.
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.transfer_id), '[]'::json) FROM (
    SELECT transfer_id, coordinator_type, coordinator_id, coordinator_request_id, locked_amount, recipient,
           prepared_at, deadline
      FROM {schema}.prepared_transfers
     WHERE debtor_id = $1 AND creditor_id = $4 AND transfer_id > $2
     ORDER BY transfer_id LIMIT $3) t
