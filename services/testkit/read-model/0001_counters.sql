-- The tally read model: what the runtime's projection tests compare.

-- One row per counter, as of its last event.
CREATE TABLE counters (
    counter          text PRIMARY KEY,
    total            bigint NOT NULL,       -- from the latest Balance
    bumps            bigint NOT NULL,       -- from the latest Bumped
    deposits         bigint NOT NULL,       -- Deposited events counted one by one: doubles if one is applied twice
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    event_id         uuid NOT NULL,
    event_at         timestamptz NOT NULL
);

-- Every deposit and withdrawal, by the position of its event: an event applied twice would
-- show as a second row only if it were on the log twice, which the id guard must stop.
CREATE TABLE movements (
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    event_id         uuid NOT NULL,
    counter          text NOT NULL,
    amount           bigint NOT NULL CHECK (amount <> 0),  -- negative for a withdrawal
    command_id       text NOT NULL,
    event_at         timestamptz NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
