//! Runs the tally conformance domain through the generic processor. The runtime's crash test
//! starts this binary as a child process and kills it with SIGKILL at random moments.

use clap::Parser;
use clio_runtime::processor::{ProcessorConfig, ProcessorTopics};
use clio_runtime::settings::{KafkaSettings, RegistrySettings};
use clio_testkit::tally::Tally;

#[derive(Parser, Debug)]
struct Settings {
    /// Topic prefix: `<prefix>.commands`, `.events`, `.state`, `.dead-letters`.
    #[arg(long, env = "TALLY_PREFIX")]
    prefix: String,
    #[arg(long, env = "TALLY_MAX_BATCH", default_value_t = 50)]
    max_batch: usize,
    #[command(flatten)]
    kafka: KafkaSettings,
    #[command(flatten)]
    registry: RegistrySettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clio_runtime::telemetry::init();
    let settings = Settings::parse();
    let prefix = &settings.prefix;
    let config = ProcessorConfig {
        topics: ProcessorTopics {
            commands: format!("{prefix}.commands"),
            events: format!("{prefix}.events"),
            state: format!("{prefix}.state"),
            dead_letters: format!("{prefix}.dead-letters"),
        },
        group_id: format!("{prefix}-processor"),
        max_batch: settings.max_batch,
        linger: std::time::Duration::from_millis(5),
        // A checkpoint after every batch: the crash test kills it in the middle of one.
        snapshot_interval: std::time::Duration::ZERO,
        ..ProcessorConfig::for_domain("tally")
    };
    let shutdown = clio_runtime::shutdown::on_signal();
    let codec = settings.registry.codec();
    clio_runtime::processor::run::<Tally>(&settings.kafka, codec, config, shutdown).await?;
    Ok(())
}
