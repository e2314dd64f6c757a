-- The last configuration seqnum of a debtor's accounts 1..=$2. $1 debtor_id.
SELECT creditor_id, last_config_seqnum FROM {schema}.accounts WHERE debtor_id = $1 AND creditor_id BETWEEN 1 AND $2
