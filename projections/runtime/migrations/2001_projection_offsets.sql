-- The projection runtime's own tables (schema `clio`). Public interface: operators read them.

CREATE SCHEMA IF NOT EXISTS clio;

-- Where each projection stands in each partition it reads: the offset of the next event to
-- apply. Written in the same transaction as the read-model rows, so the two never disagree;
-- projectors seek here on assignment and ignore the offsets committed to Kafka.
-- A rebuild in progress keeps its own rows under `<projection>~rebuild`.
CREATE TABLE IF NOT EXISTS clio.projection_offsets (
    projection  text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);
