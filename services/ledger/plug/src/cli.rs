//! The ledger's settings on the command line: `clio ledger audit|scan`, and what it adds to
//! `clio up` and `clio seed`. Every flag also reads a `CLIO_*` variable where it had one.

use clap::{Args, Subcommand};
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings};

// `clio ledger ...` (a doc comment here would become the subcommand's about).
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

#[derive(Args, Debug, Clone)]
pub struct ScanSettings {
    /// The time of the scan (RFC 3339), instead of now: the ledger decides as if it were then.
    #[arg(long)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
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

// The demo debtor and its holders (no doc comment: it would become the about of the command it joins).
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
    pub fn demo(&self) -> crate::demo::Demo {
        crate::demo::Demo { debtor_id: self.debtor_id, accounts: self.accounts, amount: self.amount }
    }
}

// What the ledger adds to `clio up` (a doc comment would replace up's own about).
#[derive(Args, Debug, Clone)]
pub struct LedgerUpSettings {
    /// How often the ledger's clock scans for time-driven work (heartbeats and reminders are
    /// weekly, so an hour is plenty).
    #[arg(long, env = "CLIO_LEDGER_SCAN_INTERVAL_SECONDS", default_value_t = 3600)]
    pub ledger_scan_interval_seconds: u64,
    /// Demo transfers per second (with --demo).
    #[arg(long, env = "CLIO_DEMO_RATE", default_value_t = 2.0)]
    pub demo_rate: f64,
    #[command(flatten)]
    pub demo: DemoSettings,
}

// What the ledger adds to `clio seed` (a doc comment would replace seed's own about).
#[derive(Args, Debug, Clone)]
pub struct LedgerSeedSettings {
    #[command(flatten)]
    pub demo: DemoSettings,
    /// The Postgres schema of the ledger's read models (default: the ledger's own).
    #[arg(long = "ledger-schema", visible_alias = "schema")]
    pub schema: Option<String>,
    /// The ledger's commands topic (default: the ledger's own).
    #[arg(long = "ledger-topic", visible_alias = "topic")]
    pub topic: Option<String>,
}
