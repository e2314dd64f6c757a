//! The retry domain's read models, applied by the projection runtime: `retry.tasks` (one row
//! per task, as of its latest event), `retry.attempts` (the audit: a row per failed run),
//! `retry.callbacks`, `retry.rejections`, `retry.refusals`, `retry.slots` (exclusive key
//! values and their failed logins), and the view `retry.anomalies`.
//! The statements that read them are in [`queries`] (`queries/*.sql`).
//!
//! A task's events change one row each, in log order, so a batch is applied event by event
//! (a task may be created, run and failed within one batch).

use chrono::{DateTime, Utc};
use clio_projection::{Envelope, Migration, ReadModel};
use clio_retry::messages::RetryEvent;
use futures::future::BoxFuture;
use sqlx::PgConnection;

pub mod queries;

/// The read model's name: its Postgres schema and projector group.
pub const NAME: &str = "retry";
/// The topic it reads.
pub const TOPIC: &str = "retry.events";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "tasks", sql: include_str!("../migrations/0001_tasks.sql") },
    Migration { version: 2, name: "slots", sql: include_str!("../migrations/0002_slots.sql") },
];

#[derive(Debug, Clone, Copy, Default)]
pub struct RetryModel;

impl ReadModel for RetryModel {
    type Event = RetryEvent;

    fn name(&self) -> &'static str {
        NAME
    }

    fn topics(&self) -> &'static [&'static str] {
        &[TOPIC]
    }

    fn migrations(&self) -> &[Migration] {
        MIGRATIONS
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope<RetryEvent>],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            for envelope in events {
                apply_one(tx, envelope).await?;
            }
            Ok(())
        })
    }
}

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// An UPDATE of one task's row: `$1` the task, `$2` the event's time, `$3`-`$5` its position
/// on the log; the columns it sets bind from `$6` on.
macro_rules! update {
    ($columns:literal) => {
        concat!(
            "UPDATE tasks SET ",
            $columns,
            ", updated_at = $2, source_topic = $3, source_partition = $4, source_offset = $5 WHERE task_id = $1"
        )
    };
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// A statement about the event's task, with the task, the time and the position bound.
fn about<'q>(sql: &'q str, e: &'q Envelope<RetryEvent>, task_id: &'q str) -> Query<'q> {
    sqlx::query(sql).bind(task_id).bind(e.event_at).bind(&e.topic).bind(e.partition).bind(e.offset)
}

/// An upsert of a slot's row: `$1` the slot, `$2` the holder (NULL: none), `$3` its failed
/// logins, `$4` the end of its lock, `$5` the event's time; `$set` says what an existing row takes.
macro_rules! slot_upsert {
    ($set:literal) => {
        concat!(
            "INSERT INTO slots (slot, holder, held_since, login_failures, locked_until, updated_at)
             VALUES ($1, $2, CASE WHEN $2 IS NULL THEN NULL ELSE $5 END, $3, $4, $5)
             ON CONFLICT (slot) DO UPDATE SET ",
            $set,
            ", updated_at = EXCLUDED.updated_at"
        )
    };
}

fn slot_row<'q>(
    sql: &'static str,
    e: &Envelope<RetryEvent>,
    slot: &'q str,
    holder: Option<&'q str>,
    login_failures: i32,
    locked_until: Option<DateTime<Utc>>,
) -> Query<'q> {
    sqlx::query(sql).bind(slot).bind(holder).bind(login_failures).bind(locked_until).bind(e.event_at)
}

async fn apply_one(tx: &mut PgConnection, e: &Envelope<RetryEvent>) -> Result<(), sqlx::Error> {
    let query = match &e.event {
        RetryEvent::TaskCreated(c) => about(
            "INSERT INTO tasks (task_id, created_at, source_topic, source_partition, source_offset, updated_at,
                                task_type, status, attempts, params, idempotency_key, reply_topic, reply_key, policy,
                                next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $2, $6, 'PENDING', 0, $7::jsonb, $8, $9, $10, $11::jsonb, greatest($2, $12))
             ON CONFLICT (task_id) DO UPDATE SET
                 created_at = $2, updated_at = $2, source_topic = $3, source_partition = $4, source_offset = $5,
                 task_type = $6, status = 'PENDING', attempts = 0, callback_errors = 0, next_attempt_at = greatest($2, $12),
                 deadline = NULL, params = $7::jsonb, idempotency_key = $8, reply_topic = $9, reply_key = $10,
                 policy = $11::jsonb, last_error_class = NULL, last_error = NULL, result = NULL, requeued_as = NULL",
            e,
            &c.task_id,
        )
        .bind(&c.task_type)
        .bind(&c.params)
        .bind(&c.idempotency_key)
        .bind(&c.reply_topic)
        .bind(&c.reply_key)
        .bind(&c.policy)
        .bind(at(c.not_before)),
        RetryEvent::TaskRejected(r) => about(
            "INSERT INTO rejections (task_id, rejected_at, source_topic, source_partition, source_offset, task_type, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            e,
            &r.task_id,
        )
        .bind(&r.task_type)
        .bind(&r.reason),
        RetryEvent::AttemptStarted(s) => {
            about(
                update!("status = 'IN_PROGRESS', attempts = $6, deadline = $7, next_attempt_at = NULL"),
                e,
                &s.task_id,
            )
            .bind(s.attempt)
            .bind(at(s.deadline))
        }
        RetryEvent::AttemptFailed(f) => {
            about(
                "INSERT INTO attempts (task_id, failed_at, source_topic, source_partition, source_offset,
                                       attempt, error_class, message, http_status, body_excerpt)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, 0), $10) ON CONFLICT DO NOTHING",
                e,
                &f.task_id,
            )
            .bind(f.attempt)
            .bind(&f.error_class)
            .bind(&f.message)
            .bind(f.http_status)
            .bind(&f.body_excerpt)
            .execute(&mut *tx)
            .await?;
            about(update!("last_error_class = $6, last_error = $7"), e, &f.task_id)
                .bind(&f.error_class)
                .bind(&f.message)
        }
        RetryEvent::RetryScheduled(r) => {
            about(update!("status = 'RETRYING', attempts = $6, next_attempt_at = $7, deadline = NULL"), e, &r.task_id)
                .bind(r.attempt)
                .bind(at(r.at))
        }
        RetryEvent::WaitingForCallback(w) => about(
            update!(
                "status = 'WAITING', deadline = $6, next_attempt_at = CASE WHEN $7 < $6 THEN $7 END::timestamptz"
            ),
            e,
            &w.task_id,
        )
        .bind(at(w.deadline))
        .bind(at(w.poll_at)),
        RetryEvent::CallbackReceived(c) => {
            sqlx::query(
                "INSERT INTO callbacks (task_id, callback_id, outcome, error_code, received_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(&c.task_id)
            .bind(&c.callback_id)
            .bind(&c.outcome)
            .bind(&c.error_code)
            .bind(e.event_at)
            .execute(&mut *tx)
            .await?;
            about(update!("callback_errors = callback_errors + $6"), e, &c.task_id)
                .bind(i32::from(c.outcome != "success"))
        }
        RetryEvent::TaskSucceeded(s) => {
            about(update!("status = 'SUCCESS', result = $6, next_attempt_at = NULL, deadline = NULL"), e, &s.task_id)
                .bind(&s.result)
        }
        RetryEvent::TaskFailed(f) => about(
            update!(
                "status = 'FAILED', last_error_class = $6, last_error = $7, next_attempt_at = NULL, deadline = NULL"
            ),
            e,
            &f.task_id,
        )
        .bind(&f.error_class)
        .bind(&f.reason),
        RetryEvent::CleanupStarted(c) => about(
            update!("status = 'CLEANUP', deadline = $6, next_attempt_at = NULL, cancelled_by = nullif($7, '')"),
            e,
            &c.task_id,
        )
        .bind(at(c.deadline))
        .bind(&c.by),
        RetryEvent::TaskCancelled(c) => about(
            update!("status = 'CANCELLED', next_attempt_at = NULL, deadline = NULL, cancelled_by = nullif($6, '')"),
            e,
            &c.task_id,
        )
        .bind(&c.by),
        RetryEvent::CleanupFailed(c) => {
            about(update!("status = 'CLEANUP_FAILED', last_error = $6, deadline = NULL"), e, &c.task_id)
                .bind(&c.message)
        }
        RetryEvent::TaskRequeued(r) => {
            about(update!("status = 'REQUEUED', requeued_as = $6, requeued_by = nullif($7, '')"), e, &r.task_id)
                .bind(&r.new_task_id)
                .bind(&r.by)
        }
        RetryEvent::SlotRequested(r) => {
            about(update!("slot = $6, next_attempt_at = NULL"), e, &r.task_id).bind(&r.slot)
        }
        RetryEvent::RunDeferred(d) => {
            about(update!("next_attempt_at = $6, deferred_by = $7"), e, &d.task_id).bind(at(d.at)).bind(&d.holder)
        }
        RetryEvent::SlotTaken(t) => slot_row(
            slot_upsert!("holder = EXCLUDED.holder, held_since = EXCLUDED.held_since, login_failures = EXCLUDED.login_failures,
             locked_until = CASE WHEN EXCLUDED.login_failures = 0 THEN NULL ELSE slots.locked_until END"),
            e,
            &t.slot,
            Some(&t.task_id),
            t.login_failures,
            None,
        ),
        RetryEvent::SlotFreed(f) => slot_row(
            slot_upsert!("holder = NULL, held_since = NULL, login_failures = EXCLUDED.login_failures"),
            e,
            &f.slot,
            None,
            f.login_failures,
            None,
        ),
        RetryEvent::SlotLocked(l) => slot_row(
            slot_upsert!("login_failures = EXCLUDED.login_failures, locked_until = EXCLUDED.locked_until"),
            e,
            &l.slot,
            None,
            l.login_failures,
            Some(at(l.until)),
        ),
        RetryEvent::TaskPurged(p) => {
            for sql in ["DELETE FROM attempts WHERE task_id = $1", "DELETE FROM callbacks WHERE task_id = $1"] {
                sqlx::query(sql).bind(&p.task_id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM tasks WHERE task_id = $1").bind(&p.task_id)
        }
        RetryEvent::CommandRefused(r) => about(
            "INSERT INTO refusals (task_id, refused_at, source_topic, source_partition, source_offset, command, status, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            e,
            &r.task_id,
        )
        .bind(&r.command)
        .bind(&r.status)
        .bind(&r.reason),
    };
    query.execute(&mut *tx).await?;
    Ok(())
}
