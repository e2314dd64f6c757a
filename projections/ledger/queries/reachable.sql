-- Whether an account takes transfers: deleted accounts, and accounts whose owner asked for
-- their deletion (config flag 1), do not. $1 debtor_id, $2 creditor_id.
SELECT 1 FROM {schema}.accounts
 WHERE debtor_id = $1 AND creditor_id = $2 AND NOT deleted AND config_flags & 1 = 0
