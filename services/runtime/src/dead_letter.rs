//! Dead letters: a record that cannot be decoded or processed is copied, bytes unchanged,
//! to `platform.dead-letters` with headers that name its source and the reason. The consumer
//! then moves on; nothing is lost, and the record can be replayed once the cause is fixed.
//! A crash between producing a dead letter and committing may produce it twice; the
//! `clio.dlq.topic/partition/offset` headers identify the source record for deduplication.

use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};

use crate::headers;
use crate::kafka::Outgoing;

/// The topic dead letters go to.
pub const TOPIC: &str = "platform.dead-letters";

/// A dead letter ready to produce.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: OwnedHeaders,
    pub reason: String,
}

impl DeadLetter {
    /// The dead letter for `message`, refused by `consumer` for `reason`.
    pub fn of(message: &OwnedMessage, consumer: &str, reason: &str) -> Self {
        let mut out = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for header in original.iter() {
                out = out.insert(Header { key: header.key, value: header.value });
            }
        }
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let out = out
            .insert(Header { key: headers::DLQ_TOPIC, value: Some(message.topic()) })
            .insert(Header { key: headers::DLQ_PARTITION, value: Some(&partition) })
            .insert(Header { key: headers::DLQ_OFFSET, value: Some(&offset) })
            .insert(Header { key: headers::DLQ_REASON, value: Some(reason) })
            .insert(Header { key: headers::DLQ_CONSUMER, value: Some(consumer) });
        Self {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: out,
            reason: reason.to_string(),
        }
    }
}

/// The record to produce to `topic` for `message`, refused by `consumer` for `reason`; the
/// refusal is logged with the source position.
pub fn outgoing(message: &OwnedMessage, consumer: &str, reason: &str, topic: &str) -> Outgoing {
    tracing::warn!(
        topic = message.topic(),
        partition = message.partition(),
        offset = message.offset(),
        reason,
        "dead letter"
    );
    let letter = DeadLetter::of(message, consumer, reason);
    Outgoing {
        topic: topic.to_string(),
        partition: None,
        key: letter.key,
        payload: letter.value,
        headers: letter.headers,
    }
}
