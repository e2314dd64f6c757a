-- Every transaction streamed to its merchant: exported as it came, unmatched, once its card
-- holder was known (docs/matching.md, Streaming). An auth and its settlement are two rows
-- with one purchase id.
CREATE TABLE streamed (
    stream_id         text PRIMARY KEY,       -- stream:<purchase id>:<feed>:<transaction id>
    purchase_id       text NOT NULL,          -- sha256 of the settlement key: the merchant's id
    merchant          text NOT NULL,
    payment_key       text NOT NULL,
    feed              text NOT NULL,          -- AUTH, SETTLED, REFUND
    provider          text NOT NULL,
    transaction_id    text NOT NULL,
    amount            bigint NOT NULL,        -- pence
    currency          text NOT NULL,
    transaction_at    timestamptz NOT NULL,
    mid               text NOT NULL,
    card_token        text NOT NULL,
    scheme_account_id text NOT NULL,
    streamed_at       timestamptz NOT NULL
);
CREATE INDEX streamed_by_merchant ON streamed (merchant, transaction_at);

-- What an export sends: a match (MATCH), a streamed transaction (STREAM) or a payment its
-- merchant takes unmatched (UNMATCHED). Its match_id column holds the export's id.
ALTER TABLE exports ADD COLUMN export_of text NOT NULL DEFAULT 'MATCH';
