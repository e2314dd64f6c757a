//! The orders domain's read models, applied by the projection runtime: `orders.projects`,
//! `orders.items` (status, tracker key and status, last synced status), `orders.messages` (both ways),
//! `orders.sync_failures` (what was left aside or failed, with the reason) and `orders.feed`.
//!
//! # Layout
//! - [`OrdersModel`]: the read model; `migrations/` defines its tables.
//! - [`queries`]: the statements its routes read it with (`queries/*.sql`).

use chrono::{DateTime, Utc};
use clio_orders::messages::OrdersEvent as E;
use clio_projection::{Envelope, Migration, ReadModel};
use futures::future::BoxFuture;
use sqlx::PgConnection;

pub mod queries;

/// The read model's name: its Postgres schema and projector group.
pub const NAME: &str = "orders";
/// The topic it reads.
pub const TOPIC: &str = "orders.events";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "orders", sql: include_str!("../migrations/0001_orders.sql") },
    Migration { version: 2, name: "tracker_status", sql: include_str!("../migrations/0002_tracker_status.sql") },
];

#[derive(Debug, Clone, Copy, Default)]
pub struct OrdersModel;

impl ReadModel for OrdersModel {
    type Event = E;

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
        events: &'a [Envelope<E>],
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

async fn project(tx: &mut PgConnection, project_id: i64, when: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projects (project_id, created_at, updated_at) VALUES ($1, $2, $2)
         ON CONFLICT (project_id) DO UPDATE SET updated_at = greatest(projects.updated_at, $2)",
    )
    .bind(project_id)
    .bind(when)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

async fn item(tx: &mut PgConnection, project_id: i64, item_iid: i64, when: DateTime<Utc>) -> Result<(), sqlx::Error> {
    project(tx, project_id, when).await?;
    sqlx::query(
        "INSERT INTO items (project_id, item_iid, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, item_iid) DO UPDATE SET updated_at = greatest(items.updated_at, $3)",
    )
    .bind(project_id)
    .bind(item_iid)
    .bind(when)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

async fn tracker_status(
    tx: &mut PgConnection,
    project_id: i64,
    item_iid: i64,
    status_id: &str,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    item(tx, project_id, item_iid, when).await?;
    sqlx::query("UPDATE items SET tracker_status_id = $3 WHERE project_id = $1 AND item_iid = $2")
        .bind(project_id)
        .bind(item_iid)
        .bind(status_id)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

#[allow(clippy::too_many_arguments)]
async fn message(
    tx: &mut PgConnection,
    project_id: i64,
    origin: &str,
    source_id: &str,
    item_iid: i64,
    message_id: Option<i64>,
    comment_id: Option<&str>,
    state: &str,
    note: Option<&str>,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (project_id, origin, source_id, item_iid, message_id, comment_id, state, note, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (project_id, origin, source_id) DO UPDATE SET
             message_id = coalesce($5, messages.message_id), comment_id = coalesce($6, messages.comment_id),
             state = $7, note = $8, updated_at = $9",
    )
    .bind(project_id)
    .bind(origin)
    .bind(source_id)
    .bind(item_iid)
    .bind(message_id)
    .bind(comment_id)
    .bind(state)
    .bind(note)
    .bind(when)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

#[allow(clippy::too_many_arguments)]
async fn failure(
    tx: &mut PgConnection,
    event_id: &str,
    project_id: i64,
    item_iid: i64,
    kind: &str,
    reason: &str,
    detail: &str,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_failures (event_id, project_id, item_iid, kind, reason, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(project_id)
    .bind(item_iid)
    .bind(kind)
    .bind(reason)
    .bind(detail)
    .bind(when)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

async fn apply_one(tx: &mut PgConnection, e: &Envelope<E>) -> Result<(), sqlx::Error> {
    let id = e.event_id.as_str();
    match &e.event {
        E::PollRequested(p) => {
            sqlx::query(
                "INSERT INTO feed (id, cursor, reads, events_read, updated_at) VALUES (1, $1, 1, 0, $2)
                 ON CONFLICT (id) DO UPDATE SET reads = feed.reads + 1, updated_at = $2",
            )
            .bind(&p.since)
            .bind(at(p.ts))
            .execute(&mut *tx)
            .await?;
        }
        E::MarketplaceEventsRead(r) => {
            sqlx::query("UPDATE feed SET cursor = $1, events_read = events_read + $2, updated_at = $3 WHERE id = 1")
                .bind(&r.cursor)
                .bind(i64::from(r.count))
                .bind(at(r.ts))
                .execute(&mut *tx)
                .await?;
        }
        E::PollFailed(f) => failure(tx, id, 0, 0, "poll", &f.reason, &f.task_id, at(f.ts)).await?,
        E::MarketplaceEventIgnored(i) => {
            // The event's own item, when it names one, so `--project` lists show whose it was.
            let event: serde_json::Value = serde_json::from_str(&i.event).unwrap_or_default();
            let item_iid = event["project_item_id"].as_i64().unwrap_or(0);
            failure(tx, id, i.project_id, item_iid, "marketplace_event", &i.reason, &i.event, at(i.ts)).await?;
        }
        E::MarketplaceEventReceived(r) => {
            let when = at(r.ts);
            match r.resource.as_str() {
                "project_item" => {
                    item(tx, r.project_id, r.item_iid, when).await?;
                    if !r.status_type.is_empty() {
                        sqlx::query(
                            "UPDATE items SET status_type = $3, status_value = nullif($4, ''), last_synced_status = $3
                              WHERE project_id = $1 AND item_iid = $2",
                        )
                        .bind(r.project_id)
                        .bind(r.item_iid)
                        .bind(&r.status_type)
                        .bind(&r.status_value)
                        .execute(&mut *tx)
                        .await?;
                    } else if r.event_type == "create" {
                        sqlx::query(
                            "UPDATE items SET status_type = coalesce(status_type, 'created')
                              WHERE project_id = $1 AND item_iid = $2",
                        )
                        .bind(r.project_id)
                        .bind(r.item_iid)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                "message" => {
                    if r.item_iid > 0 {
                        item(tx, r.project_id, r.item_iid, when).await?;
                    } else {
                        project(tx, r.project_id, when).await?;
                    }
                    let source = r.message_id.to_string();
                    message(
                        tx,
                        r.project_id,
                        "marketplace",
                        &source,
                        r.item_iid,
                        Some(r.message_id),
                        None,
                        "received",
                        None,
                        when,
                    )
                    .await?;
                }
                _ => project(tx, r.project_id, when).await?,
            }
        }
        E::TrackerIssueRequested(_) | E::MarketplaceEventParked(_) | E::DuplicateIgnored(_) | E::PollQueued(_) => {}
        E::TrackerIssueLinked(l) => {
            let when = at(l.ts);
            if l.item_iid == 0 {
                project(tx, l.project_id, when).await?;
                sqlx::query("UPDATE projects SET epic_key = $2, epic_issue_id = $3 WHERE project_id = $1")
                    .bind(l.project_id)
                    .bind(&l.issue_key)
                    .bind(&l.issue_id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                item(tx, l.project_id, l.item_iid, when).await?;
                sqlx::query(
                    "UPDATE items SET tracker_key = $3, tracker_issue_id = $4 WHERE project_id = $1 AND item_iid = $2",
                )
                .bind(l.project_id)
                .bind(l.item_iid)
                .bind(&l.issue_key)
                .bind(&l.issue_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        E::CommentRequested(c) => {
            let source = c.message_id.to_string();
            message(
                tx,
                c.project_id,
                "marketplace",
                &source,
                c.item_iid,
                Some(c.message_id),
                None,
                "requested",
                None,
                at(c.ts),
            )
            .await?;
        }
        E::CommentLinked(c) => {
            let source = c.message_id.to_string();
            let (state, comment, note) = if c.skipped.is_empty() {
                ("synced", Some(c.comment_id.as_str()), None)
            } else {
                ("skipped", None, Some(c.skipped.as_str()))
            };
            message(
                tx,
                c.project_id,
                "marketplace",
                &source,
                c.item_iid,
                Some(c.message_id),
                comment,
                state,
                note,
                at(c.ts),
            )
            .await?;
        }
        E::TrackerChangeReceived(r) if r.change == "status" => {
            let detail: serde_json::Value = serde_json::from_str(&r.detail).unwrap_or_default();
            let status_id = detail["status_id"].as_str().unwrap_or_default();
            tracker_status(tx, r.project_id, r.item_iid, status_id, at(r.ts)).await?;
        }
        E::TrackerChangeReceived(_) | E::TrackerTransitionRequested(_) => {}
        E::TrackerTransitioned(t) => tracker_status(tx, t.project_id, t.item_iid, &t.status_id, at(t.ts)).await?,
        E::TrackerChangeIgnored(i) => {
            failure(
                tx,
                id,
                i.project_id,
                i.item_iid,
                "tracker_change",
                &i.reason,
                &format!("{} on issue {}", i.webhook_event, i.issue_id),
                at(i.ts),
            )
            .await?;
        }
        E::MarketplaceUpdateRequested(u) => {
            let when = at(u.ts);
            match u.kind.as_str() {
                "status" => {
                    item(tx, u.project_id, u.item_iid, when).await?;
                    let detail: serde_json::Value = serde_json::from_str(&u.detail).unwrap_or_default();
                    let status = detail["status"]["type"].as_str().unwrap_or_default();
                    sqlx::query("UPDATE items SET last_synced_status = $3 WHERE project_id = $1 AND item_iid = $2")
                        .bind(u.project_id)
                        .bind(u.item_iid)
                        .bind(status)
                        .execute(&mut *tx)
                        .await?;
                }
                "message" => {
                    message(
                        tx,
                        u.project_id,
                        "tracker",
                        &u.source_id,
                        u.item_iid,
                        None,
                        Some(&u.source_id),
                        "requested",
                        None,
                        when,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        E::MarketplaceUpdateDone(d) => {
            if d.kind == "message" {
                let when = at(d.ts);
                message(
                    tx,
                    d.project_id,
                    "tracker",
                    &d.source_id,
                    d.item_iid,
                    Some(d.message_id),
                    None,
                    "synced",
                    None,
                    when,
                )
                .await?;
            }
        }
        E::SyncFailed(f) => {
            failure(tx, id, f.project_id, f.item_iid, &f.what, &f.reason, &f.task_id, at(f.ts)).await?;
        }
    }
    Ok(())
}
