-- The retry domain's read models (documented for operators in docs/read-models.md).

-- One row per task, as of its latest event.
CREATE TABLE tasks (
    task_id          text PRIMARY KEY,
    task_type        text NOT NULL,
    status           text NOT NULL,        -- PENDING, IN_PROGRESS, RETRYING, WAITING, SUCCESS, FAILED, CANCELLED, REQUEUED, CLEANUP, CLEANUP_FAILED
    attempts         integer NOT NULL,     -- runs started (a resumed WAITING task does not count again)
    callback_errors  integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,          -- PENDING/RETRYING: when it runs; WAITING: its next poll, if any
    deadline         timestamptz,          -- IN_PROGRESS: the run's; WAITING: the callback's; CLEANUP: the cleanup's
    params           jsonb NOT NULL,
    idempotency_key  text NOT NULL,
    reply_topic      text NOT NULL,
    reply_key        text NOT NULL,
    policy           jsonb NOT NULL,
    last_error_class text,
    last_error       text,
    result           text,
    requeued_as      text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL
);
CREATE INDEX tasks_by_status ON tasks (status, task_id);
CREATE INDEX tasks_by_type ON tasks (task_type, task_id);

-- The audit: one row per failed run.
CREATE TABLE attempts (
    task_id          text NOT NULL,
    attempt          integer NOT NULL,
    error_class      text NOT NULL,
    message          text NOT NULL,
    http_status      integer,              -- NULL: no response
    body_excerpt     text NOT NULL,
    failed_at        timestamptz NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
CREATE INDEX attempts_by_task ON attempts (task_id, failed_at);

CREATE TABLE callbacks (
    task_id          text NOT NULL,
    callback_id      text NOT NULL,
    outcome          text NOT NULL,
    error_code       text NOT NULL,
    received_at      timestamptz NOT NULL,
    PRIMARY KEY (task_id, callback_id)
);

-- CreateTask commands that were refused (nothing was scheduled).
CREATE TABLE rejections (
    task_id          text NOT NULL,
    task_type        text NOT NULL,
    reason           text NOT NULL,
    rejected_at      timestamptz NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- Commands a task could not take in its status (a callback for a finished task, ...).
CREATE TABLE refusals (
    task_id          text NOT NULL,
    command          text NOT NULL,
    status           text NOT NULL,
    reason           text NOT NULL,
    refused_at       timestamptz NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- What an operator should look at: the library's anomaly gauges, and a wait past its deadline.
CREATE VIEW anomalies AS
SELECT task_id, task_type, status, attempts, updated_at, deadline,
       CASE
           WHEN status = 'PENDING' THEN 'pending, not updated for an hour'
           WHEN status = 'IN_PROGRESS' THEN 'in progress, not updated for an hour'
           ELSE 'waiting past its callback deadline'
       END AS anomaly
  FROM tasks
 WHERE (status = 'PENDING' AND updated_at < now() - interval '1 hour')
    OR (status = 'IN_PROGRESS' AND updated_at < now() - interval '1 hour')
    OR (status = 'WAITING' AND deadline < now());
