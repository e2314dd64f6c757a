-- An account's config_data. $1 debtor_id, $2 creditor_id.
SELECT config_data FROM {schema}.accounts WHERE debtor_id = $1 AND creditor_id = $2 AND NOT deleted
