-- Exclusive keys and the login limit (slots), and who asked for a cancel or a requeue.

-- One row per slot: the task holding an exclusive key value of a type, and its failed logins.
CREATE TABLE slots (
    slot             text PRIMARY KEY,     -- exclusive:<task type>:<JSON array of the key values>
    holder           text,                 -- the task running with it; NULL: free
    held_since       timestamptz,
    login_failures   integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,          -- runs are refused (retry_limit_reached) until then
    updated_at       timestamptz NOT NULL
);

ALTER TABLE tasks
    ADD COLUMN slot         text,          -- the slot its runs take; NULL: none
    ADD COLUMN deferred_by  text,          -- the task whose hold on the slot deferred its last run
    ADD COLUMN cancelled_by text,
    ADD COLUMN requeued_by  text;
