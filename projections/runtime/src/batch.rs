//! One batch of records and the transaction that applies it.
//!
//! The transaction, in order: lock this projection's offset rows for the batch's partitions
//! and check that they say what the caller read from (else nothing is written and the caller
//! re-reads from the stored offsets); record the event ids in `applied_events`, keeping only
//! those not seen before; let the read model apply those; write the next offsets.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use clio_aggregate::{Cause, RecordSet};
use clio_runtime::codec::{Codec, retry_transient};
use clio_runtime::headers;
use futures::future::BoxFuture;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::dead_letter;
use crate::schema::ident;
use crate::{Envelope, ReadModel};

/// A topic and one of its partitions.
pub type TopicPartition = (String, i32);

/// A record's topic, partition and offset.
pub type Position = (String, i32, i64);

/// The offsets a batch covers in one partition: the first record read, and the offset after
/// the last. Records that became dead letters are covered too: they are accounted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub first: i64,
    pub next: i64,
}

/// Decoded events and the ranges of offsets they were read from.
#[derive(Debug)]
pub struct Batch<E> {
    pub envelopes: Vec<Envelope<E>>,
    pub ranges: BTreeMap<TopicPartition, Range>,
}

impl<E> Default for Batch<E> {
    fn default() -> Self {
        Self { envelopes: Vec::new(), ranges: BTreeMap::new() }
    }
}

impl<E> Batch<E> {
    /// Marks an offset as read, whether or not it yields an event.
    pub fn cover(&mut self, topic: &str, partition: i32, offset: i64) {
        self.ranges
            .entry((topic.to_string(), partition))
            .and_modify(|r| {
                r.first = r.first.min(offset);
                r.next = r.next.max(offset + 1);
            })
            .or_insert(Range { first: offset, next: offset + 1 });
    }

    pub fn push(&mut self, envelope: Envelope<E>) {
        self.cover(&envelope.topic, envelope.partition, envelope.offset);
        self.envelopes.push(envelope);
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// Where a batch is written: the key of its rows in `clio.projection_offsets` and the schema
/// of its tables.
#[derive(Debug, Clone)]
pub struct Target {
    pub offsets_key: String,
    pub schema: String,
}

/// What applying a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        events: usize,
        duplicates: usize,
    },
    /// The stored offsets are not where the batch was read from: nothing was written. The
    /// stored offsets of the batch's partitions.
    Moved(BTreeMap<TopicPartition, i64>),
}

/// Decodes one record into an envelope. `Some(Err(reason))` when it cannot be an event (the
/// caller makes it a dead letter); `None` when shutdown came while the registry was down.
pub async fn decode<E: RecordSet>(
    codec: &Codec,
    message: &OwnedMessage,
    shutdown: &CancellationToken,
) -> Option<Result<Envelope<E>, String>> {
    let position_id = || Cause::new(message.topic(), message.partition(), message.offset()).event_id(0);
    if E::RECORDS.contains(&dead_letter::RECORD) && dead_letter::is_dead_letter(message) {
        // Every copy is an event of its own (it carries its source's event id, which would
        // hide a second failure of the same record): the read model tells copies apart.
        return Some(match E::from_avro(dead_letter::RECORD, &dead_letter::value(message)) {
            Ok(event) => Ok(envelope(message, position_id(), event)),
            Err(error) => Err(format!("cannot read the dead letter: {error}")),
        });
    }
    let Some(payload) = message.payload() else {
        return Some(Err("the record has no value (a tombstone is not an event)".into()));
    };
    let event = match retry_transient(shutdown, || codec.decode_as::<E>(payload)).await? {
        Ok(event) => event,
        Err(error) => return Some(Err(format!("cannot decode: {error}"))),
    };
    let event_id = match headers::get(message, headers::EVENT_ID) {
        Some(id) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => id.to_ascii_lowercase(),
        Some(id) => return Some(Err(format!("header {} is {id:?}, not 32 hex digits", headers::EVENT_ID))),
        None => position_id(),
    };
    Some(Ok(envelope(message, event_id, event)))
}

fn envelope<E>(message: &OwnedMessage, event_id: String, event: E) -> Envelope<E> {
    let millis = message.timestamp().to_millis().unwrap_or(0);
    Envelope {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        event_id,
        key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        event_at: DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default(),
        traceparent: headers::get(message, headers::TRACEPARENT).map(str::to_string),
        event,
    }
}

/// True when Postgres refused the data itself (a value out of range, a constraint), which no
/// retry fixes: the record that causes it becomes a dead letter.
pub fn is_data_error(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().is_some_and(|c| c.starts_with("22") || c.starts_with("23")))
}

/// Applies a batch in its own transaction. `expected` holds, for partitions whose position
/// the caller knows, the offset it believes is stored; for the others the stored offset must
/// be where the batch starts.
pub async fn apply<M: ReadModel>(
    pool: &PgPool,
    model: &M,
    target: &Target,
    batch: &Batch<M::Event>,
    expected: &HashMap<TopicPartition, i64>,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_search_path(&mut tx, &target.schema).await?;
    // Safe here, and much faster: the rows and their offsets commit together, so a server
    // crash can only lose the last transactions whole, and the projector reads them again.
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
    let outcome = apply_in_tx(&mut tx, model, &target.offsets_key, batch, expected).await?;
    match outcome {
        Outcome::Applied { .. } => tx.commit().await?,
        Outcome::Moved(_) => tx.rollback().await?,
    }
    Ok(outcome)
}

pub(crate) async fn set_search_path(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    let sql = format!("SET LOCAL search_path TO {}", ident(schema));
    sqlx::query(&sql).execute(conn).await?;
    Ok(())
}

/// The body of [`apply`], for callers that hold a transaction already (the rebuild's swap).
pub(crate) async fn apply_in_tx<M: ReadModel>(
    conn: &mut PgConnection,
    model: &M,
    offsets_key: &str,
    batch: &Batch<M::Event>,
    expected: &HashMap<TopicPartition, i64>,
) -> Result<Outcome, sqlx::Error> {
    let stored = lock_offsets(conn, offsets_key, &batch.ranges).await?;
    let in_place = batch.ranges.iter().all(|(tp, range)| match expected.get(tp) {
        Some(&known) => stored[tp] == known,
        None => stored[tp] == range.first,
    });
    if !in_place {
        return Ok(Outcome::Moved(stored));
    }
    let positions: Vec<(&str, &str, i32, i64)> =
        batch.envelopes.iter().map(|e| (e.event_id.as_str(), e.topic.as_str(), e.partition, e.offset)).collect();
    let fresh = record_event_ids(conn, &positions).await?;
    let fresh_count = fresh.len();
    if fresh_count == batch.envelopes.len() {
        if fresh_count > 0 {
            model.apply(conn, &batch.envelopes).await?;
        }
    } else if fresh_count > 0 {
        let events: Vec<Envelope<M::Event>> = batch
            .envelopes
            .iter()
            .filter(|e| fresh.contains(&(e.topic.clone(), e.partition, e.offset)))
            .cloned()
            .collect();
        model.apply(conn, &events).await?;
    }
    store_offsets(conn, offsets_key, &batch.ranges).await?;
    Ok(Outcome::Applied { events: fresh_count, duplicates: batch.envelopes.len() - fresh_count })
}

// The SQL steps are plain functions returning boxed futures: inside the generic
// `apply_in_tx` their futures must be provably `Send` for every lifetime, which sqlx's
// executor impls are not when left to inference.

/// Locks this projection's offset rows for `ranges` (in a fixed order, so two instances
/// cannot deadlock) and returns them; a partition without a row is at 0.
fn lock_offsets<'a>(
    conn: &'a mut PgConnection,
    offsets_key: &'a str,
    ranges: &'a BTreeMap<TopicPartition, Range>,
) -> BoxFuture<'a, Result<BTreeMap<TopicPartition, i64>, sqlx::Error>> {
    Box::pin(async move {
        let (topics, partitions): (Vec<String>, Vec<i32>) = ranges.keys().cloned().unzip();
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "SELECT topic, partition, next_offset FROM clio.projection_offsets
              WHERE projection = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
              ORDER BY topic, partition
              FOR UPDATE",
        )
        .bind(offsets_key)
        .bind(&topics)
        .bind(&partitions)
        .fetch_all(conn)
        .await?;
        Ok(ranges
            .keys()
            .map(|tp| {
                let offset = rows.iter().find(|(t, p, _)| *t == tp.0 && *p == tp.1).map_or(0, |(_, _, n)| *n);
                (tp.clone(), offset)
            })
            .collect())
    })
}

/// Records event ids in `applied_events`; returns the positions of those not seen before
/// (of ids repeated within the batch, the first).
fn record_event_ids<'a>(
    conn: &'a mut PgConnection,
    events: &'a [(&'a str, &'a str, i32, i64)],
) -> BoxFuture<'a, Result<HashSet<Position>, sqlx::Error>> {
    Box::pin(async move {
        if events.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<&str> = events.iter().map(|e| e.0).collect();
        let topics: Vec<&str> = events.iter().map(|e| e.1).collect();
        let partitions: Vec<i32> = events.iter().map(|e| e.2).collect();
        let offsets: Vec<i64> = events.iter().map(|e| e.3).collect();
        let inserted: Vec<(String, i32, i64)> = sqlx::query_as(
            "INSERT INTO applied_events (event_id, topic, partition, \"offset\")
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[])
             ON CONFLICT (event_id) DO NOTHING
             RETURNING topic, partition, \"offset\"",
        )
        .bind(&ids)
        .bind(&topics)
        .bind(&partitions)
        .bind(&offsets)
        .fetch_all(conn)
        .await?;
        Ok(inserted.into_iter().collect())
    })
}

fn store_offsets<'a>(
    conn: &'a mut PgConnection,
    offsets_key: &'a str,
    ranges: &'a BTreeMap<TopicPartition, Range>,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let (topics, partitions): (Vec<String>, Vec<i32>) = ranges.keys().cloned().unzip();
        let nexts: Vec<i64> = ranges.values().map(|r| r.next).collect();
        sqlx::query(
            "INSERT INTO clio.projection_offsets (projection, topic, partition, next_offset)
             SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])
             ON CONFLICT (projection, topic, partition)
             DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()",
        )
        .bind(offsets_key)
        .bind(&topics)
        .bind(&partitions)
        .bind(&nexts)
        .execute(conn)
        .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_covers_every_offset_it_read_per_partition() {
        let mut batch: Batch<()> = Batch::default();
        batch.cover("e", 0, 7);
        batch.cover("e", 0, 9);
        batch.cover("e", 1, 3);
        assert_eq!(batch.ranges[&("e".to_string(), 0)], Range { first: 7, next: 10 });
        assert_eq!(batch.ranges[&("e".to_string(), 1)], Range { first: 3, next: 4 });
    }
}
