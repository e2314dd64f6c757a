-- API keys created with `clio keys create` (keys configured from a file or CLIO_API_KEYS are
-- never stored). Public interface: operators read it.
CREATE SCHEMA IF NOT EXISTS clio;

CREATE TABLE IF NOT EXISTS clio.api_keys (
    name        text        PRIMARY KEY,        -- who the key is, in audits (`replayed_by`, `operator`)
    fingerprint text        NOT NULL UNIQUE,    -- `sha256:<hex>` of the key; the key itself is shown once and never kept
    scopes      text[]      NOT NULL,           -- what it may do: `read:ledger`, `admin:matching`, `*` …
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL,
    revoked_at  timestamptz,                    -- set: refused from then on (within a second)
    revoked_by  text
);
