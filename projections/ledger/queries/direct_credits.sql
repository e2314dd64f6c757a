-- How many direct transfers have credited a recipient of the debtor. $1 debtor_id.
SELECT count(*) FROM {schema}.transfers WHERE debtor_id = $1 AND coordinator_type = 'direct' AND acquired_amount > 0
