-- The orders domain's read models (docs/orders.md, Read models). Each project's events come
-- from its own entity, in order; the feed's from the feed entity.

-- One row per marketplace project (an order) the adapter has seen.
CREATE TABLE projects (
    project_id      bigint PRIMARY KEY,
    epic_key        text,                 -- the tracker epic's key, once it exists
    epic_issue_id   text,
    created_at      timestamptz NOT NULL, -- when the adapter first heard of it
    updated_at      timestamptz NOT NULL
);

-- One row per project item, keyed as the marketplace keys it: (project, iid within it).
CREATE TABLE items (
    project_id          bigint NOT NULL,
    item_iid            bigint NOT NULL,
    status_type         text,             -- the marketplace's status type, as its events said
    status_value        text,
    tracker_key         text,             -- the item's issue, once it exists
    tracker_issue_id    text,
    last_synced_status  text,             -- the status type last sent to the marketplace
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (project_id, item_iid)
);

-- Messages both ways: a marketplace message mirrored as a comment (origin marketplace,
-- source_id its message id), or a tracker comment posted as a message (origin tracker,
-- source_id its comment id).
CREATE TABLE messages (
    project_id  bigint NOT NULL,
    origin      text NOT NULL,            -- marketplace or tracker
    source_id   text NOT NULL,
    item_iid    bigint NOT NULL,          -- 0: the project's
    message_id  bigint,                   -- the marketplace message
    comment_id  text,                     -- the tracker comment
    state       text NOT NULL,            -- requested, synced, skipped, failed
    note        text,                     -- why skipped or failed
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (project_id, origin, source_id)
);

-- What could not be synced, or was left aside, with the reason: marketplace events ignored
-- (deletes, unknown resources or types, bad ids, echoes), tracker changes ignored (echoes,
-- internal comments, unmapped statuses, unknown issues), reads and calls that failed for good.
CREATE TABLE sync_failures (
    event_id    text PRIMARY KEY,
    project_id  bigint NOT NULL,          -- 0: none known
    item_iid    bigint NOT NULL,
    kind        text NOT NULL,            -- marketplace_event, tracker_change, poll, or the call
    reason      text NOT NULL,
    detail      text NOT NULL,            -- the event, webhook kind or task id concerned
    at          timestamptz NOT NULL
);
CREATE INDEX sync_failures_by_project ON sync_failures (project_id, at);

-- The marketplace feed: its resume point and reads.
CREATE TABLE feed (
    id          int PRIMARY KEY CHECK (id = 1),
    cursor      text NOT NULL,
    reads       bigint NOT NULL,
    events_read bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);
