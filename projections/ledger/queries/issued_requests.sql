-- The debtor's issuing requests (coordinator `issuing`, the debtor itself) that were committed
-- with money. $1 debtor_id.
SELECT DISTINCT coordinator_request_id FROM {schema}.finalized_transfers
 WHERE debtor_id = $1 AND creditor_id = 0 AND coordinator_type = 'issuing' AND coordinator_id = $1
   AND committed_amount > 0
