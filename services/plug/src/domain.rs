//! The [`Domain`] trait: everything the platform runs, serves and offers for one domain.

use std::marker::PhantomData;
use std::sync::Arc;

use clio_aggregate::Aggregate;
use clio_gateway::routes::Routes;
use clio_projection::plugged::Projection;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::processor::{self, Counters, ProcessorConfig};
use clio_runtime::settings::KafkaSettings;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::Home;

/// A part that runs until shutdown.
pub type Task = BoxFuture<'static, anyhow::Result<()>>;

/// What the platform lends a domain's routes, workers and seed.
#[derive(Clone)]
pub struct Resources {
    pub pool: sqlx::PgPool,
    pub kafka: KafkaSettings,
    pub codec: Codec,
    pub shutdown: CancellationToken,
}

/// A long-running part of a domain beside its processor: a clock that sends ticks, a worker
/// that performs effects, the demo stream. The platform starts it again when it fails.
pub struct Worker {
    /// For logs: `ledger clock`.
    pub name: String,
    /// For the banner of `clio up`: what it does and how often.
    pub summary: String,
    pub start: Box<dyn FnMut() -> Task + Send>,
}

/// One domain as the platform sees it. Every method but the first three has a default (the
/// core's, or plugging in nothing), so a domain grows its routes, commands and workers one at a
/// time.
pub trait Domain: Send + Sync + 'static {
    /// Its pure core: `&CoreOf::<MyAggregate>::NEW`.
    fn core(&self) -> &dyn Core;

    /// Where this instance lives.
    fn home(&self) -> &Home;

    /// The same domain living elsewhere (tests and benchmarks).
    fn at(&self, home: Home) -> Arc<dyn Domain>;

    /// Its name: the prefix of its topics, `clio run processor <name>`, `clio <name> ...`.
    fn name(&self) -> &'static str {
        self.core().name()
    }

    /// Checks that the catalogue's commands and events topics carry exactly its records.
    fn check_records(&self, catalogue: &Catalogue) -> anyhow::Result<()> {
        self.core().check_records(self.home(), catalogue)
    }

    /// Runs its processor until `shutdown`.
    fn processor(
        &self,
        kafka: KafkaSettings,
        codec: Codec,
        config: ProcessorConfig,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<Counters>> {
        self.core().processor(kafka, codec, config, shutdown)
    }

    /// Its read models (run each with `home().projector_config(model)`).
    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        Vec::new()
    }

    /// Its HTTP routes, carrying their own state (they may read the read models and produce
    /// commands), and their OpenAPI paths.
    fn routes(&self, _resources: &Resources) -> Routes {
        Routes::default()
    }

    /// What `/metrics` reads of it at each scrape (an operator's figures: tasks by status,
    /// syncs failing): queries over its read model (see [`crate::gauge`]).
    fn gauges(&self) -> Vec<crate::gauge::Gauge> {
        Vec::new()
    }

    /// Its sections of `/console/` (what an operator of it looks at first): each a title and
    /// the query over its read model that fills it (see [`crate::panel`]).
    fn console(&self) -> Vec<(&'static str, clio_projection::query::Query)> {
        Vec::new()
    }

    /// `clio <name> ...`: its subcommand, if it has one.
    fn command(&self) -> Option<clap::Command> {
        None
    }

    /// Runs `clio <name> ...` with what [`Domain::command`] parsed.
    fn run_command<'a>(&'a self, _matches: &'a clap::ArgMatches) -> BoxFuture<'a, anyhow::Result<()>> {
        let name = self.name();
        Box::pin(async move { anyhow::bail!("the {name} domain has no commands") })
    }

    /// Adds its settings to `clio up` (its clocks' intervals, its demo's size). Settings
    /// structs added here and in [`Domain::seed_args`] carry no doc comment: clap would make it
    /// the about of the command they join.
    fn up_args(&self, up: clap::Command) -> clap::Command {
        up
    }

    /// Its clocks and workers for `clio up`, and its demo when `demo` is on.
    fn workers(&self, _up: &clap::ArgMatches, _resources: &Resources, _demo: bool) -> anyhow::Result<Vec<Worker>> {
        Ok(Vec::new())
    }

    /// Adds its settings to `clio seed`.
    fn seed_args(&self, seed: clap::Command) -> clap::Command {
        seed
    }

    /// Seeds its demo data (`clio seed`); says what it did, or `None` when it has none.
    fn seed<'a>(
        &'a self,
        _seed: &'a clap::ArgMatches,
        _resources: &'a Resources,
        _progress: bool,
    ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async { Ok(None) })
    }
}

/// A domain's pure core as the platform runs it, whatever its aggregate.
pub trait Core: Send + Sync {
    /// The aggregate's name ([`Aggregate::NAME`]).
    fn name(&self) -> &'static str;

    /// Checks that the catalogue's commands and events topics at `home` carry exactly the
    /// aggregate's records.
    fn check_records(&self, home: &Home, catalogue: &Catalogue) -> anyhow::Result<()>;

    /// Runs the aggregate's processor until `shutdown`.
    fn processor(
        &self,
        kafka: KafkaSettings,
        codec: Codec,
        config: ProcessorConfig,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<Counters>>;
}

/// The [`Core`] of aggregate `A`.
pub struct CoreOf<A>(PhantomData<fn() -> A>);

impl<A> CoreOf<A> {
    pub const NEW: Self = Self(PhantomData);
}

impl<A> Core for CoreOf<A>
where
    A: Aggregate + Send + Sync + 'static,
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    fn name(&self) -> &'static str {
        A::NAME
    }

    fn check_records(&self, home: &Home, catalogue: &Catalogue) -> anyhow::Result<()> {
        home.processor_config().check_records::<A>(catalogue).map_err(Into::into)
    }

    fn processor(
        &self,
        kafka: KafkaSettings,
        codec: Codec,
        config: ProcessorConfig,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<Counters>> {
        Box::pin(async move { processor::run::<A>(&kafka, codec, config, shutdown).await })
    }
}

/// The domain called `name` among `all`, or an error naming those there are.
pub fn find<'a>(all: &'a [Arc<dyn Domain>], name: &str) -> anyhow::Result<&'a Arc<dyn Domain>> {
    all.iter().find(|domain| domain.name() == name).ok_or_else(|| {
        let known: Vec<&str> = all.iter().map(|domain| domain.name()).collect();
        anyhow::anyhow!("unknown domain {name:?}; this build runs: {}", known.join(", "))
    })
}

/// Every domain's routes, merged, for the gateway.
pub fn routes_of(domains: &[Arc<dyn Domain>], resources: &Resources) -> Routes {
    domains.iter().fold(Routes::default(), |all, domain| all.merge(domain.routes(resources).of_domain(domain.name())))
}
