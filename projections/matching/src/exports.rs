//! `matching.exports`: each export (a match's, a streamed transaction's, an unmatched
//! payment's), from its request (a bucket's or payment's event) and its answer (the export
//! entity's), applied in whichever order they come.

use chrono::{DateTime, Utc};
use clio_matching::export::{STREAM_PREFIX, UNMATCHED_PREFIX};
use clio_matching::messages::{ExportAbandoned, ExportFailed, ExportRequested, ExportSent};
use sqlx::PgConnection;

pub(crate) async fn requested(
    tx: &mut PgConnection,
    r: &ExportRequested,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let held = (r.not_before > 0).then(|| crate::at(r.not_before));
    let status = if held.is_some() { "HELD" } else { "REQUESTED" };
    sqlx::query(
        "INSERT INTO exports (match_id, merchant, task_id, status, not_before, requested_at, updated_at, export_of)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
         ON CONFLICT (match_id) DO UPDATE SET merchant = $2, not_before = $5, requested_at = $6, export_of = $7,
             status = CASE WHEN exports.ended_at IS NULL THEN $4 ELSE exports.status END",
    )
    .bind(&r.match_id)
    .bind(&r.merchant)
    .bind(&r.task_id)
    .bind(status)
    .bind(held)
    .bind(when)
    .bind(export_of(&r.match_id))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What an export sends, from its id.
fn export_of(export_id: &str) -> &'static str {
    if export_id.starts_with(STREAM_PREFIX) {
        "STREAM"
    } else if export_id.starts_with(UNMATCHED_PREFIX) {
        "UNMATCHED"
    } else {
        "MATCH"
    }
}

/// How an export ended: its status, attempts, and the last failure's class and reason.
pub(crate) struct Ending<'a> {
    pub match_id: &'a str,
    pub task_id: &'a str,
    pub status: &'static str,
    pub attempts: i32,
    pub error_class: Option<&'a str>,
    pub reason: Option<&'a str>,
}

impl<'a> From<&'a ExportSent> for Ending<'a> {
    fn from(e: &'a ExportSent) -> Self {
        Ending {
            match_id: &e.match_id,
            task_id: &e.task_id,
            status: "SENT",
            attempts: e.attempts,
            error_class: None,
            reason: None,
        }
    }
}

impl<'a> From<&'a ExportFailed> for Ending<'a> {
    fn from(e: &'a ExportFailed) -> Self {
        Ending {
            match_id: &e.match_id,
            task_id: &e.task_id,
            status: "FAILED",
            attempts: e.attempts,
            error_class: Some(&e.error_class),
            reason: Some(&e.reason),
        }
    }
}

impl<'a> From<&'a ExportAbandoned> for Ending<'a> {
    fn from(e: &'a ExportAbandoned) -> Self {
        Ending {
            match_id: &e.match_id,
            task_id: &e.task_id,
            status: "ABANDONED",
            attempts: 0,
            error_class: None,
            reason: Some(&e.reason),
        }
    }
}

pub(crate) async fn ended(tx: &mut PgConnection, e: Ending<'_>, when: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO exports (match_id, merchant, task_id, status, attempts, error_class, reason, ended_at, updated_at)
         VALUES ($1, '', $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (match_id) DO UPDATE SET status = $3, attempts = greatest($4, exports.attempts),
             error_class = $5, reason = $6, ended_at = $7, updated_at = $7",
    )
    .bind(e.match_id)
    .bind(e.task_id)
    .bind(e.status)
    .bind(e.attempts)
    .bind(e.error_class)
    .bind(e.reason)
    .bind(when)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
