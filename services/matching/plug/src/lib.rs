//! The matching domain's plug into the platform: what runs beside its pure core
//! (`clio-matching`) and its read models (`clio-matching-projection`). [`MatchingPlug`] is how
//! the `clio` binary, tests and benchmarks run it.
//!
//! # Layout
//! - [`MatchingPlug`]: the matching domain's [`clio_plug::Domain`]: its processor, read models
//!   and `clio matching ...`. Its card holder look-ups run in the retry domain (task type
//!   `matching_identity`).
//! - [`cli`]: `clio matching ...` as clap reads it.
//! - [`operate`]: `clio matching ...` run.
//! - [`import`]: a feed file read, its locations resolved, one import command per row.
//! - [`mids`]: MID updates as operators ask for them, checked.
//! - [`force`]: a force match as an operator asks for it, checked against the read model.
//! - [`demo`]: a demo day for two merchants (`clio seed`, and `clio up` with its demo on).
//! - [`client`]: producing commands to `matching.commands`.
//! - [`routes`]: its HTTP routes (feed file imports).

use clio_plug::gauge::Gauge;
use clio_projection::query::Query;
use std::sync::Arc;

use clap::{Args as _, FromArgMatches as _, Subcommand as _};
use clio_matching::entity::Matching;
use clio_matching_projection::MatchingModel;
use clio_plug::{Core, CoreOf, Domain, Home, Resources, Routes, Worker};
use clio_projection::plugged::Projection;
use futures::future::BoxFuture;

pub mod cli;
pub mod client;
pub mod demo;
pub mod force;
pub mod import;
pub mod mids;
pub mod operate;
pub mod routes;

use cli::{MatchingAction, MatchingDemoSettings};
use client::MatchingClient;

/// The matching domain, living at its home.
#[derive(Debug, Clone)]
pub struct MatchingPlug {
    home: Home,
}

impl Default for MatchingPlug {
    fn default() -> Self {
        Self { home: Home::production("matching") }
    }
}

impl MatchingPlug {
    /// The matching domain living at `home`.
    pub fn living_at(home: Home) -> Self {
        Self { home }
    }

    /// A client for its commands topic.
    pub fn client(&self, resources: &Resources) -> anyhow::Result<MatchingClient> {
        let producer = clio_runtime::kafka::producer(&resources.kafka)
            .map_err(|error| anyhow::anyhow!("creating the matching producer: {error}"))?;
        Ok(MatchingClient { producer, codec: resources.codec.clone(), commands_topic: self.home.topic("commands") })
    }

    /// Today's demo day.
    fn demo_day(settings: &MatchingDemoSettings) -> demo::DemoDay {
        demo::DemoDay { date: chrono::Utc::now().date_naive(), purchases: settings.matching_demo_purchases }
    }
}

impl Domain for MatchingPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Matching>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self::living_at(home))
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(MatchingModel)]
    }

    fn console(&self) -> Vec<(&'static str, Query)> {
        use clio_matching_projection::queries;
        vec![("Matching: match rate per merchant", queries::CONSOLE_MATCH_RATE)]
    }

    fn gauges(&self) -> Vec<Gauge> {
        vec![Gauge {
            source: "matching_payments",
            name: "clio_matching_payments",
            help: "Payments by merchant and status (MATCHED, PENDING, ...).",
            labels: &["merchant", "status"],
            query: clio_matching_projection::queries::METRICS_PAYMENTS,
        }]
    }

    fn routes(&self, resources: &Resources) -> Routes {
        match self.client(resources) {
            Ok(client) => routes::routes(resources.pool.clone(), &self.home.schema(), client),
            Err(error) => {
                // Without a producer the routes could only fail; the gateway still serves the rest.
                tracing::error!(error = %format!("{error:#}"), "the matching routes are not served");
                Routes::default()
            }
        }
    }

    fn command(&self) -> Option<clap::Command> {
        let matching = MatchingAction::augment_subcommands(clap::Command::new("matching"));
        Some(matching.about("Transaction matching: import feed files, the MID registry").subcommand_required(true))
    }

    fn run_command<'a>(&'a self, matches: &'a clap::ArgMatches) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { operate::operate(MatchingAction::from_arg_matches(matches)?).await })
    }

    fn up_args(&self, up: clap::Command) -> clap::Command {
        MatchingDemoSettings::augment_args(up)
    }

    fn workers(&self, up: &clap::ArgMatches, resources: &Resources, demo: bool) -> anyhow::Result<Vec<Worker>> {
        if !demo {
            return Ok(Vec::new());
        }
        let day = Self::demo_day(&MatchingDemoSettings::from_arg_matches(up)?);
        let (plug, resources) = (self.clone(), resources.clone());
        Ok(vec![Worker {
            name: "matching demo".into(),
            summary: format!(
                "a day of {} purchases at Costa and at Wasabi (GET /v1/matching/counters shows where each stands)",
                day.purchases
            ),
            start: Box::new(move || {
                let (plug, resources) = (plug.clone(), resources.clone());
                Box::pin(async move {
                    let report = demo::seed(&plug.client(&resources)?, &day, |_, _| {}).await?;
                    tracing::info!(?report, "matching demo day sent");
                    Ok(())
                })
            }),
        }])
    }

    fn seed_args(&self, seed: clap::Command) -> clap::Command {
        MatchingDemoSettings::augment_args(seed)
    }

    fn seed<'a>(
        &'a self,
        seed: &'a clap::ArgMatches,
        resources: &'a Resources,
        progress: bool,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let day = Self::demo_day(&MatchingDemoSettings::from_arg_matches(seed)?);
            let files = day.files().len();
            let bar = clio_plug::progress_bar(0, "matching demo", progress);
            let report = demo::seed(&self.client(resources)?, &day, |sent, of| {
                bar.set_length(of as u64);
                bar.set_position(sent as u64);
            })
            .await?;
            bar.finish_and_clear();
            Ok(Some(format!(
                "matching: {} MIDs, {} payments and {} merchant transactions of {} from {files} feed files (GET /v1/matching/counters)",
                report.mids, report.payments, report.merchant_transactions, day.date
            )))
        })
    }
}
