//! The pure core every Clio domain implements. No I/O, no async, no clocks.
//!
//! A domain is an [`Aggregate`]: `decide` turns a command and the current state of one entity
//! into a [`Decision`] (events for this entity, and commands for other entities), and `apply`
//! folds an event into the state. The runtime (`clio-runtime`) runs any aggregate against Kafka;
//! this crate knows nothing about Kafka beyond the names of things.
//!
//! # Layout
//! - [`Aggregate`], [`Decision`], [`Context`]: the decide/apply contract.
//! - [`Timer`]: a command an entity asks to receive at a future instant.
//! - [`ForeignCommand`]: a command for another domain, in that domain's public record.
//! - [`Cause`]: where a command sat on the log; derives deterministic event ids so that a
//!   re-run after a crash produces the same ids.
//! - [`RecordSet`] and [`record_set!`]: an enum over the Avro records of one topic.
//! - [`partition_for_key`]: the Java client's murmur2 partitioner, so every client agrees on
//!   where a key lives.

mod cause;
mod partitioner;
mod record_set;

pub use cause::Cause;
pub use partitioner::{murmur2, partition_for_key};
pub use record_set::{RecordError, RecordSet};

/// What `decide` saw besides the state and the command. Time is an input, never read from a
/// clock, so a replay decides exactly as the first run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The command's timestamp, microseconds since the Unix epoch.
    pub now_micros: i64,
    /// Where the command sat on the log.
    pub cause: Cause,
}

/// The outcome of one command: facts about this entity, and requests to other entities.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<E, C> {
    /// Events for the entity the command was addressed to, in order.
    pub events: Vec<E>,
    /// Commands for other entities, each with the key of the entity it is addressed to.
    /// They are produced before the events, so a visible event implies its commands were sent.
    pub commands: Vec<(String, C)>,
    /// Commands for other domains, produced to their commands topics before the events
    /// (like `commands`). Each should carry an idempotency key derived from `Context::cause`,
    /// so that the repeat a crash may cause has no second effect there.
    pub foreign: Vec<ForeignCommand>,
    /// Set when the command itself is malformed (a field outside what the protocol allows),
    /// so that no answer on the events topic fits: the runtime sends the command to the dead
    /// letters with this reason, and nothing else happens.
    pub invalid: Option<String>,
}

impl<E, C> Decision<E, C> {
    /// A decision with only events.
    pub fn events(events: Vec<E>) -> Self {
        Self { events, commands: Vec::new(), foreign: Vec::new(), invalid: None }
    }

    /// A decision with events and commands for other entities of this domain.
    pub fn with_commands(events: Vec<E>, commands: Vec<(String, C)>) -> Self {
        Self { events, commands, foreign: Vec::new(), invalid: None }
    }

    /// A decision with no effect at all (for instance a duplicate command).
    pub fn nothing() -> Self {
        Self { events: Vec::new(), commands: Vec::new(), foreign: Vec::new(), invalid: None }
    }

    /// A malformed command: a dead letter with `reason`, no events, no commands.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self { events: Vec::new(), commands: Vec::new(), foreign: Vec::new(), invalid: Some(reason.into()) }
    }
}

/// A command for another domain: its commands topic, the entity it is addressed to (the record
/// key), and the record as that domain publishes it (an Avro value the runtime encodes with
/// the record's registered schema).
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignCommand {
    pub topic: String,
    pub key: String,
    /// The full Avro name of the record.
    pub record: String,
    pub value: apache_avro::types::Value,
}

impl ForeignCommand {
    /// A command for `domain`'s commands topic (`<domain>.commands`).
    pub fn to_domain<T: serde::Serialize>(
        domain: &str,
        key: impl Into<String>,
        record: &str,
        value: &T,
    ) -> Result<Self, apache_avro::Error> {
        Self::to_topic(format!("{domain}.commands"), key, record, value)
    }

    /// A command for a commands topic named in full.
    pub fn to_topic<T: serde::Serialize>(
        topic: impl Into<String>,
        key: impl Into<String>,
        record: &str,
        value: &T,
    ) -> Result<Self, apache_avro::Error> {
        Ok(Self {
            topic: topic.into(),
            key: key.into(),
            record: record.to_string(),
            value: apache_avro::to_value(value)?,
        })
    }
}

/// A command an entity asks to receive when `due_micros` has come. It is derived from the
/// entity's state ([`Aggregate::timer`]), so a restore or a rebuild keeps it, and the runtime
/// produces it to the entity's own commands topic when due.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer<C> {
    /// When the command is due, microseconds since the Unix epoch. The command is decided with
    /// this as its `now`, so a replay decides it exactly as the first run did.
    pub due_micros: i64,
    pub command: C,
}

/// A domain: commands in, events out, state folded from events. Implementations must be
/// deterministic: the same state, command and context always give the same decision.
pub trait Aggregate {
    /// The domain's name; topics are `<name>.commands`, `<name>.events`, `<name>.state`.
    const NAME: &'static str;
    /// The records that may appear on the commands topic.
    type Command: RecordSet;
    /// The records that may appear on the events topic.
    type Event: RecordSet;
    /// The state of one entity, rebuilt by folding its events.
    type State: Default + Clone + serde::Serialize + serde::de::DeserializeOwned;

    /// The key of the entity a command is addressed to; the record key must equal it.
    fn entity_key(command: &Self::Command) -> String;

    /// Decide what a command means for the entity in `state`. Refusals are events too.
    fn decide(state: &Self::State, command: &Self::Command, context: &Context) -> Decision<Self::Event, Self::Command>;

    /// Fold one event into the state of its entity.
    fn apply(state: &mut Self::State, event: &Self::Event);

    /// When `event` refuses the command that caused it, why, as a short code an operator can
    /// count by (a status code, never free text: `/metrics` labels rejects with it).
    fn rejection(_event: &Self::Event) -> Option<String> {
        None
    }

    /// The command this entity wants at a future instant, if any (the earliest, when it keeps
    /// several). The runtime asks after every change of the entity and on restore; when the
    /// time has come it produces the command (keyed by the entity, with the due time as the
    /// `now` of its decision). It may produce one twice (a crash between producing it and
    /// deciding it): `decide` must treat a timer command that is no longer due as a no-op.
    fn timer(_state: &Self::State) -> Option<Timer<Self::Command>> {
        None
    }
}
