-- The ledger's read models (schema `ledger`). Public interface: see docs/read-models.md.
-- Every row names the event that last changed it: source_topic, source_partition,
-- source_offset, event_at.

-- One row per account, from its latest AccountUpdate.
CREATE TABLE accounts (
    debtor_id                    bigint NOT NULL,
    creditor_id                  bigint NOT NULL,
    creation_date                date NOT NULL,
    principal                    bigint NOT NULL,
    interest                     double precision NOT NULL,
    interest_rate                double precision NOT NULL,
    last_change_ts               timestamptz NOT NULL,
    last_change_seqnum           integer NOT NULL,
    last_config_ts               timestamptz NOT NULL,
    last_config_seqnum           integer NOT NULL,
    negligible_amount            double precision NOT NULL,
    config_flags                 integer NOT NULL,
    config_data                  text NOT NULL,
    last_transfer_number         bigint NOT NULL,
    last_transfer_committed_at   timestamptz NOT NULL,
    source_topic                 text NOT NULL,
    source_partition             integer NOT NULL,
    source_offset                bigint NOT NULL,
    event_at                     timestamptz NOT NULL,
    PRIMARY KEY (debtor_id, creditor_id)
);

-- Transfers prepared and not finalized yet: their locks.
CREATE TABLE prepared_transfers (
    debtor_id                bigint NOT NULL,
    creditor_id              bigint NOT NULL,
    transfer_id              bigint NOT NULL,
    coordinator_type         text NOT NULL,
    coordinator_id           bigint NOT NULL,
    coordinator_request_id   bigint NOT NULL,
    locked_amount            bigint NOT NULL,
    recipient                text NOT NULL,
    prepared_at              timestamptz NOT NULL,
    deadline                 timestamptz NOT NULL,
    source_topic             text NOT NULL,
    source_partition         integer NOT NULL,
    source_offset            bigint NOT NULL,
    event_at                 timestamptz NOT NULL,
    PRIMARY KEY (debtor_id, creditor_id, transfer_id)
);

-- The transfer history of each account (the AccountTransfer chain).
CREATE TABLE transfers (
    debtor_id                 bigint NOT NULL,
    creditor_id               bigint NOT NULL,
    transfer_number           bigint NOT NULL,
    previous_transfer_number  bigint NOT NULL,
    coordinator_type          text NOT NULL,
    sender                    text NOT NULL,
    recipient                 text NOT NULL,
    acquired_amount           bigint NOT NULL,
    transfer_note             text NOT NULL,
    transfer_note_format      text NOT NULL,
    committed_at              timestamptz NOT NULL,
    principal                 bigint NOT NULL,
    source_topic              text NOT NULL,
    source_partition          integer NOT NULL,
    source_offset             bigint NOT NULL,
    event_at                  timestamptz NOT NULL,
    PRIMARY KEY (debtor_id, creditor_id, transfer_number)
);

-- Refused requests: RejectedTransfer and RejectedConfig.
CREATE TABLE rejections (
    source_topic       text NOT NULL,
    source_partition   integer NOT NULL,
    source_offset      bigint NOT NULL,
    debtor_id          bigint NOT NULL,
    creditor_id        bigint NOT NULL,
    kind               text NOT NULL,   -- 'transfer' or 'config'
    code               text NOT NULL,   -- status_code or rejection_code
    coordinator_type   text,
    coordinator_id     bigint,
    coordinator_request_id bigint,
    event_at           timestamptz NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- Balances as integrators read them: locked is the sum of the open prepared transfers.
CREATE VIEW account_balances AS
SELECT a.debtor_id, a.creditor_id, a.principal, a.interest,
       coalesce(p.locked, 0) AS locked_amount,
       floor(a.principal + a.interest)::bigint - coalesce(p.locked, 0) AS available_amount,
       a.config_flags, a.config_data, a.negligible_amount,
       CASE WHEN a.config_flags & 1 = 1 THEN 'scheduled_for_deletion' ELSE 'active' END AS status,
       a.source_offset, a.event_at
  FROM accounts a
  LEFT JOIN (SELECT debtor_id, creditor_id, sum(locked_amount)::bigint AS locked
               FROM prepared_transfers GROUP BY debtor_id, creditor_id) p
    USING (debtor_id, creditor_id);
