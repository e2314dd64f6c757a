-- What the ledger's clock needs to see, and the account's status flags.

ALTER TABLE accounts
    ADD COLUMN last_interest_rate_change_ts timestamptz NOT NULL DEFAULT 'epoch',
    -- ts of the latest AccountUpdate: the last change or the last heartbeat.
    ADD COLUMN last_update_ts timestamptz,
    ADD COLUMN deleted boolean NOT NULL DEFAULT false,
    ADD COLUMN overflown boolean NOT NULL DEFAULT false,
    ADD COLUMN established_interest_rate boolean NOT NULL DEFAULT false,
    -- When accrued interest was last added to the principal.
    ADD COLUMN last_capitalization_at timestamptz;
UPDATE accounts SET last_update_ts = last_change_ts;
ALTER TABLE accounts ALTER COLUMN last_update_ts SET NOT NULL;

-- ts of the latest PreparedTransfer of the transfer: its preparation or the last reminder.
ALTER TABLE prepared_transfers ADD COLUMN last_reminder_ts timestamptz;
UPDATE prepared_transfers SET last_reminder_ts = prepared_at;
ALTER TABLE prepared_transfers ALTER COLUMN last_reminder_ts SET NOT NULL;

DROP VIEW account_balances;
CREATE VIEW account_balances AS
SELECT a.debtor_id, a.creditor_id, a.principal, a.interest,
       coalesce(p.locked, 0) AS locked_amount,
       floor(a.principal + a.interest)::bigint - coalesce(p.locked, 0) AS available_amount,
       a.config_flags, a.config_data, a.negligible_amount,
       CASE WHEN a.deleted THEN 'deleted'
            WHEN a.config_flags & 1 = 1 THEN 'scheduled_for_deletion'
            ELSE 'active' END AS status,
       a.interest_rate, a.overflown,
       a.source_offset, a.event_at
  FROM accounts a
  LEFT JOIN (SELECT debtor_id, creditor_id, sum(locked_amount)::bigint AS locked
               FROM prepared_transfers GROUP BY debtor_id, creditor_id) p
    USING (debtor_id, creditor_id);

-- Finalized transfers, as their coordinators look them up: the outcome of a request.
CREATE TABLE finalized_transfers (
    debtor_id                bigint NOT NULL,
    creditor_id              bigint NOT NULL,
    transfer_id              bigint NOT NULL,
    coordinator_type         text NOT NULL,
    coordinator_id           bigint NOT NULL,
    coordinator_request_id   bigint NOT NULL,
    committed_amount         bigint NOT NULL,
    status_code              text NOT NULL,
    prepared_at              timestamptz NOT NULL,
    finalized_at             timestamptz NOT NULL,
    source_topic             text NOT NULL,
    source_partition         integer NOT NULL,
    source_offset            bigint NOT NULL,
    event_at                 timestamptz NOT NULL,
    PRIMARY KEY (debtor_id, creditor_id, transfer_id)
);
CREATE INDEX finalized_transfers_by_request
    ON finalized_transfers (coordinator_type, coordinator_id, coordinator_request_id);
