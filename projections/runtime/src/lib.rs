//! The projection runtime: Postgres read models built from the event log, exactly once, and
//! rebuilt from the log with zero downtime.
//!
//! A read model ([`ReadModel`]) is a set of tables in its own Postgres schema, defined by SQL
//! migrations, and one `apply` step that writes a batch of events with set-based SQL. The
//! runtime does the rest:
//! - a projector ([`projector::run`]) is a consumer group for one read model; every batch is
//!   applied in one transaction that also writes the next offsets to `clio.projection_offsets`.
//!   The stored offsets are the truth: each transaction first locks and checks them, so a
//!   batch read from a position the table does not hold (a rebalance, a second instance, a
//!   rebuild that swapped in) is dropped and the partition is re-read from the stored offset;
//! - a second guard: `applied_events` in the read model's schema lists every event id applied,
//!   so an event that appears twice on the log changes nothing the second time;
//! - [`rebuild::rebuild`] builds the model into a new schema from the earliest offset, catches
//!   up with the live end, and swaps the schemas in one transaction;
//! - [`status::status`] reports stored offsets, end offsets and lag.
//!
//! # Layout
//! - [`schema`]: the platform tables and each read model's schema and migrations.
//! - [`batch`]: one batch of records and the transaction that applies it.
//! - [`dead_letter`]: dead letters given to a read model as records, whatever their bytes.
//! - [`projector`]: the consumer-group loop.
//! - `applier`: applying one batch to a read model, shared by the projector and the rebuild.
//! - [`rebuild`]: rebuild into new tables and the atomic swap.
//! - [`status`]: offsets and lag for operators.
//! - [`plugged`]: any read model behind one object-safe trait, for the platform's one list.
//! - [`query`]: read-model queries as `.sql` files beside the migrations of their tables.

mod applier;
pub mod batch;
pub mod dead_letter;
pub mod plugged;
pub mod projector;
pub mod query;
pub mod rebuild;
pub mod schema;
pub mod status;

use chrono::{DateTime, Utc};
use clio_aggregate::RecordSet;
use futures::future::BoxFuture;
use sqlx::PgConnection;

pub use schema::Migration;

/// The errors of the projection runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the projection tables: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Runtime(#[from] clio_runtime::Error),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("projection name {0:?}: use 1 to 40 characters among a-z, 0-9, '_' and '-'")]
    InvalidName(String),
    #[error(
        "read model {schema}: migration {version} ({name}) was changed after it was applied; add a new migration instead"
    )]
    MigrationChanged { schema: String, version: i32, name: String },
    #[error("a rebuild of {0} is already running")]
    RebuildRunning(String),
    #[error("cancelled")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One event as a read model sees it: the decoded record and where it came from.
#[derive(Debug, Clone)]
pub struct Envelope<E> {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The event's deterministic id (32 hex digits), from its `clio.event-id` header, or
    /// derived from its position when a producer other than Clio wrote it.
    pub event_id: String,
    pub key: Option<String>,
    /// The record's timestamp.
    pub event_at: DateTime<Utc>,
    pub traceparent: Option<String>,
    pub event: E,
}

/// A read model: tables defined by migrations, and how a batch of events changes them.
pub trait ReadModel: Send + Sync + 'static {
    type Event: RecordSet + Clone + Send + Sync + 'static;

    /// The read model's name: its Postgres schema, its key in `clio.projection_offsets`, and
    /// what `clio projections rebuild <name>` and `clio run projector <name>` call it.
    fn name(&self) -> &'static str;

    /// The event topics it reads.
    fn topics(&self) -> &'static [&'static str];

    /// The migrations that create and evolve the tables, in order. They are run with the
    /// read model's schema as `search_path`, so they name tables without a schema: the same
    /// SQL builds the live tables and the tables of a rebuild.
    fn migrations(&self) -> &[Migration];

    /// Applies events (in log order per partition, each at most once) inside the runtime's
    /// transaction, whose `search_path` is the read model's schema. Use set-based SQL.
    /// (A boxed future: the projector is spawned on tokio, and a boxed `Send` future keeps
    /// that provable for every lifetime, which `impl Future` in a trait does not yet.)
    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope<Self::Event>],
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}
