//! The commands of `clio`, each with its settings.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use clio_plug::Domain;
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings, SchemaSettings};

#[derive(Parser, Debug)]
#[command(name = "clio", version, about = "Clio: an event-sourced platform on Kafka.", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything in one process: prepare the database, create topics, start the schema
    /// registry, register schemas, then run every processor, every projector and the HTTP
    /// gateway until Ctrl-C or SIGTERM.
    Up(UpSettings),
    /// Run one part alone, to scale it out beside others (instances of a processor or
    /// projector share the partitions through their consumer group).
    Run {
        /// Also serve this process's counters (records, dead letters, batch latency) at
        /// `/metrics` here: for a processor, projector or worker outside the gateway's process.
        #[arg(long, env = "CLIO_METRICS_ADDR", global = true)]
        metrics_addr: Option<SocketAddr>,
        #[command(subcommand)]
        part: Part,
    },
    /// Manage topics.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Manage schemas in the registry.
    Schemas {
        #[command(subcommand)]
        action: SchemasAction,
    },
    /// Produce records from JSON (one document per line, from a file or standard input),
    /// encoded as Confluent-framed Avro with the record's registered schema.
    Produce(ProduceSettings),
    /// Consume records and print them as JSON, one per line.
    Consume(ConsumeSettings),
    /// Write the AsyncAPI 3 document generated from the catalogue (or check it is current).
    Asyncapi(AsyncapiSettings),
    /// Demo data for every domain (the ledger: a debtor, holders' accounts, money issued to
    /// each), produced as commands with a progress bar. Safe to run again.
    Seed(SeedSettings),
    /// The read models in Postgres: where each stands, and rebuilding one from the log.
    Projections {
        #[command(subcommand)]
        action: ProjectionsAction,
    },
    /// API keys for the gateway and the schema registry. Once one exists, every write, read
    /// and admin action through them needs a key whose scopes allow it.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Dead letters: what processors and projectors could not handle, with the reason
    /// (platform.dead_letters), and replaying them to their source topics after a fix.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum DlqAction {
    /// Entries oldest first: source record, consumer, status, reason.
    List {
        /// Only PARKED or REPLAYED entries.
        #[arg(long)]
        status: Option<String>,
        /// Only records of this source topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only entries whose reason contains this text.
        #[arg(long)]
        reason: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        settings: ProjectionSettings,
    },
    /// One source record's entries, as JSON.
    Show {
        /// The source record, `topic/partition/offset`.
        record: String,
        #[command(flatten)]
        settings: ProjectionSettings,
    },
    /// Send parked records back to their source topics (after fixing why they failed); each
    /// replay is recorded on platform.dead-letter-replays with who did it.
    Replay {
        /// The source record, `topic/partition/offset`; or give a filter instead.
        record: Option<String>,
        /// Every parked record of this source topic.
        #[arg(long, conflicts_with = "record")]
        topic: Option<String>,
        /// Every parked record whose reason contains this text.
        #[arg(long, conflicts_with = "record")]
        reason: Option<String>,
        /// With a filter and nothing else: replay every parked record.
        #[arg(long, conflicts_with = "record")]
        all: bool,
        #[command(flatten)]
        settings: ProjectionSettings,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Create a key and print it (once: only its fingerprint is kept).
    Create {
        /// The key's name: who it is in audits.
        name: String,
        /// What it may do (repeat, or separate by commas): `produce:<topic or domain>`,
        /// `read:<domain>`, `write:<domain>`, `admin:<domain>` (`admin:platform`: dead
        /// letters), `registry:write`, or `*`; a target may be `*`.
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Store nothing: print the line that configures the key in CLIO_API_KEYS or
        /// CLIO_API_KEYS_FILE (with its fingerprint, not the key).
        #[arg(long)]
        config_line: bool,
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// The stored keys (with their scopes, who created them and when, and whether revoked)
    /// and those configured in CLIO_API_KEYS or CLIO_API_KEYS_FILE.
    List {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(flatten)]
        keys: KeySettings,
    },
    /// Revoke a stored key: refused within a second, by every gateway and registry.
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseSettings,
    },
}

/// Keys configured beside those `clio keys create` stores.
#[derive(Args, Debug, Clone, Default)]
pub struct KeySettings {
    /// API keys, one per line or separated by `;`: `name scopes key`, where key is the key
    /// itself or its `sha256:` fingerprint (`clio keys create --config-line` prints one).
    #[arg(long = "api-keys", env = "CLIO_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// A file of API keys, one per line, as --api-keys.
    #[arg(long = "api-keys-file", env = "CLIO_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
}

// What `clio seed` needs beside each domain's own settings (a doc comment would become its about).
#[derive(Args, Debug, Clone)]
pub struct SeedSettings {
    /// Seed only these domains (default: every one).
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

#[derive(Subcommand, Debug)]
pub enum ProjectionsAction {
    /// For each projection and partition: the stored offset, the broker's end offset, the lag.
    Status(ProjectionSettings),
    /// Build a read model again from the earliest offset into new tables, then swap them in
    /// atomically; the old tables serve queries until the swap. Safe to interrupt and rerun.
    Rebuild {
        /// The read model to rebuild.
        name: String,
        #[command(flatten)]
        settings: ProjectionSettings,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ProjectionSettings {
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

#[derive(Args, Debug, Clone)]
pub struct AsyncapiSettings {
    /// Where to write the document.
    #[arg(long, default_value = "asyncapi/asyncapi.yaml")]
    pub output: PathBuf,
    /// Do not write; fail if the file differs from what the catalogue generates.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub schemas: SchemaSettings,
}

#[derive(Subcommand, Debug)]
pub enum Part {
    /// The embedded schema registry (Confluent REST API on Postgres).
    Registry(RegistryServerSettings),
    /// The HTTP gateway.
    Gateway(GatewaySettings),
    /// One domain's processor.
    Processor(ProcessorSettings),
    /// One domain's clocks and workers (the retry worker, the ledger's clock), with the
    /// domain's settings of `clio up`.
    Worker(WorkerSettings),
    /// The sandbox: local servers speaking the outside systems' APIs (a loyalty scheme, any
    /// HTTP endpoint), with scripted outcomes.
    Sandbox {
        #[arg(long, env = "CLIO_SANDBOX_ADDR", default_value = "127.0.0.1:8090")]
        sandbox_addr: SocketAddr,
        #[command(flatten)]
        kept: SandboxKept,
    },
    /// One read model's projector.
    Projector {
        /// The read model (see `clio projections status`).
        name: String,
        #[command(flatten)]
        settings: ProjectionSettings,
    },
}

#[derive(Subcommand, Debug)]
pub enum TopicsAction {
    /// Create every topic of the catalogue that does not exist yet (safe to run again).
    Create(TopicsSettings),
    /// List the catalogue's topics with their partitions, policy and records.
    List(TopicsSettings),
}

#[derive(Subcommand, Debug)]
pub enum SchemasAction {
    /// Register every record of the catalogue under `<topic>-<record>` (safe to run again;
    /// a changed schema must pass the subject's compatibility level).
    Register(SchemasSettings),
}

#[derive(Args, Debug, Clone)]
pub struct UpSettings {
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub schemas: SchemaSettings,
    /// Where the embedded schema registry listens.
    #[arg(long, env = "CLIO_REGISTRY_ADDR", default_value = "127.0.0.1:8081")]
    pub registry_addr: SocketAddr,
    /// Where the HTTP gateway listens.
    #[arg(long, env = "CLIO_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// How long a gateway request may take before it is answered 504.
    #[arg(long, env = "CLIO_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
    #[command(flatten)]
    pub keys: KeySettings,
    #[command(flatten)]
    pub docs: DocsSettings,
    /// Where the sandbox (local servers speaking the outside systems' APIs, for the demo and
    /// tests) listens; empty runs none.
    #[arg(long, env = "CLIO_SANDBOX_ADDR", default_value = "127.0.0.1:8090")]
    pub sandbox_addr: String,
    #[command(flatten)]
    pub sandbox_kept: SandboxKept,
    /// How long the work in flight may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, env = "CLIO_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// Seed every domain's demo data (as `clio seed`), then keep it moving (the ledger: random
    /// transfers between the demo accounts); `make up` turns this on.
    #[arg(long, env = "CLIO_DEMO", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RegistryServerSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[arg(long, env = "CLIO_REGISTRY_ADDR", default_value = "127.0.0.1:8081")]
    pub registry_addr: SocketAddr,
    #[command(flatten)]
    pub keys: KeySettings,
}

#[derive(Args, Debug, Clone)]
pub struct GatewaySettings {
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub schemas: SchemaSettings,
    #[arg(long, env = "CLIO_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// How long a gateway request may take before it is answered 504.
    #[arg(long, env = "CLIO_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
    #[command(flatten)]
    pub keys: KeySettings,
    #[command(flatten)]
    pub docs: DocsSettings,
}

/// The rendered AsyncAPI documentation the gateway serves at `/docs/`.
#[derive(Args, Debug, Clone)]
pub struct DocsSettings {
    /// The directory `make asyncapi` renders into; empty serves no documentation.
    #[arg(long = "docs-dir", env = "CLIO_DOCS_DIR", default_value = "asyncapi/html")]
    pub docs_dir: PathBuf,
}

impl DocsSettings {
    pub fn dir(&self) -> Option<PathBuf> {
        (!self.docs_dir.as_os_str().is_empty()).then(|| self.docs_dir.clone())
    }
}

#[derive(Args, Debug, Clone)]
pub struct ProcessorSettings {
    /// The domain whose processor to run.
    pub domain: String,
    #[command(flatten)]
    pub schemas: SchemaSettings,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
}

#[derive(Args, Debug, Clone)]
pub struct WorkerSettings {
    /// The domain whose workers to run.
    pub domain: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

#[derive(Args, Debug, Clone)]
pub struct TopicsSettings {
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub schemas: SchemaSettings,
}

#[derive(Args, Debug, Clone)]
pub struct SchemasSettings {
    #[command(flatten)]
    pub registry: RegistrySettings,
    /// An API key with scope `registry:write`, for a registry whose writes need one.
    #[arg(long, env = "CLIO_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[command(flatten)]
    pub schemas: SchemaSettings,
}

#[derive(Args, Debug, Clone)]
pub struct ProduceSettings {
    /// The topic to produce to (one of the catalogue's Avro topics).
    pub topic: String,
    /// The full name of the record type, e.g. clio.ledger.ConfigureAccount. May be left out
    /// when the topic carries a single record type.
    #[arg(long = "type")]
    pub record: Option<String>,
    /// The record key (UTF-8). Without it the record has no key.
    #[arg(long)]
    pub key: Option<String>,
    /// Read documents from this file instead of standard input ('-').
    #[arg(default_value = "-")]
    pub input: PathBuf,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub schemas: SchemaSettings,
}

#[derive(Args, Debug, Clone)]
pub struct ConsumeSettings {
    /// The topic to read.
    pub topic: String,
    /// Read from this offset on every partition (default: the beginning).
    #[arg(long, default_value_t = 0, conflicts_with = "last")]
    pub from: i64,
    /// Print only the newest N records of the topic (across its partitions, by timestamp);
    /// with --follow, then keep printing new ones.
    #[arg(long)]
    pub last: Option<usize>,
    /// Stop after this many records.
    #[arg(long)]
    pub max: Option<usize>,
    /// Keep waiting for new records instead of stopping at the end of the log.
    #[arg(long)]
    pub follow: bool,
    /// Print only the decoded values, without partition, offset, key and headers.
    #[arg(long)]
    pub values_only: bool,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
}

/// The command line with every plugged domain's commands and settings.
pub fn command(domains: &[Arc<dyn Domain>]) -> clap::Command {
    let mut command = Cli::command();
    for domain in domains {
        command = command
            .mut_subcommand("up", |up| domain.up_args(up))
            .mut_subcommand("seed", |seed| domain.seed_args(seed))
            .mut_subcommand("run", |run| run.mut_subcommand("worker", |worker| domain.up_args(worker)));
        if let Some(own) = domain.command() {
            command = command.subcommand(own);
        }
    }
    command
}

/// Where the sandbox keeps its marketplace and tracker across restarts.
#[derive(Args, Debug, Clone)]
pub struct SandboxKept {
    /// The file the sandbox keeps its marketplace's and tracker's contents in across restarts
    /// (`make up` sets `.data/sandbox.json`); empty keeps them in memory.
    #[arg(long, env = "CLIO_SANDBOX_STATE", default_value = "")]
    pub sandbox_state: String,
}

impl SandboxKept {
    /// The sandbox to serve: the kept one, or an empty one.
    pub fn sandbox(&self) -> anyhow::Result<clio_sandbox::Sandbox> {
        if self.sandbox_state.is_empty() {
            return Ok(clio_sandbox::Sandbox::default());
        }
        Ok(clio_sandbox::kept::load(std::path::Path::new(&self.sandbox_state))?)
    }
}
