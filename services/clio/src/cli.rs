//! The commands of `clio`, each with its settings.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clio_runtime::codec::Codec;
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
    /// Ledger tools.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Demo data for every domain (the ledger: a debtor, holders' accounts, money issued to
    /// each), produced as commands with a progress bar. Safe to run again.
    Seed(SeedSettings),
    /// The read models in Postgres: where each stands, and rebuilding one from the log.
    Projections {
        #[command(subcommand)]
        action: ProjectionsAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerAction {
    /// Check, from the events on the log, that for every debtor the principals of all its
    /// accounts plus the credits in flight sum to zero. Fails (exit 1) if money was created
    /// or lost.
    Audit(AuditSettings),
    /// The ledger's clock, once: find the accounts whose time-driven work may be due
    /// (interest, deletion, purge, heartbeats, reminders) in the read models and send each a
    /// MaintainAccount command. `clio up` does this every --ledger-scan-interval-seconds.
    Scan(ScanSettings),
}

/// The demo debtor and its holders.
#[derive(Args, Debug, Clone)]
pub struct DemoSettings {
    /// The demo debtor's id.
    #[arg(long = "demo-debtor-id", env = "CLIO_DEMO_DEBTOR_ID", default_value_t = 1)]
    pub debtor_id: i64,
    /// How many holders' accounts (creditor ids 1..=N).
    #[arg(long = "demo-accounts", env = "CLIO_DEMO_ACCOUNTS", default_value_t = 20)]
    pub accounts: i64,
    /// Issued to each holder.
    #[arg(long = "demo-amount", env = "CLIO_DEMO_AMOUNT", default_value_t = 10_000)]
    pub amount: i64,
}

impl DemoSettings {
    pub fn demo(&self) -> clio_ledger_plug::demo::Demo {
        clio_ledger_plug::demo::Demo { debtor_id: self.debtor_id, accounts: self.accounts, amount: self.amount }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SeedSettings {
    #[command(flatten)]
    pub demo: DemoSettings,
    #[command(flatten)]
    pub ledger: LedgerAccess,
}

#[derive(Args, Debug, Clone)]
pub struct ScanSettings {
    /// The time of the scan (RFC 3339), instead of now: the ledger decides as if it were then.
    #[arg(long)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub ledger: LedgerAccess,
}

/// Where the ledger's tools read (its read models) and write (its commands topic).
#[derive(Args, Debug, Clone)]
pub struct LedgerAccess {
    /// The Postgres schema of the ledger's read models.
    #[arg(long, default_value = "ledger")]
    pub schema: String,
    /// The ledger's commands topic.
    #[arg(long, default_value = "ledger.commands")]
    pub topic: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

impl LedgerAccess {
    /// The database pool, a producer, the codec and the target, ready to use.
    async fn open(
        &self,
    ) -> anyhow::Result<(sqlx::PgPool, rdkafka::producer::FutureProducer, Codec, clio_ledger_plug::scan::LedgerTarget)>
    {
        use anyhow::Context as _;
        let pool = crate::setup::connect_creating(&self.database.database_url).await?;
        let producer = clio_runtime::kafka::producer(&self.kafka).context("creating the producer")?;
        let codec = Codec::new(&self.registry.registry_url);
        let target =
            clio_ledger_plug::scan::LedgerTarget { schema: self.schema.clone(), commands_topic: self.topic.clone() };
        Ok((pool, producer, codec, target))
    }
}

#[derive(Args, Debug, Clone)]
pub struct AuditSettings {
    /// The ledger's events topic.
    #[arg(long, default_value = "ledger.events")]
    pub topic: String,
    /// On a live log, how long to wait for the senders' commits of credits that were applied
    /// before their commit reached the log; a credit still without one is reported.
    #[arg(long, default_value_t = 30)]
    pub settle_seconds: u64,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
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
    #[command(flatten)]
    pub docs: DocsSettings,
    /// How long the work in flight may take to finish after Ctrl-C or SIGTERM.
    #[arg(long, env = "CLIO_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// How often the ledger's clock scans for time-driven work (heartbeats and reminders are
    /// weekly, so an hour is plenty).
    #[arg(long, env = "CLIO_LEDGER_SCAN_INTERVAL_SECONDS", default_value_t = 3600)]
    pub ledger_scan_interval_seconds: u64,
    /// Seed demo data (as `clio seed`), then keep making random transfers between the demo
    /// accounts (`make up` turns this on).
    #[arg(long, env = "CLIO_DEMO", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// Demo transfers per second.
    #[arg(long, env = "CLIO_DEMO_RATE", default_value_t = 2.0)]
    pub demo_rate: f64,
    #[command(flatten)]
    pub demo_data: DemoSettings,
}

#[derive(Args, Debug, Clone)]
pub struct RegistryServerSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[arg(long, env = "CLIO_REGISTRY_ADDR", default_value = "127.0.0.1:8081")]
    pub registry_addr: SocketAddr,
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

/// Runs one parsed command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(settings) => crate::platform::up(settings).await,
        Command::Run { part } => crate::platform::run(part).await,
        Command::Topics { action: TopicsAction::Create(settings) } => crate::setup::topics_create(&settings).await,
        Command::Topics { action: TopicsAction::List(settings) } => crate::setup::topics_list(&settings),
        Command::Schemas { action: SchemasAction::Register(settings) } => {
            crate::setup::schemas_register(&settings).await
        }
        Command::Produce(settings) => crate::records::produce(settings).await,
        Command::Consume(settings) => crate::records::consume(settings).await,
        Command::Asyncapi(settings) => crate::setup::asyncapi(&settings),
        Command::Ledger { action: LedgerAction::Audit(settings) } => {
            let settle = std::time::Duration::from_secs(settings.settle_seconds);
            clio_ledger_plug::audit::audit(&settings.kafka, &settings.registry.registry_url, &settings.topic, settle)
                .await
        }
        Command::Ledger { action: LedgerAction::Scan(settings) } => scan(&settings).await,
        Command::Seed(settings) => seed(&settings).await,
        Command::Projections { action: ProjectionsAction::Status(settings) } => {
            crate::projections::status(&settings).await
        }
        Command::Projections { action: ProjectionsAction::Rebuild { name, settings } } => {
            crate::projections::rebuild(&name, &settings).await
        }
    }
}

async fn scan(settings: &ScanSettings) -> anyhow::Result<()> {
    let (pool, producer, codec, target) = settings.ledger.open().await?;
    let at = settings.at.unwrap_or_else(chrono::Utc::now);
    let report = clio_ledger_plug::scan::scan_once(&pool, &target, &producer, &codec, at, true).await?;
    println!(
        "ledger scan at {}: {} debtors, {} accounts sent MaintainAccount",
        at.to_rfc3339(),
        report.debtors,
        report.commands
    );
    Ok(())
}

async fn seed(settings: &SeedSettings) -> anyhow::Result<()> {
    let (pool, producer, codec, target) = settings.ledger.open().await?;
    let ledger =
        clio_ledger_plug::demo::LedgerClient { pool: &pool, target: &target, producer: &producer, codec: &codec };
    let demo = settings.demo.demo();
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = clio_ledger_plug::demo::seed(&ledger, &demo, progress).await?;
    println!(
        "ledger: debtor {} with {} holders; {} accounts configured and {} issues made by this run",
        demo.debtor_id, demo.accounts, report.configured, report.issued
    );
    Ok(())
}
