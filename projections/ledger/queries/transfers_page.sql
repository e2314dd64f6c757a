-- One page of an account's transfer history, as a JSON array ordered by transfer number.
-- $1 debtor_id, $2 the transfer number to start after, $3 the page size, $4 creditor_id.
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.transfer_number), '[]'::json) FROM (
    SELECT transfer_number, previous_transfer_number, coordinator_type, sender, recipient, acquired_amount,
           transfer_note, transfer_note_format, committed_at, principal
      FROM {schema}.transfers
     WHERE debtor_id = $1 AND creditor_id = $4 AND transfer_number > $2
     ORDER BY transfer_number LIMIT $3) t
