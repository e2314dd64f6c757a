//! The orders domain's plug into the platform: what runs beside its pure core (`clio-orders`)
//! and its read models (`clio-orders-projection`). [`OrdersPlug`] is how the `clio` binary,
//! tests and benchmarks run it. Its calls to the marketplace and the tracker run in the retry
//! domain (task types `orders_*`).
//!
//! # Layout
//! - [`OrdersPlug`]: the orders domain's [`clio_plug::Domain`]: its processor, read model,
//!   routes and demo.
//! - [`routes`]: the marketplace's trigger, the tracker's webhook, and the orders read over HTTP.
//! - [`demo`]: the sandbox's marketplace and tracker wired to this platform, and demo orders
//!   flowing both ways (`clio seed`, and `clio up` with its demo on).
//! - [`cli`] and [`operate`]: `clio orders ...` for operators (list, show, failures, sync).

use clio_plug::gauge::Gauge;
use clio_projection::query::Query;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args as _, FromArgMatches as _, Subcommand as _};
use clio_orders::entity::Orders;
use clio_orders::messages::OrdersCommand;
use clio_orders_projection::OrdersModel;
use clio_plug::{Core, CoreOf, Domain, Home, Resources, Routes, Worker};
use clio_projection::plugged::Projection;
use clio_runtime::codec::Codec;
use futures::future::BoxFuture;
use rdkafka::producer::FutureProducer;

pub mod cli;
pub mod demo;
pub mod operate;
pub mod routes;

/// The environment variable holding the tracker webhook's secret; unset or empty, the webhook
/// refuses everything.
pub const WEBHOOK_SECRET_ENV: &str = "CLIO_ORDERS_WEBHOOK_SECRET";

/// The orders domain, living at its home.
#[derive(Debug, Clone)]
pub struct OrdersPlug {
    home: Home,
    webhook_secret: String,
}

impl Default for OrdersPlug {
    fn default() -> Self {
        Self { home: Home::production("orders"), webhook_secret: std::env::var(WEBHOOK_SECRET_ENV).unwrap_or_default() }
    }
}

/// Producing to the orders commands topic.
#[derive(Clone)]
pub struct OrdersClient {
    pub producer: FutureProducer,
    pub codec: Codec,
    pub commands_topic: String,
}

impl OrdersClient {
    pub async fn send(&self, command: &OrdersCommand) -> anyhow::Result<()> {
        clio_plug::send_command::<Orders>(&self.producer, &self.codec, &self.commands_topic, command).await
    }
}

impl OrdersPlug {
    /// The orders domain living at `home`, its webhook checked against `webhook_secret`.
    pub fn living_at(home: Home, webhook_secret: &str) -> Self {
        Self { home, webhook_secret: webhook_secret.to_string() }
    }

    pub fn client(&self, resources: &Resources) -> anyhow::Result<OrdersClient> {
        let producer = clio_runtime::kafka::producer(&resources.kafka).context("creating the orders producer")?;
        Ok(OrdersClient { producer, codec: resources.codec.clone(), commands_topic: self.home.topic("commands") })
    }
}

impl Domain for OrdersPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Orders>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self::living_at(home, &self.webhook_secret))
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(OrdersModel)]
    }

    fn console(&self) -> Vec<(&'static str, Query)> {
        use clio_orders_projection::queries;
        vec![("Orders: failing syncs", queries::CONSOLE_FAILING)]
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![
            Gauge {
                source: "orders_sync_failures",
                name: "clio_orders_sync_failures",
                help: "Syncs between the marketplace and the tracker that failed, by kind.",
                labels: &["kind"],
                query: clio_orders_projection::queries::METRICS_SYNC_FAILURES,
            },
            Gauge {
                source: "orders_syncs",
                name: "clio_orders_syncs",
                help: "Syncs by what is synced (messages both ways, items' tracker issues) and state (requested: pending).",
                labels: &["what", "state"],
                query: clio_orders_projection::queries::METRICS_SYNCS,
            },
        ]
    }

    fn routes(&self, resources: &Resources) -> Routes {
        match self.client(resources) {
            Ok(client) => routes::routes(resources.pool.clone(), &self.home.schema(), client, &self.webhook_secret),
            Err(error) => {
                // Without a producer the routes could only fail; the gateway still serves the rest.
                tracing::error!(error = %format!("{error:#}"), "the orders routes are not served");
                Routes::default()
            }
        }
    }

    fn command(&self) -> Option<clap::Command> {
        let orders = cli::OrdersAction::augment_subcommands(clap::Command::new("orders"));
        Some(
            orders
                .about("Marketplace orders: list, show, failures, sync (read the marketplace now)")
                .subcommand_required(true),
        )
    }

    fn run_command<'a>(&'a self, matches: &'a clap::ArgMatches) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { operate::operate(cli::OrdersAction::from_arg_matches(matches)?).await })
    }

    fn up_args(&self, up: clap::Command) -> clap::Command {
        demo::OrdersDemoSettings::augment_args(up)
    }

    fn workers(&self, up: &clap::ArgMatches, _resources: &Resources, demo: bool) -> anyhow::Result<Vec<Worker>> {
        if !demo {
            return Ok(Vec::new());
        }
        let settings = demo::OrdersDemoSettings::from_arg_matches(up)?;
        let secret = self.webhook_secret.clone();
        Ok(vec![Worker {
            name: "orders demo".into(),
            summary: format!(
                "{} orders placed in the sandbox's marketplace, worked in its tracker (GET /v1/orders)",
                demo::ORDERS.len()
            ),
            start: Box::new(move || {
                let (settings, secret) = (settings.clone(), secret.clone());
                Box::pin(async move {
                    let report = demo::run(&settings, &secret).await?;
                    tracing::info!(%report, "orders demo");
                    Ok(())
                })
            }),
        }])
    }

    fn seed_args(&self, seed: clap::Command) -> clap::Command {
        demo::OrdersDemoSettings::augment_args(seed)
    }

    fn seed<'a>(
        &'a self,
        seed: &'a clap::ArgMatches,
        _resources: &'a Resources,
        _progress: bool,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let settings = demo::OrdersDemoSettings::from_arg_matches(seed)?;
            let report = demo::run(&settings, &self.webhook_secret).await?;
            Ok(Some(format!("orders: {report} (GET /v1/orders)")))
        })
    }
}
