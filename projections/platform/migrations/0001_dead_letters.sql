-- Every record a processor or projector could not handle, one row per source record and
-- consumer that refused it, built from platform.dead-letters and platform.dead-letter-replays.
-- Public interface: operators read it (clio dlq list, GET /v1/dead-letters).
CREATE TABLE dead_letters (
    source_topic          text        NOT NULL,  -- where the record that failed is (clio.dlq.topic)
    source_partition      integer     NOT NULL,
    source_offset         bigint      NOT NULL,
    consumer              text        NOT NULL,  -- the consumer group that refused it
    record_key            text        NOT NULL,  -- its key (UTF-8, lossy; empty when none)
    reason                text        NOT NULL,  -- why, the latest time it was refused
    value_bytes           bigint      NOT NULL,  -- the size of its value
    status                text        NOT NULL,  -- PARKED (waiting for a fix and a replay) or REPLAYED
    copies                integer     NOT NULL,  -- dead letters received for it: a re-sent batch or a rebuild parks the same record again, and counts here
    dead_letter_topic     text        NOT NULL,  -- its latest copy, which a replay sends back
    dead_letter_partition integer     NOT NULL,
    dead_letter_offset    bigint      NOT NULL,
    first_seen            timestamptz NOT NULL,
    last_seen             timestamptz NOT NULL,
    replays               integer     NOT NULL DEFAULT 0,
    replayed_by           text,                  -- who replayed it last (an API key's name, or a user of clio dlq)
    replayed_at           timestamptz,
    replayed_to_partition integer,               -- where the last replay's copy went in the source topic
    replayed_to_offset    bigint,
    failed_again_offset   bigint,                -- the offset of a replayed copy that failed again (then PARKED with the new reason)
    PRIMARY KEY (source_topic, source_partition, source_offset, consumer)
);

CREATE INDEX dead_letters_by_first_seen ON dead_letters (first_seen, source_topic, source_partition, source_offset);
