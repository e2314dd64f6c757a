-- Why the root account refused some of the debtor's issuing requests since a moment.
-- $1 debtor_id, $2 the request ids, $3 since.
SELECT code FROM {schema}.rejections
 WHERE debtor_id = $1 AND creditor_id = 0 AND coordinator_type = 'issuing' AND coordinator_id = $1
   AND coordinator_request_id = ANY($2) AND event_at >= $3
