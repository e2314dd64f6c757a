//! [`LedgerPlug`]: the ledger as the platform runs it (the one line in `clio`'s list of
//! domains is `Arc::new(LedgerPlug::default())`).

use clio_plug::gauge::Gauge;
use clio_projection::query::Query;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args as _, FromArgMatches as _, Subcommand as _};
use clio_ledger::Ledger;
use clio_ledger_projection::LedgerModel;
use clio_plug::{Core, CoreOf, Domain, Home, Resources, Routes, Worker};
use clio_projection::plugged::Projection;
use futures::future::BoxFuture;

use crate::cli::{LedgerAction, LedgerSeedSettings, LedgerUpSettings, ScanSettings};
use crate::demo::LedgerClient;
use crate::scan::LedgerTarget;

/// The ledger domain, living at its home.
#[derive(Debug, Clone)]
pub struct LedgerPlug {
    home: Home,
}

impl Default for LedgerPlug {
    fn default() -> Self {
        Self { home: Home::production("ledger") }
    }
}

impl LedgerPlug {
    /// Its read models and commands topic.
    pub fn target(&self) -> LedgerTarget {
        LedgerTarget { schema: self.home.schema(), commands_topic: self.home.topic("commands") }
    }
}

impl Domain for LedgerPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Ledger>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self { home })
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(LedgerModel)]
    }

    fn console(&self) -> Vec<(&'static str, Query)> {
        use clio_ledger_projection::queries;
        vec![
            ("Ledger: audit per debtor (read model)", queries::CONSOLE_AUDIT),
            ("Ledger: largest accounts", queries::CONSOLE_LARGEST),
        ]
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![Gauge {
            source: "ledger_transfers",
            name: "clio_ledger_transfers_committed",
            help: "Committed transfers (one per account side) by coordinator type.",
            labels: &["coordinator_type"],
            query: clio_ledger_projection::queries::METRICS_TRANSFERS,
        }]
    }

    fn routes(&self, resources: &Resources) -> Routes {
        crate::routes::routes(resources.pool.clone(), &self.home.schema())
    }

    fn command(&self) -> Option<clap::Command> {
        let ledger = LedgerAction::augment_subcommands(clap::Command::new("ledger"));
        Some(ledger.about("Ledger tools: the conservation audit and the clock").subcommand_required(true))
    }

    fn run_command<'a>(&'a self, matches: &'a clap::ArgMatches) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match LedgerAction::from_arg_matches(matches)? {
                LedgerAction::Audit(settings) => {
                    let settle = Duration::from_secs(settings.settle_seconds);
                    crate::audit::audit(&settings.kafka, &settings.registry.registry_url, &settings.topic, settle).await
                }
                LedgerAction::Scan(settings) => scan(&settings).await,
            }
        })
    }

    fn up_args(&self, up: clap::Command) -> clap::Command {
        LedgerUpSettings::augment_args(up)
    }

    fn workers(&self, up: &clap::ArgMatches, resources: &Resources, demo: bool) -> anyhow::Result<Vec<Worker>> {
        let settings = LedgerUpSettings::from_arg_matches(up)?;
        let interval = Duration::from_secs(settings.ledger_scan_interval_seconds.max(1));
        let (target, clock_resources) = (self.target(), resources.clone());
        let mut workers = vec![Worker {
            name: "ledger clock".into(),
            summary: format!(
                "a scan every {} s (clio ledger scan runs one now)",
                settings.ledger_scan_interval_seconds
            ),
            start: Box::new(move || {
                let (Resources { pool, kafka, codec, shutdown }, target) = (clock_resources.clone(), target.clone());
                Box::pin(async move {
                    let producer = clio_runtime::kafka::producer(&kafka).context("creating the scanner's producer")?;
                    crate::scan::run(pool, target, producer, codec, interval, shutdown).await
                })
            }),
        }];
        if demo {
            let (target, resources, demo, rate) =
                (self.target(), resources.clone(), settings.demo.demo(), settings.demo_rate);
            workers.push(Worker {
                name: "ledger demo".into(),
                summary: format!(
                    "debtor {} with {} holders; {rate} transfers/s between them (CLIO_DEMO=0 turns it off)",
                    demo.debtor_id, demo.accounts
                ),
                start: Box::new(move || {
                    let (Resources { pool, kafka, codec, shutdown }, target, demo) =
                        (resources.clone(), target.clone(), demo.clone());
                    Box::pin(async move {
                        let producer = clio_runtime::kafka::producer(&kafka).context("creating the demo's producer")?;
                        let ledger = LedgerClient { pool: &pool, target: &target, producer: &producer, codec: &codec };
                        crate::demo::run(&ledger, &demo, rate, shutdown).await
                    })
                }),
            });
        }
        Ok(workers)
    }

    fn seed_args(&self, seed: clap::Command) -> clap::Command {
        LedgerSeedSettings::augment_args(seed)
    }

    fn seed<'a>(
        &'a self,
        seed: &'a clap::ArgMatches,
        resources: &'a Resources,
        progress: bool,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let settings = LedgerSeedSettings::from_arg_matches(seed)?;
            let defaults = self.target();
            let target = LedgerTarget {
                schema: settings.schema.unwrap_or(defaults.schema),
                commands_topic: settings.topic.unwrap_or(defaults.commands_topic),
            };
            let producer = clio_runtime::kafka::producer(&resources.kafka).context("creating the producer")?;
            let ledger =
                LedgerClient { pool: &resources.pool, target: &target, producer: &producer, codec: &resources.codec };
            let demo = settings.demo.demo();
            let report = crate::demo::seed(&ledger, &demo, progress).await?;
            Ok(Some(format!(
                "ledger: debtor {} with {} holders; {} accounts configured and {} issues made by this run",
                demo.debtor_id, demo.accounts, report.configured, report.issued
            )))
        })
    }
}

/// `clio ledger scan`.
async fn scan(settings: &ScanSettings) -> anyhow::Result<()> {
    let pool = settings.database.connect().await?;
    let producer = clio_runtime::kafka::producer(&settings.kafka).context("creating the producer")?;
    let codec = settings.registry.codec();
    let target = LedgerTarget { schema: settings.schema.clone(), commands_topic: settings.topic.clone() };
    let at = settings.at.unwrap_or_else(chrono::Utc::now);
    let report = crate::scan::scan_once(&pool, &target, &producer, &codec, at, true).await?;
    println!(
        "ledger scan at {}: {} debtors, {} accounts sent MaintainAccount",
        at.to_rfc3339(),
        report.debtors,
        report.commands
    );
    Ok(())
}
