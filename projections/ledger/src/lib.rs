//! The ledger's read models, applied by the projection runtime: `ledger.accounts`,
//! `ledger.prepared_transfers`, `ledger.transfers`, `ledger.rejections` and the view
//! `ledger.account_balances` (documented for integrators in docs/read-models.md). The ledger's
//! scanner reads `accounts` and `prepared_transfers` to find the accounts whose time-driven work
//! may be due.
//!
//! The statements that read these tables are in [`queries`] (`queries/*.sql`).
//!
//! Every batch is written with one set-based statement per table (arrays through `unnest`).
//! Timestamps travel as microseconds and become `timestamptz` in SQL.

use chrono::{DateTime, Utc};
use clio_ledger::LedgerEvent;
use clio_projection::{Envelope, Migration, ReadModel};
use futures::future::BoxFuture;
use sqlx::PgConnection;

pub mod queries;

/// The read model's name: its Postgres schema and projector group.
pub const NAME: &str = "ledger";
/// The topic it reads.
pub const TOPIC: &str = "ledger.events";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "ledger", sql: include_str!("../migrations/0001_ledger.sql") },
    Migration { version: 2, name: "maintenance", sql: include_str!("../migrations/0002_maintenance.sql") },
];

#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerModel;

impl ReadModel for LedgerModel {
    type Event = LedgerEvent;

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
        events: &'a [Envelope<LedgerEvent>],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(apply(tx, events))
    }
}

/// Where each row came from.
struct Source {
    topic: Vec<String>,
    partition: Vec<i32>,
    offset: Vec<i64>,
    event_at: Vec<DateTime<Utc>>,
}

impl Source {
    fn of<T>(rows: &[(&Envelope<LedgerEvent>, T)]) -> Self {
        Self {
            topic: rows.iter().map(|(e, _)| e.topic.clone()).collect(),
            partition: rows.iter().map(|(e, _)| e.partition).collect(),
            offset: rows.iter().map(|(e, _)| e.offset).collect(),
            event_at: rows.iter().map(|(e, _)| e.event_at).collect(),
        }
    }
}

/// One column of a batch's rows, for `unnest`.
fn col<T, U>(rows: &[(&Envelope<LedgerEvent>, T)], value: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(|(_, row)| value(row)).collect()
}

/// A RejectedTransfer or RejectedConfig as a row of `rejections`.
struct Rejection {
    debtor_id: i64,
    creditor_id: i64,
    kind: &'static str,
    code: String,
    coordinator: Option<(String, i64, i64)>,
}

const TS: &str = "'epoch'::timestamptz + interval '1 microsecond' *";

async fn apply(tx: &mut PgConnection, events: &[Envelope<LedgerEvent>]) -> Result<(), sqlx::Error> {
    let (mut updates, mut prepared, mut finalized, mut transfers, mut rejections, mut purges) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut statuses, mut capitalizations) = (Vec::new(), Vec::new());
    for e in events {
        match &e.event {
            LedgerEvent::AccountUpdate(u) => updates.push((e, u)),
            LedgerEvent::PreparedTransfer(p) => prepared.push((e, p)),
            LedgerEvent::FinalizedTransfer(f) => finalized.push((e, f)),
            LedgerEvent::AccountTransfer(t) => transfers.push((e, t)),
            LedgerEvent::RejectedTransfer(r) => rejections.push((
                e,
                Rejection {
                    debtor_id: r.debtor_id,
                    creditor_id: r.creditor_id,
                    kind: "transfer",
                    code: r.status_code.clone(),
                    coordinator: Some((r.coordinator_type.clone(), r.coordinator_id, r.coordinator_request_id)),
                },
            )),
            LedgerEvent::RejectedConfig(r) => rejections.push((
                e,
                Rejection {
                    debtor_id: r.debtor_id,
                    creditor_id: r.creditor_id,
                    kind: "config",
                    code: r.rejection_code.clone(),
                    coordinator: None,
                },
            )),
            LedgerEvent::AccountPurge(p) => purges.push((e, p)),
            LedgerEvent::AccountStatus(s) => statuses.push((e, s)),
            LedgerEvent::BalanceChangeSent(s) if s.coordinator_type == "interest" => capitalizations.push((e, s)),
            LedgerEvent::BalanceChanged(_) | LedgerEvent::BalanceChangeSent(_) => {}
        }
    }

    if !updates.is_empty() {
        let s = Source::of(&updates);
        // The latest update of each account in the batch wins (an account lives on one
        // partition, so a higher offset is a later update).
        let sql = format!(
            "INSERT INTO accounts AS a
             SELECT DISTINCT ON (debtor_id, creditor_id)
                    debtor_id, creditor_id, '1970-01-01'::date + creation_date, principal, interest, interest_rate,
                    {TS} last_change_ts, last_change_seqnum, {TS} last_config_ts, last_config_seqnum,
                    negligible_amount, config_flags, config_data, last_transfer_number, {TS} last_transfer_committed_at,
                    source_topic, source_partition, source_offset, event_at,
                    {TS} last_interest_rate_change_ts, {TS} last_update_ts
               FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::float8[], $6::float8[],
                           $7::bigint[], $8::int[], $9::bigint[], $10::int[], $11::float8[], $12::int[], $13::text[],
                           $14::bigint[], $15::bigint[], $16::text[], $17::int[], $18::bigint[], $19::timestamptz[],
                           $20::bigint[], $21::bigint[])
                    AS u(debtor_id, creditor_id, creation_date, principal, interest, interest_rate,
                         last_change_ts, last_change_seqnum, last_config_ts, last_config_seqnum,
                         negligible_amount, config_flags, config_data, last_transfer_number, last_transfer_committed_at,
                         source_topic, source_partition, source_offset, event_at,
                         last_interest_rate_change_ts, last_update_ts)
              ORDER BY debtor_id, creditor_id, source_offset DESC
             ON CONFLICT (debtor_id, creditor_id) DO UPDATE SET
                 creation_date = excluded.creation_date, principal = excluded.principal,
                 interest = excluded.interest, interest_rate = excluded.interest_rate,
                 last_change_ts = excluded.last_change_ts, last_change_seqnum = excluded.last_change_seqnum,
                 last_config_ts = excluded.last_config_ts, last_config_seqnum = excluded.last_config_seqnum,
                 negligible_amount = excluded.negligible_amount, config_flags = excluded.config_flags,
                 config_data = excluded.config_data, last_transfer_number = excluded.last_transfer_number,
                 last_transfer_committed_at = excluded.last_transfer_committed_at,
                 last_interest_rate_change_ts = excluded.last_interest_rate_change_ts,
                 last_update_ts = excluded.last_update_ts,
                 source_topic = excluded.source_topic, source_partition = excluded.source_partition,
                 source_offset = excluded.source_offset, event_at = excluded.event_at"
        );
        sqlx::query(&sql)
            .bind(col(&updates, |u| u.debtor_id))
            .bind(col(&updates, |u| u.creditor_id))
            .bind(col(&updates, |u| u.creation_date))
            .bind(col(&updates, |u| u.principal))
            .bind(col(&updates, |u| u.interest))
            .bind(col(&updates, |u| u.interest_rate))
            .bind(col(&updates, |u| u.last_change_ts))
            .bind(col(&updates, |u| u.last_change_seqnum))
            .bind(col(&updates, |u| u.last_config_ts))
            .bind(col(&updates, |u| u.last_config_seqnum))
            .bind(col(&updates, |u| u.negligible_amount))
            .bind(col(&updates, |u| u.config_flags))
            .bind(col(&updates, |u| u.config_data.clone()))
            .bind(col(&updates, |u| u.last_transfer_number))
            .bind(col(&updates, |u| u.last_transfer_committed_at))
            .bind(&s.topic)
            .bind(&s.partition)
            .bind(&s.offset)
            .bind(&s.event_at)
            .bind(col(&updates, |u| u.last_interest_rate_change_ts))
            .bind(col(&updates, |u| u.ts))
            .execute(&mut *tx)
            .await?;
    }

    if !prepared.is_empty() {
        let s = Source::of(&prepared);
        // A reminder (the same PreparedTransfer again) only moves the row's source.
        let sql = format!(
            "INSERT INTO prepared_transfers AS p
             SELECT DISTINCT ON (debtor_id, creditor_id, transfer_id)
                    debtor_id, creditor_id, transfer_id, coordinator_type, coordinator_id, coordinator_request_id,
                    locked_amount, recipient, {TS} prepared_at, {TS} deadline,
                    source_topic, source_partition, source_offset, event_at, {TS} last_reminder_ts
               FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
                           $7::bigint[], $8::text[], $9::bigint[], $10::bigint[],
                           $11::text[], $12::int[], $13::bigint[], $14::timestamptz[], $15::bigint[])
                    AS u(debtor_id, creditor_id, transfer_id, coordinator_type, coordinator_id, coordinator_request_id,
                         locked_amount, recipient, prepared_at, deadline, source_topic, source_partition, source_offset, event_at,
                         last_reminder_ts)
              ORDER BY debtor_id, creditor_id, transfer_id, source_offset DESC
             ON CONFLICT (debtor_id, creditor_id, transfer_id) DO UPDATE SET
                 last_reminder_ts = excluded.last_reminder_ts, source_topic = excluded.source_topic, source_partition = excluded.source_partition,
                 source_offset = excluded.source_offset, event_at = excluded.event_at"
        );
        sqlx::query(&sql)
            .bind(col(&prepared, |p| p.debtor_id))
            .bind(col(&prepared, |p| p.creditor_id))
            .bind(col(&prepared, |p| p.transfer_id))
            .bind(col(&prepared, |p| p.coordinator_type.clone()))
            .bind(col(&prepared, |p| p.coordinator_id))
            .bind(col(&prepared, |p| p.coordinator_request_id))
            .bind(col(&prepared, |p| p.locked_amount))
            .bind(col(&prepared, |p| p.recipient.clone()))
            .bind(col(&prepared, |p| p.prepared_at))
            .bind(col(&prepared, |p| p.deadline))
            .bind(&s.topic)
            .bind(&s.partition)
            .bind(&s.offset)
            .bind(&s.event_at)
            .bind(col(&prepared, |p| p.ts))
            .execute(&mut *tx)
            .await?;
    }

    if !finalized.is_empty() {
        let s = Source::of(&finalized);
        let sql = format!(
            "INSERT INTO finalized_transfers
             SELECT debtor_id, creditor_id, transfer_id, coordinator_type, coordinator_id, coordinator_request_id,
                    committed_amount, status_code, {TS} prepared_at, {TS} finalized_at,
                    source_topic, source_partition, source_offset, event_at
               FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
                           $7::bigint[], $8::text[], $9::bigint[], $10::bigint[],
                           $11::text[], $12::int[], $13::bigint[], $14::timestamptz[])
                    AS u(debtor_id, creditor_id, transfer_id, coordinator_type, coordinator_id, coordinator_request_id,
                         committed_amount, status_code, prepared_at, finalized_at,
                         source_topic, source_partition, source_offset, event_at)
             ON CONFLICT (debtor_id, creditor_id, transfer_id) DO NOTHING"
        );
        sqlx::query(&sql)
            .bind(col(&finalized, |f| f.debtor_id))
            .bind(col(&finalized, |f| f.creditor_id))
            .bind(col(&finalized, |f| f.transfer_id))
            .bind(col(&finalized, |f| f.coordinator_type.clone()))
            .bind(col(&finalized, |f| f.coordinator_id))
            .bind(col(&finalized, |f| f.coordinator_request_id))
            .bind(col(&finalized, |f| f.committed_amount))
            .bind(col(&finalized, |f| f.status_code.clone()))
            .bind(col(&finalized, |f| f.prepared_at))
            .bind(col(&finalized, |f| f.ts))
            .bind(&s.topic)
            .bind(&s.partition)
            .bind(&s.offset)
            .bind(&s.event_at)
            .execute(&mut *tx)
            .await?;
        // A finalization always follows its preparation on the same partition, so deleting
        // after the batch's inserts is the log's order.
        sqlx::query(
            "DELETE FROM prepared_transfers p USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS f(d, c, t)
              WHERE p.debtor_id = f.d AND p.creditor_id = f.c AND p.transfer_id = f.t",
        )
        .bind(col(&finalized, |f| f.debtor_id))
        .bind(col(&finalized, |f| f.creditor_id))
        .bind(col(&finalized, |f| f.transfer_id))
        .execute(&mut *tx)
        .await?;
    }

    if !transfers.is_empty() {
        let s = Source::of(&transfers);
        let sql = format!(
            "INSERT INTO transfers
             SELECT debtor_id, creditor_id, transfer_number, previous_transfer_number, coordinator_type, sender,
                    recipient, acquired_amount, transfer_note, transfer_note_format, {TS} committed_at, principal,
                    source_topic, source_partition, source_offset, event_at
               FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                           $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::bigint[],
                           $13::text[], $14::int[], $15::bigint[], $16::timestamptz[])
                    AS u(debtor_id, creditor_id, transfer_number, previous_transfer_number, coordinator_type, sender,
                         recipient, acquired_amount, transfer_note, transfer_note_format, committed_at, principal,
                         source_topic, source_partition, source_offset, event_at)
             ON CONFLICT (debtor_id, creditor_id, transfer_number) DO NOTHING"
        );
        sqlx::query(&sql)
            .bind(col(&transfers, |t| t.debtor_id))
            .bind(col(&transfers, |t| t.creditor_id))
            .bind(col(&transfers, |t| t.transfer_number))
            .bind(col(&transfers, |t| t.previous_transfer_number))
            .bind(col(&transfers, |t| t.coordinator_type.clone()))
            .bind(col(&transfers, |t| t.sender.clone()))
            .bind(col(&transfers, |t| t.recipient.clone()))
            .bind(col(&transfers, |t| t.acquired_amount))
            .bind(col(&transfers, |t| t.transfer_note.clone()))
            .bind(col(&transfers, |t| t.transfer_note_format.clone()))
            .bind(col(&transfers, |t| t.committed_at))
            .bind(col(&transfers, |t| t.principal))
            .bind(&s.topic)
            .bind(&s.partition)
            .bind(&s.offset)
            .bind(&s.event_at)
            .execute(&mut *tx)
            .await?;
    }

    if !rejections.is_empty() {
        let s = Source::of(&rejections);
        sqlx::query(
            "INSERT INTO rejections (source_topic, source_partition, source_offset, debtor_id, creditor_id, kind, code,
                                     coordinator_type, coordinator_id, coordinator_request_id, event_at)
             SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
                                  $8::text[], $9::bigint[], $10::bigint[], $11::timestamptz[])",
        )
        .bind(&s.topic)
        .bind(&s.partition)
        .bind(&s.offset)
        .bind(col(&rejections, |r| r.debtor_id))
        .bind(col(&rejections, |r| r.creditor_id))
        .bind(col(&rejections, |r| r.kind))
        .bind(col(&rejections, |r| r.code.clone()))
        .bind(col(&rejections, |r| r.coordinator.as_ref().map(|c| c.0.clone())))
        .bind(col(&rejections, |r| r.coordinator.as_ref().map(|c| c.1)))
        .bind(col(&rejections, |r| r.coordinator.as_ref().map(|c| c.2)))
        .bind(&s.event_at)
        .execute(&mut *tx)
        .await?;
    }

    if !statuses.is_empty() {
        // Only AccountStatus writes these columns, so the batch's latest per account wins
        // whatever else the batch did to the row.
        sqlx::query(
            "UPDATE accounts a SET deleted = s.deleted, overflown = s.overflown,
                    established_interest_rate = s.established
               FROM (SELECT DISTINCT ON (d, c) d, c, deleted, overflown, established
                       FROM unnest($1::bigint[], $2::bigint[], $3::bool[], $4::bool[], $5::bool[], $6::bigint[])
                            AS u(d, c, deleted, overflown, established, o)
                      ORDER BY d, c, o DESC) s
              WHERE a.debtor_id = s.d AND a.creditor_id = s.c",
        )
        .bind(col(&statuses, |s| s.debtor_id))
        .bind(col(&statuses, |s| s.creditor_id))
        .bind(col(&statuses, |s| s.deleted))
        .bind(col(&statuses, |s| s.overflown))
        .bind(col(&statuses, |s| s.established_interest_rate))
        .bind(Source::of(&statuses).offset)
        .execute(&mut *tx)
        .await?;
    }

    if !capitalizations.is_empty() {
        let sql = format!(
            "UPDATE accounts a SET last_capitalization_at = {TS} c.ts
               FROM (SELECT d, c, max(ts) AS ts FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(d, c, ts)
                      GROUP BY d, c) c
              WHERE a.debtor_id = c.d AND a.creditor_id = c.c"
        );
        sqlx::query(&sql)
            .bind(col(&capitalizations, |s| s.debtor_id))
            .bind(col(&capitalizations, |s| s.creditor_id))
            .bind(col(&capitalizations, |s| s.ts))
            .execute(&mut *tx)
            .await?;
    }

    if !purges.is_empty() {
        // Only what the purge follows: an account created again later in the batch stays.
        sqlx::query(
            "DELETE FROM accounts a USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS p(d, c, o)
              WHERE a.debtor_id = p.d AND a.creditor_id = p.c AND a.source_offset < p.o",
        )
        .bind(col(&purges, |p| p.debtor_id))
        .bind(col(&purges, |p| p.creditor_id))
        .bind(Source::of(&purges).offset)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
