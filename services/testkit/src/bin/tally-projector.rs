//! Runs the tally read model through the projection runtime. The projection crash test starts
//! this binary as a child process and kills it with SIGKILL at random moments.

use clap::Parser;
use clio_projection::projector::{self, ProjectorConfig};
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings};
use clio_testkit::tally_model::TallyModel;

#[derive(Parser, Debug)]
struct Settings {
    /// The read model's name (its Postgres schema).
    #[arg(long, env = "TALLY_PROJECTION")]
    name: String,
    /// The event topic to read.
    #[arg(long, env = "TALLY_EVENTS")]
    events: String,
    /// Where refused records go.
    #[arg(long, env = "TALLY_DEAD_LETTERS")]
    dead_letters: String,
    #[arg(long, env = "TALLY_MAX_BATCH", default_value_t = 200)]
    max_batch: usize,
    #[command(flatten)]
    kafka: KafkaSettings,
    #[command(flatten)]
    registry: RegistrySettings,
    #[command(flatten)]
    database: DatabaseSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clio_runtime::telemetry::init();
    let settings = Settings::parse();
    let mut config = ProjectorConfig::new(&settings.name, &[&settings.events]);
    config.dead_letters = settings.dead_letters;
    config.max_batch = settings.max_batch;
    let pool = sqlx::PgPool::connect(&settings.database.database_url).await?;
    let shutdown = clio_runtime::shutdown::on_signal();
    let codec = settings.registry.codec();
    projector::run(&settings.kafka, pool, codec, TallyModel, config, shutdown).await?;
    Ok(())
}
