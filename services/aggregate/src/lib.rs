//! The pure core every Clio domain implements. No I/O, no async, no clocks.
//!
//! A domain is an [`Aggregate`]: `decide` turns a command and the current state of one entity
//! into a [`Decision`] (events for this entity, and commands for other entities), and `apply`
//! folds an event into the state. The runtime (`clio-runtime`) runs any aggregate against Kafka;
//! this crate knows nothing about Kafka beyond the names of things.
//!
//! # Layout
//! - [`Aggregate`], [`Decision`], [`Context`]: the decide/apply contract.
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
    /// Set when the command itself is malformed (a field outside what the protocol allows),
    /// so that no answer on the events topic fits: the runtime sends the command to the dead
    /// letters with this reason, and nothing else happens.
    pub invalid: Option<String>,
}

impl<E, C> Decision<E, C> {
    /// A decision with only events.
    pub fn events(events: Vec<E>) -> Self {
        Self { events, commands: Vec::new(), invalid: None }
    }

    /// A decision with no effect at all (for instance a duplicate command).
    pub fn nothing() -> Self {
        Self { events: Vec::new(), commands: Vec::new(), invalid: None }
    }

    /// A malformed command: a dead letter with `reason`, no events, no commands.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self { events: Vec::new(), commands: Vec::new(), invalid: Some(reason.into()) }
    }
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
}
