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
/// A NUL character, which no Postgres text can hold, reads as the escape `\u0000`: a dead
/// letter is the record that failed, and its key or reason may well be why.
pub fn value(message: &OwnedMessage) -> Value {
    let text = |name: &str| without_nul(headers::get(message, name).unwrap_or_default());
    let number = |name: &str| headers::get(message, name).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
    Value::Record(vec![
        ("source_topic".into(), Value::String(text(headers::DLQ_TOPIC))),
        ("source_partition".into(), Value::Int(i32::try_from(number(headers::DLQ_PARTITION)).unwrap_or(-1))),
        ("source_offset".into(), Value::Long(number(headers::DLQ_OFFSET))),
        ("consumer".into(), Value::String(text(headers::DLQ_CONSUMER))),
        ("reason".into(), Value::String(text(headers::DLQ_REASON))),
        (
            "key".into(),
            Value::String(message.key().map(|k| without_nul(&String::from_utf8_lossy(k))).unwrap_or_default()),
        ),
        ("value_bytes".into(), Value::Long(message.payload().map_or(0, |p| p.len() as i64))),
        ("replay_of".into(), Value::String(text(headers::REPLAY_OF))),
    ])
}

fn without_nul(text: &str) -> String {
    text.replace('\0', "\\u0000")
}

/// Whether `message` is a dead letter.
pub fn is_dead_letter(message: &OwnedMessage) -> bool {
    headers::get(message, headers::DLQ_TOPIC).is_some()
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;
    use rdkafka::message::{Header, OwnedHeaders};

    use super::*;

    #[test]
    fn a_nul_in_the_key_or_a_header_reads_as_its_escape() {
        let headers = OwnedHeaders::new()
            .insert(Header { key: headers::DLQ_TOPIC, value: Some("retry.events") })
            .insert(Header { key: headers::DLQ_PARTITION, value: Some("2") })
            .insert(Header { key: headers::DLQ_OFFSET, value: Some("87") })
            .insert(Header { key: headers::DLQ_REASON, value: Some("bad \0 byte") });
        let message = OwnedMessage::new(
            Some(b"payload".to_vec()),
            Some(b"a\0b".to_vec()),
            TOPIC_OF_TEST.into(),
            Timestamp::NotAvailable,
            0,
            5,
            Some(headers),
        );
        let Value::Record(fields) = value(&message) else { panic!("a record") };
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(field("key"), Some(Value::String("a\\u0000b".into())));
        assert_eq!(field("reason"), Some(Value::String("bad \\u0000 byte".into())));
        assert_eq!(field("source_offset"), Some(Value::Long(87)));
        assert_eq!(field("consumer"), Some(Value::String(String::new())));
    }

    const TOPIC_OF_TEST: &str = "platform.dead-letters";
}
