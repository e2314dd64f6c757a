-- The seed's tables for the matching baseline (Harmonia's payment_transaction,
-- scheme_transaction and matched_transaction, the columns its matching query reads), with an
-- index for each look-up it makes.
DROP SCHEMA IF EXISTS bench_seed CASCADE;
CREATE SCHEMA bench_seed;
CREATE TABLE bench_seed.payment_transaction (
    id               bigserial PRIMARY KEY,
    transaction_id   text NOT NULL,
    mid              text NOT NULL,
    spend_amount     bigint NOT NULL,
    transaction_date timestamptz NOT NULL,
    auth_code        text NOT NULL,
    provider         text NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_seed.payment_transaction (transaction_id);
CREATE TABLE bench_seed.scheme_transaction (
    id               bigserial PRIMARY KEY,
    merchant         text NOT NULL,
    transaction_id   text NOT NULL,
    mids             text[] NOT NULL,
    spend_amount     bigint NOT NULL,
    transaction_date timestamptz NOT NULL,
    auth_code        text NOT NULL,
    provider         text NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_seed.scheme_transaction (spend_amount, status);
CREATE TABLE bench_seed.matched_transaction (
    id                     bigserial PRIMARY KEY,
    payment_transaction_id bigint NOT NULL,
    scheme_transaction_id  bigint NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now()
);
