-- One coordinator's open prepared transfers: request id, sender, transfer id, locked amount.
-- $1 debtor_id, $2 coordinator_type, $3 coordinator_id (NULL: any), $4 the lowest request id.
SELECT coordinator_request_id, creditor_id, transfer_id, locked_amount FROM {schema}.prepared_transfers
 WHERE debtor_id = $1 AND coordinator_type = $2 AND ($3::bigint IS NULL OR coordinator_id = $3)
   AND coordinator_request_id >= $4
