-- Every debtor's root account configuration (its interest rate), for the ledger's clock.
SELECT debtor_id, config_data FROM {schema}.accounts WHERE creditor_id = 0
