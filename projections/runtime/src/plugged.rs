//! Any read model behind one object-safe trait, so that the platform holds the read models of
//! every plugged domain in one list and runs, rebuilds and reports them without naming one.

use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::ReadModel;
use crate::projector::{self, Counters, ProjectorConfig};
use crate::rebuild::{self, Progress, RebuildReport};

/// A read model as the platform sees it.
pub trait Projection: Send + Sync {
    fn name(&self) -> &'static str;
    fn topics(&self) -> &'static [&'static str];
    /// Its projector's settings: its name, its topics, its consumer group.
    fn config(&self) -> ProjectorConfig {
        ProjectorConfig::new(self.name(), self.topics())
    }
    /// Runs its projector until `shutdown`.
    fn run(
        &self,
        kafka: KafkaSettings,
        pool: PgPool,
        codec: Codec,
        config: ProjectorConfig,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<Counters>>;
    /// Rebuilds it from the log and swaps it in.
    fn rebuild<'a>(
        &'a self,
        kafka: &'a KafkaSettings,
        pool: &'a PgPool,
        codec: &'a Codec,
        config: &'a ProjectorConfig,
        progress: Progress,
        shutdown: &'a CancellationToken,
    ) -> BoxFuture<'a, anyhow::Result<RebuildReport>>;
}

impl<M: ReadModel + Clone> Projection for M {
    fn name(&self) -> &'static str {
        ReadModel::name(self)
    }

    fn topics(&self) -> &'static [&'static str] {
        ReadModel::topics(self)
    }

    fn run(
        &self,
        kafka: KafkaSettings,
        pool: PgPool,
        codec: Codec,
        config: ProjectorConfig,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<Counters>> {
        let model = self.clone();
        Box::pin(async move { projector::run(&kafka, pool, codec, model, config, shutdown).await })
    }

    fn rebuild<'a>(
        &'a self,
        kafka: &'a KafkaSettings,
        pool: &'a PgPool,
        codec: &'a Codec,
        config: &'a ProjectorConfig,
        progress: Progress,
        shutdown: &'a CancellationToken,
    ) -> BoxFuture<'a, anyhow::Result<RebuildReport>> {
        Box::pin(rebuild::rebuild(kafka, pool, codec, self, config, progress, shutdown))
    }
}
