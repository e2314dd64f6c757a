//! The matching domain's read models, applied by the projection runtime: `matching.mids`,
//! `matching.mid_refusals`, `matching.payment_transactions` (one row per payment),
//! `matching.unidentified`, `matching.scheme_transactions`, `matching.matches`,
//! `matching.ignored` (duplicates, skipped auths, dropped settlements), `matching.streamed` and
//! `matching.exports`.
//!
//! # Layout
//! - [`MatchingModel`]: the read model; `migrations/` defines its tables.
//! - Payments: a payment's events come from its own entity and from its bucket, on different
//!   partitions, so its row is created by whichever comes first and its status only moves
//!   forward ([`rank`]).
//! - [`queries`]: the statements its commands and routes read it with (`queries/*.sql`).

use chrono::{DateTime, Utc};
use clio_matching::messages::{MatchingEvent as E, PaymentTransaction};
use clio_projection::{Envelope, Migration, ReadModel};
use futures::future::BoxFuture;
use sqlx::PgConnection;

mod exports;
pub mod queries;

/// The read model's name: its Postgres schema and projector group.
pub const NAME: &str = "matching";
/// The topic it reads.
pub const TOPIC: &str = "matching.events";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "matching", sql: include_str!("../migrations/0001_matching.sql") },
    Migration { version: 2, name: "exports", sql: include_str!("../migrations/0002_exports.sql") },
    Migration { version: 3, name: "streams", sql: include_str!("../migrations/0003_streams.sql") },
];

#[derive(Debug, Clone, Copy, Default)]
pub struct MatchingModel;

impl ReadModel for MatchingModel {
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

pub(crate) fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// How far along a payment status is: a status never replaces one of a higher rank. The last
/// four are final.
pub fn rank(status: &str) -> i32 {
    match status {
        "IMPORTED" => 0,
        "UNIDENTIFIED" => 1,
        "IDENTIFIED" => 2,
        "AWAITING_IDENTITY" => 3,
        "IDENTITY_FOUND" => 4,
        "ROUTED" => 5,
        "PENDING" => 6,
        // Streamed, it may still be spotted by a later settlement.
        "STREAMED" => 7,
        _ => 9,
    }
}

/// Moves a payment to `status` (creating its row if its bucket's event came first), unless it
/// is further along already.
async fn advance(
    tx: &mut PgConnection,
    key: &str,
    status: &str,
    reason: Option<&str>,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_transactions (payment_key, status, status_rank, reason, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (payment_key) DO UPDATE SET
             status = CASE WHEN EXCLUDED.status_rank >= payment_transactions.status_rank
                           THEN EXCLUDED.status ELSE payment_transactions.status END,
             reason = CASE WHEN EXCLUDED.status_rank >= payment_transactions.status_rank
                           THEN EXCLUDED.reason ELSE payment_transactions.reason END,
             status_rank = greatest(EXCLUDED.status_rank, payment_transactions.status_rank),
             updated_at = greatest(EXCLUDED.updated_at, payment_transactions.updated_at)",
    )
    .bind(key)
    .bind(status)
    .bind(rank(status))
    .bind(reason)
    .bind(when)
    .execute(tx)
    .await
    .map(|_| ())
}

/// Sets a payment's fields from `t`; `first_only` keeps those of its first transaction.
async fn payment_fields(
    tx: &mut PgConnection,
    key: &str,
    t: &PaymentTransaction,
    batch: Option<&str>,
    when: DateTime<Utc>,
    first_only: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_transactions SET
             transaction_id = $2, feed = $3, provider = $4, settlement_key = $5, primary_mid = $6,
             secondary_mid = $7, psimi = $8, amount = $9, currency = $10, transaction_at = $11,
             source_zone = $12, card_token = $13, first_six = $14, last_four = $15, auth_code = $16,
             approval_code = $17, extra = $18, batch = coalesce($19, batch),
             imported_at = coalesce(imported_at, $20)
         WHERE payment_key = $1 AND (NOT $21 OR transaction_id IS NULL)",
    )
    .bind(key)
    .bind(&t.transaction_id)
    .bind(&t.feed)
    .bind(&t.provider)
    .bind(&t.settlement_key)
    .bind(&t.primary_mid)
    .bind(&t.secondary_mid)
    .bind(&t.psimi)
    .bind(t.amount)
    .bind(&t.currency)
    .bind(at(t.at))
    .bind(&t.source_zone)
    .bind(&t.card_token)
    .bind(&t.first_six)
    .bind(&t.last_four)
    .bind(&t.auth_code)
    .bind(&t.approval_code)
    .bind(&t.extra)
    .bind(batch)
    .bind(when)
    .bind(first_only)
    .execute(tx)
    .await
    .map(|_| ())
}

/// One column of a payment's row (its status advanced first, so the row exists).
async fn set_column(tx: &mut PgConnection, key: &str, sql: &'static str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).bind(key).bind(value).execute(tx).await.map(|_| ())
}

async fn ignored(
    tx: &mut PgConnection,
    e: &Envelope<E>,
    kind: &str,
    (source, feed, transaction_id): (&str, &str, &str),
    reason: &str,
    batch: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ignored (source_partition, source_offset, kind, source, feed, transaction_id, reason, batch, ignored_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(e.partition)
    .bind(e.offset)
    .bind(kind)
    .bind(source)
    .bind(feed)
    .bind(transaction_id)
    .bind(reason)
    .bind(batch)
    .bind(e.event_at)
    .execute(tx)
    .await
    .map(|_| ())
}

async fn apply_one(tx: &mut PgConnection, e: &Envelope<E>) -> Result<(), sqlx::Error> {
    let when = e.event_at;
    match &e.event {
        E::MidOnboarded(m) => {
            sqlx::query(
                "INSERT INTO mids (provider, mid_type, identifier, merchant, location, postcode, location_id,
                                   merchant_internal_id, onboarded_by, onboarded_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (provider, mid_type, identifier) DO UPDATE SET
                     merchant = $4, location = $5, postcode = $6, location_id = $7, merchant_internal_id = $8,
                     onboarded_by = $9, onboarded_at = $10, updated_at = $10",
            )
            .bind(&m.provider)
            .bind(&m.mid_type)
            .bind(&m.identifier)
            .bind(&m.merchant)
            .bind(&m.location)
            .bind(&m.postcode)
            .bind(&m.location_id)
            .bind(&m.merchant_internal_id)
            .bind(&m.by)
            .bind(at(m.ts))
            .execute(&mut *tx)
            .await?;
        }
        E::MidUpdated(m) => {
            sqlx::query(
                "UPDATE mids SET merchant = $4, location = $5, postcode = $6, location_id = $7,
                                 merchant_internal_id = $8, updated_at = $9
                 WHERE provider = $1 AND mid_type = $2 AND identifier = $3",
            )
            .bind(&m.provider)
            .bind(&m.mid_type)
            .bind(&m.identifier)
            .bind(&m.merchant)
            .bind(&m.location)
            .bind(&m.postcode)
            .bind(&m.location_id)
            .bind(&m.merchant_internal_id)
            .bind(at(m.ts))
            .execute(&mut *tx)
            .await?;
        }
        E::MidRemoved(m) => {
            sqlx::query("DELETE FROM mids WHERE provider = $1 AND mid_type = $2 AND identifier = $3")
                .bind(&m.provider)
                .bind(&m.mid_type)
                .bind(&m.identifier)
                .execute(&mut *tx)
                .await?;
        }
        E::MidRefused(m) => {
            sqlx::query(
                "INSERT INTO mid_refusals (provider, mid_type, identifier, action, reason, refused_by, refused_at,
                                           source_partition, source_offset)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(&m.provider)
            .bind(&m.mid_type)
            .bind(&m.identifier)
            .bind(&m.action)
            .bind(&m.reason)
            .bind(&m.by)
            .bind(at(m.ts))
            .bind(e.partition)
            .bind(e.offset)
            .execute(&mut *tx)
            .await?;
        }
        // The waiting list is the processor's; `unidentified` shows what waits.
        E::PaymentAwaitingMid(_) => {}
        E::TransactionImported(i) => {
            advance(tx, &i.payment_key, "IMPORTED", None, when).await?;
            payment_fields(tx, &i.payment_key, &i.transaction, Some(&i.batch), when, true).await?;
        }
        E::PaymentMerged(m) => payment_fields(tx, &m.payment_key, &m.payment, None, when, false).await?,
        E::TransactionUnidentified(u) => {
            advance(tx, &u.payment_key, "UNIDENTIFIED", None, when).await?;
            sqlx::query(
                "INSERT INTO unidentified (payment_key, provider, primary_mid, secondary_mid, psimi, since)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payment_key) DO NOTHING",
            )
            .bind(&u.payment_key)
            .bind(&u.provider)
            .bind(&u.primary_mid)
            .bind(&u.secondary_mid)
            .bind(&u.psimi)
            .bind(when)
            .execute(&mut *tx)
            .await?;
        }
        E::TransactionIdentified(i) => {
            advance(tx, &i.payment_key, "IDENTIFIED", None, when).await?;
            set_column(
                tx,
                &i.payment_key,
                "UPDATE payment_transactions SET merchant = $2 WHERE payment_key = $1",
                &i.merchant,
            )
            .await?;
            let by = format!("{}:{}", i.mid_type, i.identifier);
            set_column(
                tx,
                &i.payment_key,
                "UPDATE payment_transactions SET identified_by = $2 WHERE payment_key = $1",
                &by,
            )
            .await?;
            sqlx::query("DELETE FROM unidentified WHERE payment_key = $1")
                .bind(&i.payment_key)
                .execute(&mut *tx)
                .await?;
        }
        E::IdentityRequested(r) => advance(tx, &r.payment_key, "AWAITING_IDENTITY", None, when).await?,
        E::IdentityFound(f) => {
            advance(tx, &f.payment_key, "IDENTITY_FOUND", None, when).await?;
            let sql = "UPDATE payment_transactions SET scheme_account_id = $2 WHERE payment_key = $1";
            set_column(tx, &f.payment_key, sql, &f.scheme_account_id).await?;
            let sql = "UPDATE payment_transactions SET loyalty_id = $2 WHERE payment_key = $1";
            set_column(tx, &f.payment_key, sql, &f.loyalty_id).await?;
        }
        E::IdentityNotFound(n) => advance(tx, &n.payment_key, "NO_IDENTITY", Some(&n.reason), when).await?,
        E::NotMatchable(n) => {
            // A refund under an existing payment's key is not the payment.
            sqlx::query(
                "INSERT INTO payment_transactions (payment_key, status, status_rank, reason, updated_at)
                 VALUES ($1, 'NOT_MATCHABLE', 9, $2, $3)
                 ON CONFLICT (payment_key) DO UPDATE SET status = 'NOT_MATCHABLE', status_rank = 9, reason = $2,
                     updated_at = $3
                 WHERE payment_transactions.transaction_id IS NULL OR payment_transactions.transaction_id = $4",
            )
            .bind(&n.payment_key)
            .bind(&n.reason)
            .bind(when)
            .bind(&n.transaction_id)
            .execute(&mut *tx)
            .await?;
        }
        E::RoutedToMatching(r) => {
            advance(tx, &r.payment_key, "ROUTED", None, when).await?;
            set_column(
                tx,
                &r.payment_key,
                "UPDATE payment_transactions SET bucket = $2 WHERE payment_key = $1",
                &r.bucket,
            )
            .await?;
        }
        E::PaymentPending(p) => advance(tx, &p.payment_key, "PENDING", Some(&p.reason), when).await?,
        E::PaymentMoved(m) => {
            set_column(
                tx,
                &m.payment_key,
                "UPDATE payment_transactions SET bucket = $2 WHERE payment_key = $1",
                &m.bucket,
            )
            .await?
        }
        E::Matched(m) => {
            advance(tx, &m.payment_key, "MATCHED", None, when).await?;
            set_column(
                tx,
                &m.payment_key,
                "UPDATE payment_transactions SET match_id = $2 WHERE payment_key = $1",
                &m.match_id,
            )
            .await?;
            sqlx::query(
                "INSERT INTO matches (match_id, matching_type, merchant, payment_key, payment_transaction_id,
                                      merchant_transaction_id, amount, currency, transaction_at, mid, card_token,
                                      scheme_account_id, matched_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (match_id) DO NOTHING",
            )
            .bind(&m.match_id)
            .bind(&m.matching_type)
            .bind(&m.merchant)
            .bind(&m.payment_key)
            .bind(&m.payment_transaction_id)
            .bind(&m.merchant_transaction_id)
            .bind(m.amount)
            .bind(&m.currency)
            .bind(at(m.at))
            .bind(&m.mid)
            .bind(&m.card_token)
            .bind(&m.scheme_account_id)
            .bind(when)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE scheme_transactions SET status = 'MATCHED', match_id = $3, updated_at = $4
                 WHERE merchant = $1 AND transaction_id = $2",
            )
            .bind(&m.merchant)
            .bind(&m.merchant_transaction_id)
            .bind(&m.match_id)
            .bind(when)
            .execute(&mut *tx)
            .await?;
        }
        E::MerchantTransactionImported(i) => {
            let t = &i.transaction;
            sqlx::query(
                "INSERT INTO scheme_transactions (merchant, transaction_id, status, provider, mids, amount, currency,
                                                  transaction_at, source_zone, card_token, first_six, last_four,
                                                  auth_code, extra, batch, imported_at, updated_at)
                 VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
                 ON CONFLICT (merchant, transaction_id) DO NOTHING",
            )
            .bind(&t.merchant)
            .bind(&t.transaction_id)
            .bind(&t.provider)
            .bind(&t.mids)
            .bind(t.amount)
            .bind(&t.currency)
            .bind(at(t.at))
            .bind(&t.source_zone)
            .bind(&t.card_token)
            .bind(&t.first_six)
            .bind(&t.last_four)
            .bind(&t.auth_code)
            .bind(&t.extra)
            .bind(&i.batch)
            .bind(when)
            .execute(&mut *tx)
            .await?;
        }
        E::PendingClosed(c) if c.side == "PAYMENT" => advance(tx, &c.id, "CLOSED", None, when).await?,
        E::PendingClosed(c) => {
            sqlx::query(
                "UPDATE scheme_transactions SET status = 'CLOSED', updated_at = $3
                 WHERE merchant = $1 AND transaction_id = $2 AND status = 'PENDING'",
            )
            .bind(&c.merchant)
            .bind(&c.id)
            .bind(when)
            .execute(&mut *tx)
            .await?;
        }
        E::DuplicateIgnored(d) => {
            ignored(tx, e, "DUPLICATE", (&d.source, &d.feed, &d.transaction_id), "imported already", &d.batch).await?
        }
        E::AuthSkipped(s) => {
            let reason = "an auth for a payment that already exists";
            ignored(tx, e, "AUTH_SKIPPED", (&s.payment_key, "AUTH", &s.transaction_id), reason, "").await?
        }
        E::SettlementDropped(s) => {
            ignored(tx, e, "SETTLEMENT_DROPPED", (&s.payment_key, "SETTLED", &s.transaction_id), &s.reason, "").await?
        }
        E::ForceMatchRefused(r) => {
            let reason = format!("{} (force match asked by {})", r.reason, r.by);
            ignored(tx, e, "FORCE_MATCH_REFUSED", (&r.payment_key, "FORCE", &r.merchant_transaction_id), &reason, "")
                .await?
        }
        E::MerchantTransactionReserved(r) => {
            merchant_status(tx, (&r.merchant, &r.transaction_id), "RESERVED", "PENDING", when).await?
        }
        E::MerchantTransactionReleased(r) => {
            let row = (r.transaction.merchant.as_str(), r.transaction.transaction_id.as_str());
            merchant_status(tx, row, "PENDING", "RESERVED", when).await?
        }
        E::Streamed(s) => {
            advance(tx, &s.payment_key, "STREAMED", None, when).await?;
            sqlx::query(
                "INSERT INTO streamed (stream_id, purchase_id, merchant, payment_key, feed, provider, transaction_id,
                                       amount, currency, transaction_at, mid, card_token, scheme_account_id, streamed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (stream_id) DO NOTHING",
            )
            .bind(&s.stream_id)
            .bind(&s.purchase_id)
            .bind(&s.merchant)
            .bind(&s.payment_key)
            .bind(&s.feed)
            .bind(&s.provider)
            .bind(&s.transaction_id)
            .bind(s.amount)
            .bind(&s.currency)
            .bind(at(s.at))
            .bind(&s.mid)
            .bind(&s.card_token)
            .bind(&s.scheme_account_id)
            .bind(when)
            .execute(&mut *tx)
            .await?;
        }
        E::UnmatchedExportDue(u) => {
            let reason = format!("exported unmatched to {}", u.export_as);
            advance(tx, &u.payment_key, "EXPORTED_UNMATCHED", Some(&reason), when).await?
        }
        E::ExportRequested(r) => exports::requested(tx, r, when).await?,
        E::ExportSent(x) => exports::ended(tx, x.into(), when).await?,
        E::ExportFailed(x) => exports::ended(tx, x.into(), when).await?,
        E::ExportAbandoned(x) => exports::ended(tx, x.into(), when).await?,
        // The processor's memory only: the payment's row keeps its story.
        E::PaymentRetired(_) => {}
    }
    Ok(())
}

/// A merchant transaction's status, when it is `from`: reserved for a force match, or back.
async fn merchant_status(
    tx: &mut PgConnection,
    (merchant, transaction_id): (&str, &str),
    to: &str,
    from: &str,
    when: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scheme_transactions SET status = $3, updated_at = $5
         WHERE merchant = $1 AND transaction_id = $2 AND status = $4",
    )
    .bind(merchant)
    .bind(transaction_id)
    .bind(to)
    .bind(from)
    .bind(when)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
