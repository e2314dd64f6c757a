//! Sending parked records back to their source topics.
//!
//! A replay reads the dead letter's latest copy from the log, produces its key and value
//! unchanged to the source topic's partition it came from, with its headers but for the
//! `clio.dlq.*` ones and with `clio.replay.of` naming the record that first failed; then it
//! records the replay on `platform.dead-letter-replays`. Consumers take the copy as they took
//! the original: commands carry their idempotency keys and events their ids, so a consumer
//! that had handled the record sees a duplicate and does nothing. A crash between the two
//! steps leaves the entry PARKED although its copy went out; replaying it again sends one more
//! copy, which is harmless for the same reason.

use std::time::Duration;

use clio_platform_projection::records::{DeadLetterReplayed, PlatformRecord};
use clio_runtime::headers;
use clio_runtime::kafka::{self, Outgoing};
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use serde::Serialize;

use crate::entries::{Entry, Filter};
use crate::{DeadLetters, Error, Position, position_text};

/// The most entries one filtered replay sends.
pub const MAX_AT_ONCE: i64 = 1_000;

/// One record sent back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    /// Where the copy went in the source topic.
    pub replayed_to_partition: i32,
    pub replayed_to_offset: i64,
    pub replayed_by: String,
}

impl DeadLetters {
    /// Replays the parked record at `position`.
    pub async fn replay_one(&self, position: &Position, replayed_by: &str) -> Result<Replayed, Error> {
        let entries = self.of_record(position).await?;
        if entries.is_empty() {
            return Err(Error::NotFound(position.clone()));
        }
        let Some(parked) = entries.iter().find(|entry| entry.status == "PARKED") else {
            return Err(Error::NotParked { position: position.clone(), status: entries[0].status.clone() });
        };
        self.send_back(parked, &entries, replayed_by).await
    }

    /// Replays every parked record `filter` selects (at most [`MAX_AT_ONCE`]), oldest first;
    /// stops at the first that cannot be sent, returning it with those sent before.
    pub async fn replay_matching(
        &self,
        filter: &Filter,
        replayed_by: &str,
    ) -> Result<Vec<Replayed>, (Vec<Replayed>, Error)> {
        let parked = Filter { status: Some("PARKED".into()), ..filter.clone() };
        let entries = self.page(&parked, 0, MAX_AT_ONCE).await.map_err(|e| (Vec::new(), e))?;
        let mut done: Vec<Replayed> = Vec::new();
        for entry in &entries {
            // Several consumers may have parked one record: it goes back once.
            if done.iter().any(|r| {
                (&r.source_topic, r.source_partition, r.source_offset)
                    == (&entry.source_topic, entry.source_partition, entry.source_offset)
            }) {
                continue;
            }
            let of_record = self.of_record(&entry.position()).await.map_err(|e| (done.clone(), e))?;
            match self.send_back(entry, &of_record, replayed_by).await {
                Ok(replayed) => done.push(replayed),
                Err(error) => return Err((done, error)),
            }
        }
        Ok(done)
    }

    async fn send_back(&self, parked: &Entry, all: &[Entry], replayed_by: &str) -> Result<Replayed, Error> {
        let copy = self.read_copy(parked).await?;
        let original = position_text(&parked.position());
        let outgoing = Outgoing {
            topic: parked.source_topic.clone(),
            partition: Some(parked.source_partition),
            key: copy.key().map(<[u8]>::to_vec),
            payload: copy.payload().map(<[u8]>::to_vec),
            headers: replay_headers(&copy, &original),
        };
        let producer = &self.producer;
        let offsets = kafka::send_all(producer, vec![outgoing]).await?;
        let reasons: Vec<&str> = all.iter().filter(|e| e.status == "PARKED").map(|e| e.reason.as_str()).collect();
        let record = DeadLetterReplayed {
            source_topic: parked.source_topic.clone(),
            source_partition: parked.source_partition,
            source_offset: parked.source_offset,
            replayed_by: replayed_by.to_string(),
            replayed_at: chrono::Utc::now().timestamp_micros(),
            replayed_to_partition: parked.source_partition,
            replayed_to_offset: offsets[0],
            reason: reasons.join("; "),
        };
        let topic = clio_platform_projection::REPLAYS;
        let payload = self.codec.encode(topic, &PlatformRecord::DeadLetterReplayed(record.clone())).await?;
        let entry = Outgoing {
            topic: topic.to_string(),
            partition: None,
            key: Some(original.clone().into_bytes()),
            payload: Some(payload),
            headers: OwnedHeaders::new(),
        };
        kafka::send_all(producer, vec![entry]).await?;
        tracing::info!(source = %original, to_offset = offsets[0], replayed_by, "dead letter replayed");
        Ok(Replayed {
            source_topic: record.source_topic,
            source_partition: record.source_partition,
            source_offset: record.source_offset,
            replayed_to_partition: record.replayed_to_partition,
            replayed_to_offset: record.replayed_to_offset,
            replayed_by: record.replayed_by,
        })
    }

    /// The dead letter's latest copy, from the log.
    async fn read_copy(&self, entry: &Entry) -> Result<OwnedMessage, Error> {
        let settings = self.kafka.clone();
        let (topic, partition, offset) =
            (entry.dead_letter_topic.clone(), entry.dead_letter_partition, entry.dead_letter_offset);
        let where_ = format!("{topic}/{partition}/{offset}");
        let found = tokio::task::spawn_blocking(move || -> Result<Option<OwnedMessage>, clio_runtime::Error> {
            let reader = kafka::reader(&settings)?;
            let mut found = None;
            kafka::read_range(&reader, &topic, partition, offset, offset + 1, |message| found = Some(message))?;
            Ok(found)
        });
        match tokio::time::timeout(Duration::from_secs(60), found).await {
            Ok(Ok(Ok(Some(message)))) if message.offset() == entry.dead_letter_offset => Ok(message),
            Ok(Ok(Ok(_))) => Err(Error::Gone(where_)),
            Ok(Ok(Err(error))) => Err(error.into()),
            Ok(Err(_)) | Err(_) => Err(Error::Gone(format!("{where_} (not read within 60 s)"))),
        }
    }
}

/// The copy's headers without the `clio.dlq.*` ones, with `clio.replay.of` naming the record
/// that first failed.
fn replay_headers(copy: &OwnedMessage, original: &str) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(headers) = copy.headers() {
        for header in headers.iter() {
            if header.key.starts_with("clio.dlq.") || header.key == headers::REPLAY_OF {
                continue;
            }
            out = out.insert(Header { key: header.key, value: header.value });
        }
    }
    out.insert(Header { key: headers::REPLAY_OF, value: Some(original) })
}
