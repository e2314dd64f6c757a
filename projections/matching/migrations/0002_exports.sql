-- One row per match's export: its retry task (export:<match id>) and where it stands. A
-- match's request and its answer come from different entities, on different partitions: a
-- row is made by whichever is applied first, and an ended export stays ended.
CREATE TABLE exports (
    match_id     text PRIMARY KEY,
    merchant     text NOT NULL,
    task_id      text NOT NULL,
    status       text NOT NULL,               -- REQUESTED, HELD, SENT, FAILED, ABANDONED
    not_before   timestamptz,                 -- HELD: when the first send may go
    attempts     integer NOT NULL DEFAULT 0,
    error_class  text,
    reason       text,
    requested_at timestamptz,
    ended_at     timestamptz,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX exports_by_merchant ON exports (merchant, status);
