//! The read models this build runs, and the `projections` commands.

use std::io::IsTerminal as _;
use std::sync::Arc;

use clio_projection::plugged::{Projection, find};
use clio_projection::rebuild::Progress;
use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::ProjectionSettings;
use crate::setup;

/// Every read model of the plugged domains.
pub fn read_models() -> Vec<Arc<dyn Projection>> {
    crate::platform::plugged_read_models()
}

/// Spawns the projector of read model `name`.
pub fn spawn(
    tasks: &mut JoinSet<(String, anyhow::Result<()>)>,
    name: &str,
    kafka: &KafkaSettings,
    pool: &PgPool,
    codec: &Codec,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let all = read_models();
    let model = find(&all, name)?.clone();
    let config = model.config();
    let (kafka, pool, codec, token) = (kafka.clone(), pool.clone(), codec.clone(), shutdown.clone());
    let part = format!("{name} projector");
    tasks.spawn(crate::platform::restarting(part, token.clone(), move || {
        let run = model.run(kafka.clone(), pool.clone(), codec.clone(), config.clone(), token.clone());
        async move { run.await.map(|_| ()) }
    }));
    Ok(())
}

/// `clio projections status`.
pub async fn status(settings: &ProjectionSettings) -> anyhow::Result<()> {
    let pool = setup::connect_creating(&settings.database.database_url).await?;
    let known: Vec<(String, Vec<String>)> = read_models()
        .iter()
        .map(|model| (model.name().to_string(), model.topics().iter().map(|t| t.to_string()).collect()))
        .collect();
    let rows = clio_projection::status::status(&settings.kafka, &pool, &known).await?;
    println!("{:<20} {:<24} {:>9} {:>12} {:>12} {:>10}", "projection", "topic", "partition", "stored", "end", "lag");
    for row in rows {
        let stored = row.next_offset.map_or_else(|| "-".to_string(), |n| n.to_string());
        println!(
            "{:<20} {:<24} {:>9} {:>12} {:>12} {:>10}",
            row.projection, row.topic, row.partition, stored, row.end_offset, row.lag
        );
    }
    Ok(())
}

/// `clio projections rebuild <name>`.
pub async fn rebuild(name: &str, settings: &ProjectionSettings) -> anyhow::Result<()> {
    let all = read_models();
    let model = find(&all, name)?;
    let pool = setup::connect_creating(&settings.database.database_url).await?;
    let codec = Codec::new(&settings.registry.registry_url);
    let shutdown = clio_runtime::shutdown::on_signal();
    let progress = if std::io::stderr().is_terminal() { Progress::Bar } else { Progress::Hidden };
    let report = model.rebuild(&settings.kafka, &pool, &codec, &model.config(), progress, &shutdown).await?;
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "rebuilt {name}: {} records ({} events applied, {} duplicates, {} dead letters) in {seconds:.1} s, {:.0} records/s; swapped in",
        report.records,
        report.counters.events,
        report.counters.duplicates,
        report.counters.dead_letters,
        report.records as f64 / seconds.max(1e-9),
    );
    Ok(())
}
