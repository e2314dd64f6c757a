//! Dead letters as a read model sees them. A dead letter's bytes may be anything (that is why it
//! is one), so they are never decoded: a read model that lists [`RECORD`] among its records
//! gets every record carrying the `clio.dlq.*` headers as that record, built from the headers.
//! It never fails, so a dead letter never becomes a dead letter of its own.

use apache_avro::types::Value;
use clio_runtime::headers;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

/// The full name of the record a dead letter is given to a read model as.
pub const RECORD: &str = "clio.platform.DeadLetter";

/// A dead letter's source, reason and size as an Avro record of [`RECORD`]'s fields:
/// `source_topic`, `source_partition`, `source_offset`, `consumer`, `reason`, `key` (UTF-8,
/// lossy; empty when none), `value_bytes`, and `replay_of` (the `clio.replay.of` header of a
/// replayed record that failed again: `topic/partition/offset` of the first failure; empty
/// otherwise). A header that is missing or unreadable reads as empty, or -1 for a number.
pub fn value(message: &OwnedMessage) -> Value {
    let text = |name: &str| headers::get(message, name).unwrap_or_default().to_string();
    let number = |name: &str| headers::get(message, name).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
    Value::Record(vec![
        ("source_topic".into(), Value::String(text(headers::DLQ_TOPIC))),
        ("source_partition".into(), Value::Int(i32::try_from(number(headers::DLQ_PARTITION)).unwrap_or(-1))),
        ("source_offset".into(), Value::Long(number(headers::DLQ_OFFSET))),
        ("consumer".into(), Value::String(text(headers::DLQ_CONSUMER))),
        ("reason".into(), Value::String(text(headers::DLQ_REASON))),
        (
            "key".into(),
            Value::String(message.key().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default()),
        ),
        ("value_bytes".into(), Value::Long(message.payload().map_or(0, |p| p.len() as i64))),
        ("replay_of".into(), Value::String(text(headers::REPLAY_OF))),
    ])
}

/// Whether `message` is a dead letter.
pub fn is_dead_letter(message: &OwnedMessage) -> bool {
    headers::get(message, headers::DLQ_TOPIC).is_some()
}
