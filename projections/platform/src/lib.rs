//! The platform's own read model, `platform`: `platform.dead_letters`, every record a processor
//! or projector could not handle (one row per source record and consumer), with its reason,
//! the copies that arrived, and its replays. Built from `platform.dead-letters` (whose records
//! are never decoded: see `clio_projection::dead_letter`) and `platform.dead-letter-replays`.
//!
//! # Layout
//! - [`records`]: the two records it reads: a dead letter's headers, and a replay.
//! - [`queries`]: the statements that read it (`queries/*.sql`, beside the migration).
//! - [`DeadLetterModel`]: how each record changes the table.
//!
//! Copies are told apart by the source record and consumer: a rebuild, or a batch re-sent
//! after a fence, parks the same record again and only counts a copy; a replayed copy that
//! fails again carries `clio.replay.of` and parks its first entry again with the new reason,
//! never a new one, and nothing replays it by itself.

use chrono::{DateTime, Utc};
use clio_projection::{Envelope, Migration, ReadModel, include_query};
use futures::future::BoxFuture;
use sqlx::PgConnection;

pub mod queries;
pub mod records;

use records::{DeadLetter, DeadLetterReplayed, PlatformRecord};

/// The read model's name: its Postgres schema and projector group.
pub const NAME: &str = "platform";
/// Where processors and projectors park what they cannot handle.
pub const DEAD_LETTERS: &str = "platform.dead-letters";
/// Where each replay is recorded.
pub const REPLAYS: &str = "platform.dead-letter-replays";

pub const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, name: "dead_letters", sql: include_str!("../migrations/0001_dead_letters.sql") }];

#[derive(Debug, Clone, Copy, Default)]
pub struct DeadLetterModel;

impl ReadModel for DeadLetterModel {
    type Event = PlatformRecord;

    fn name(&self) -> &'static str {
        NAME
    }

    fn topics(&self) -> &'static [&'static str] {
        &[DEAD_LETTERS, REPLAYS]
    }

    fn migrations(&self) -> &[Migration] {
        MIGRATIONS
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope<PlatformRecord>],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            // Dead letters are rare; each changes one entry, in log order.
            for envelope in events {
                match &envelope.event {
                    PlatformRecord::DeadLetter(letter) => park(tx, envelope, letter).await?,
                    PlatformRecord::DeadLetterReplayed(replay) => replayed(tx, replay).await?,
                }
            }
            Ok(())
        })
    }
}

/// The source record a dead letter stands for: its own source, or, for a replayed copy that
/// failed again, the record that first failed (`topic/partition/offset`).
pub fn first_source(letter: &DeadLetter) -> (String, i32, i64) {
    let parsed = letter.replay_of.rsplitn(3, '/').collect::<Vec<_>>();
    if let [offset, partition, topic] = parsed[..]
        && let (Ok(partition), Ok(offset)) = (partition.parse(), offset.parse())
    {
        return (topic.to_string(), partition, offset);
    }
    (letter.source_topic.clone(), letter.source_partition, letter.source_offset)
}

async fn park(
    tx: &mut PgConnection,
    envelope: &Envelope<PlatformRecord>,
    letter: &DeadLetter,
) -> Result<(), sqlx::Error> {
    let (topic, partition, offset) = first_source(letter);
    let again = (topic.as_str(), partition, offset)
        != (letter.source_topic.as_str(), letter.source_partition, letter.source_offset);
    sqlx::query(include_query!("park").sql)
        .bind(&topic)
        .bind(partition)
        .bind(offset)
        .bind(&letter.consumer)
        .bind(&letter.key)
        .bind(&letter.reason)
        .bind(letter.value_bytes)
        .bind(&envelope.topic)
        .bind(envelope.partition)
        .bind(envelope.offset)
        .bind(envelope.event_at)
        .bind(again.then_some(letter.source_offset))
        .bind(again)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn replayed(tx: &mut PgConnection, replay: &DeadLetterReplayed) -> Result<(), sqlx::Error> {
    sqlx::query(include_query!("replayed").sql)
        .bind(&replay.source_topic)
        .bind(replay.source_partition)
        .bind(replay.source_offset)
        .bind(&replay.replayed_by)
        .bind(DateTime::<Utc>::from_timestamp_micros(replay.replayed_at).unwrap_or_default())
        .bind(replay.replayed_to_partition)
        .bind(replay.replayed_to_offset)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(replay_of: &str) -> DeadLetter {
        DeadLetter {
            source_topic: "ledger.commands".into(),
            source_partition: 3,
            source_offset: 900,
            consumer: "ledger-processor".into(),
            reason: "why".into(),
            key: "k".into(),
            value_bytes: 4,
            replay_of: replay_of.into(),
        }
    }

    #[test]
    fn a_replayed_copy_stands_for_the_record_that_first_failed() {
        assert_eq!(first_source(&letter("")), ("ledger.commands".into(), 3, 900));
        assert_eq!(first_source(&letter("ledger.commands/1/42")), ("ledger.commands".into(), 1, 42));
        assert_eq!(first_source(&letter("a/b/c/2/7")), ("a/b/c".into(), 2, 7));
        assert_eq!(first_source(&letter("garbage")), ("ledger.commands".into(), 3, 900));
    }
}
