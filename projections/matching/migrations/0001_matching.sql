-- The matching domain's read models (docs/matching.md, Read models). A payment's events come
-- from its own entity and from its bucket's, on different partitions, so a row is written by
-- upserts, and a payment's status only moves forward (by rank): the order in which the two
-- partitions are projected never leaves an older status over a newer one.

-- One row per MID onboarded.
CREATE TABLE mids (
    provider             text NOT NULL,
    mid_type             text NOT NULL,       -- PRIMARY, SECONDARY, PSIMI
    identifier           text NOT NULL,
    merchant             text NOT NULL,
    location             text NOT NULL,
    postcode             text NOT NULL,
    location_id          text NOT NULL,
    merchant_internal_id text NOT NULL,
    onboarded_by         text NOT NULL,
    onboarded_at         timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (provider, mid_type, identifier)
);
CREATE INDEX mids_by_merchant ON mids (merchant, provider, mid_type, identifier);

-- Every refused MID command, with the reason.
CREATE TABLE mid_refusals (
    provider    text NOT NULL,
    mid_type    text NOT NULL,
    identifier  text NOT NULL,
    action      text NOT NULL,                -- onboard, update, remove
    reason      text NOT NULL,
    refused_by  text NOT NULL,
    refused_at  timestamptz NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    PRIMARY KEY (source_partition, source_offset)
);

-- One row per payment (settlement key): the payment as merged, and where it stands.
CREATE TABLE payment_transactions (
    payment_key       text PRIMARY KEY,
    status            text NOT NULL,          -- IMPORTED, UNIDENTIFIED, IDENTIFIED, AWAITING_IDENTITY, IDENTITY_FOUND, ROUTED, PENDING, MATCHED, NOT_MATCHABLE, NO_IDENTITY, CLOSED
    status_rank       integer NOT NULL,
    reason            text,                   -- why it is pending, not matchable, without identity
    transaction_id    text,
    feed              text,                   -- AUTH, SETTLED, REFUND
    provider          text,
    settlement_key    text,
    primary_mid       text,
    secondary_mid     text,
    psimi             text,
    amount            bigint,                 -- pence
    currency          text,
    transaction_at    timestamptz,            -- UTC
    source_zone       text,
    card_token        text,
    first_six         text,
    last_four         text,
    auth_code         text,
    approval_code     text,
    extra             text,
    batch             text,
    merchant          text,
    identified_by     text,                   -- the MID that named the merchant: <type>:<identifier>
    scheme_account_id text,
    loyalty_id        text,
    bucket            text,
    match_id          text,
    imported_at       timestamptz,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX payment_transactions_by_merchant ON payment_transactions (merchant, status, transaction_at);
CREATE INDEX payment_transactions_by_status ON payment_transactions (status, transaction_at);

-- Payments none of whose MIDs is onboarded: they wait here until one is.
CREATE TABLE unidentified (
    payment_key   text PRIMARY KEY,
    provider      text NOT NULL,
    primary_mid   text NOT NULL,
    secondary_mid text NOT NULL,
    psimi         text NOT NULL,
    since         timestamptz NOT NULL
);

-- One row per merchant transaction.
CREATE TABLE scheme_transactions (
    merchant        text NOT NULL,
    transaction_id  text NOT NULL,
    status          text NOT NULL,            -- PENDING, MATCHED, CLOSED
    provider        text NOT NULL,
    mids            text[] NOT NULL,
    amount          bigint NOT NULL,
    currency        text NOT NULL,
    transaction_at  timestamptz NOT NULL,
    source_zone     text NOT NULL,
    card_token      text NOT NULL,
    first_six       text NOT NULL,
    last_four       text NOT NULL,
    auth_code       text NOT NULL,
    extra           text NOT NULL,
    batch           text NOT NULL,
    match_id        text,
    imported_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (merchant, transaction_id)
);
CREATE INDEX scheme_transactions_by_status ON scheme_transactions (merchant, status, transaction_at);

-- One row per match.
CREATE TABLE matches (
    match_id                text PRIMARY KEY,
    matching_type           text NOT NULL,    -- LOYALTY, SPOTTED, FORCED
    merchant                text NOT NULL,
    payment_key             text NOT NULL,
    payment_transaction_id  text NOT NULL,
    merchant_transaction_id text NOT NULL,
    amount                  bigint NOT NULL,
    currency                text NOT NULL,
    transaction_at          timestamptz NOT NULL,
    mid                     text NOT NULL,
    card_token              text NOT NULL,
    scheme_account_id       text NOT NULL,
    matched_at              timestamptz NOT NULL
);
CREATE INDEX matches_by_merchant ON matches (merchant, transaction_at);

-- What an import changed nothing with: duplicates, skipped auths and dropped settlements.
CREATE TABLE ignored (
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    kind             text NOT NULL,           -- DUPLICATE, AUTH_SKIPPED, SETTLEMENT_DROPPED
    source           text NOT NULL,           -- the provider or merchant (duplicates), else the payment key
    feed             text NOT NULL,
    transaction_id   text NOT NULL,
    reason           text NOT NULL,
    batch            text NOT NULL,
    ignored_at       timestamptz NOT NULL,
    PRIMARY KEY (source_partition, source_offset)
);
