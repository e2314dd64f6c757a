//! The retry worker alone, under a topic prefix of a test's own. The worker's crash test starts
//! this binary as a child process and kills it with SIGKILL at random moments (`clio run worker
//! retry` is the same worker under the domain's own names).

use clap::Parser;
use clio_plug::Home;
use clio_retry_plug::RetryPlug;
use clio_retry_plug::handlers::Handlers;
use clio_runtime::settings::{KafkaSettings, RegistrySettings};

#[derive(Parser, Debug)]
struct Settings {
    /// The retry domain's prefix: topics `<prefix>.commands`, `<prefix>.events`.
    #[arg(long, env = "RETRY_PREFIX")]
    prefix: String,
    #[arg(long, env = "CLIO_RETRY_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    #[arg(long, env = "CLIO_RETRY_SCHEME_URL")]
    scheme_url: String,
    #[arg(long, env = "CLIO_RETRY_CALLBACK_BASE")]
    callback_base: String,
    #[command(flatten)]
    kafka: KafkaSettings,
    #[command(flatten)]
    registry: RegistrySettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clio_runtime::telemetry::init();
    let settings = Settings::parse();
    let plug = RetryPlug::living_at(Home::prefixed("retry", &settings.prefix));
    let codec = settings.registry.codec();
    let client = plug.client(&settings.kafka, &codec)?;
    let config = plug.worker_config(settings.concurrency, &settings.callback_base);
    let shutdown = clio_runtime::shutdown::on_signal();
    clio_retry_plug::worker::run(&settings.kafka, config, client, Handlers::new(&settings.scheme_url), shutdown).await
}
