//! Dead letters an operator can repair. `platform.dead_letters` (the platform read model)
//! lists what every processor and projector parked, with the reason; once the cause is fixed,
//! a replay sends the parked record back to its source topic, unchanged but for its headers,
//! and records who did it on `platform.dead-letter-replays`. A replayed record that fails again
//! is parked again on the same entry, with the new reason; nothing replays it by itself.
//!
//! # Layout
//! - [`entries`]: the entries as operators read them (a filtered page, one source record).
//! - [`replay`]: one record, or every parked entry a filter selects, sent back.
//! - [`routes`]: `GET /v1/dead-letters`, `GET /v1/dead-letters/{topic}/{partition}/{offset}`,
//!   `POST /v1/dead-letters/replay` (scope `admin:platform`).

pub mod entries;
pub mod replay;
pub mod routes;

use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;

/// A source record: topic, partition, offset.
pub type Position = (String, i32, i64);

/// The errors of listing and replaying dead letters.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no dead letter of {}/{}/{}", .0.0, .0.1, .0.2)]
    NotFound(Position),
    #[error("the dead letter of {}/{}/{} is {status}, not PARKED: only a parked record is replayed", .position.0, .position.1, .position.2)]
    NotParked { position: Position, status: String },
    #[error("the dead letter's copy at {0} is no longer on the log (retention): it cannot be replayed")]
    Gone(String),
    #[error("{0}")]
    BadFilter(String),
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Runtime(#[from] clio_runtime::Error),
    #[error("encoding the replay's record: {0}")]
    Codec(#[from] clio_runtime::codec::CodecError),
}

/// What listing and replaying need: the read model, the broker, the registry.
#[derive(Clone)]
pub struct DeadLetters {
    pub pool: PgPool,
    /// The read model's schema (`platform`).
    pub schema: String,
    pub kafka: KafkaSettings,
    pub codec: Codec,
    producer: FutureProducer,
}

impl DeadLetters {
    pub fn new(pool: PgPool, kafka: KafkaSettings, codec: Codec) -> Result<Self, Error> {
        let producer = clio_runtime::kafka::producer(&kafka)?;
        Ok(Self { pool, schema: clio_platform_projection::NAME.to_string(), kafka, codec, producer })
    }
}

/// `topic/partition/offset`, the way operators name a source record; the topic may hold `/`.
pub fn parse_position(text: &str) -> Option<Position> {
    let mut parts = text.rsplitn(3, '/');
    let offset = parts.next()?.parse().ok()?;
    let partition = parts.next()?.parse().ok()?;
    let topic = parts.next().filter(|topic| !topic.is_empty())?;
    Some((topic.to_string(), partition, offset))
}

pub fn position_text((topic, partition, offset): &Position) -> String {
    format!("{topic}/{partition}/{offset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written() {
        let position = ("ledger.commands".to_string(), 2, 40);
        assert_eq!(parse_position(&position_text(&position)), Some(position));
        assert_eq!(parse_position("a/b/1/2"), Some(("a/b".into(), 1, 2)));
        for bad in ["", "x", "x/1", "/1/2", "x/a/2", "x/1/b"] {
            assert_eq!(parse_position(bad), None, "{bad}");
        }
    }
}
