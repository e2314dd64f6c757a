//! The runtime between Clio's pure domains and Kafka.
//!
//! Every processor runs through the same loop ([`processor`]): consume a batch of commands,
//! decide with the domain's pure function, produce commands for other entities, then events,
//! then state snapshots, wait for the broker's acknowledgements, and only then commit the
//! consumed offsets. Correctness after a crash comes from deterministic event ids that record
//! their cause, not from broker transactions (see docs/delivery.md).
//!
//! # Layout
//! - [`settings`]: the environment variables every process shares (`CLIO_BROKERS`, ...).
//! - [`telemetry`]: tracing set-up.
//! - [`catalogue`]: the topic catalogue (schemas/catalogue.toml, schemas/<domain>/catalogue.toml) and the .avsc files.
//! - [`asyncapi`]: the AsyncAPI 3 document generated from the catalogue.
//! - [`codec`]: Confluent-framed Avro through the schema registry; JSON <-> Avro by schema.
//! - [`database`]: connecting to Postgres, creating the database on first use.
//! - [`kafka`]: client configuration, topic creation, reading a partition to its end.
//! - [`metrics`]: the process's counters and batch-latency histograms, in Prometheus's format.
//! - [`dead_letter`]: what a record that cannot be handled becomes.
//! - [`outage`]: riding out a broker that does not answer, without exiting.
//! - [`processor`]: the generic processor loop, restore on assignment, completion of
//!   partial outcomes.
//! - [`assignments`]: which partitions a group consumer holds, by assignment generation.
//! - [`headers`]: the names of the record headers Clio writes.

pub mod assignments;
pub mod asyncapi;
pub mod catalogue;
pub mod codec;
pub mod database;
pub mod dead_letter;
pub mod headers;
pub mod kafka;
pub mod metrics;
pub mod outage;
pub mod processor;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

/// The errors of the runtime's library functions.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("catalogue: {0}")]
    Catalogue(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("settings: {0}")]
    Settings(String),
    #[error("creating topic {topic}: {code}")]
    TopicCreation { topic: String, code: rdkafka::error::RDKafkaErrorCode },
    /// An existing topic the catalogue describes otherwise; starting would corrupt it.
    #[error(
        "topic {topic} differs from the catalogue: {difference}. Clio will not start on it; see docs/deploy.md, \"Changing a topic\""
    )]
    TopicMismatch { topic: String, difference: String },
    #[error("registry at {url}: {reason}")]
    Registry { url: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
