//! Names of the record headers Clio writes. They are part of the public interface: an
//! integrator can trace any event to its cause, and any dead letter to its source.

/// Deterministic id of an event (32 hex digits), derived from its cause and index.
pub const EVENT_ID: &str = "clio.event-id";
/// `topic/partition/offset` of the command that caused the record.
pub const CAUSE: &str = "clio.cause";
/// Position of the event within its cause's outcome (0-based); absent when the outcome is
/// one event, which reads as 0.
pub const EVENT_INDEX: &str = "clio.event-index";
/// Number of events in its cause's outcome; absent when it is one, which reads as 1.
pub const EVENT_COUNT: &str = "clio.event-count";
/// Full Avro name of the record.
pub const RECORD_TYPE: &str = "clio.record-type";
/// On a snapshot: the events offset through which the snapshot is current.
pub const COVERS_OFFSET: &str = "clio.covers-offset";
/// On a forwarded command: `topic/partition/offset` where it first arrived.
pub const FORWARDED_FROM: &str = "clio.forwarded-from";
/// On a command a timer produced: the instant it was due (microseconds since the Unix epoch),
/// which is the `now` of its decision.
pub const TIMER_DUE: &str = "clio.timer-due";
/// W3C trace context, carried from the gateway through processors to projectors.
pub const TRACEPARENT: &str = "traceparent";

/// Dead letters: where the record came from and why it could not be handled.
pub const DLQ_TOPIC: &str = "clio.dlq.topic";
pub const DLQ_PARTITION: &str = "clio.dlq.partition";
pub const DLQ_OFFSET: &str = "clio.dlq.offset";
pub const DLQ_REASON: &str = "clio.dlq.reason";
pub const DLQ_CONSUMER: &str = "clio.dlq.consumer";
/// On a replayed dead letter: `topic/partition/offset` of the record that first failed (kept
/// through later replays), so that a replay that fails again is parked on the same entry.
pub const REPLAY_OF: &str = "clio.replay.of";

use rdkafka::message::{Headers, Message};

/// The UTF-8 value of a header, if the message has it.
pub fn get<'a>(message: &'a impl Message, name: &str) -> Option<&'a str> {
    let headers = message.headers()?;
    headers.iter().find(|h| h.key == name).and_then(|h| h.value).and_then(|v| std::str::from_utf8(v).ok())
}
