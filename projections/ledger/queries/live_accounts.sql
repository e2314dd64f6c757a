-- A debtor's accounts that are not deleted. $1 debtor_id.
SELECT creditor_id FROM {schema}.accounts WHERE debtor_id = $1 AND NOT deleted
