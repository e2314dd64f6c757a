//! The read models: the platform's own (`platform`: dead letters) and the plugged domains',
//! and the `projections` commands.

use std::io::IsTerminal as _;
use std::sync::Arc;

use clio_plug::Domain;
use clio_projection::plugged::Projection;
use clio_projection::projector::ProjectorConfig;
use clio_projection::rebuild::Progress;
use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::ProjectionSettings;

/// Every read model, with its projector's settings: the platform's, then each plugged domain's
/// at its domain's home.
pub fn read_models(domains: &[Arc<dyn Domain>]) -> Vec<(ProjectorConfig, Arc<dyn Projection>)> {
    let platform: Arc<dyn Projection> = Arc::new(clio_platform_projection::DeadLetterModel);
    let mut all = vec![(platform.config(), platform)];
    for domain in domains {
        for model in domain.read_models() {
            all.push((domain.home().projector_config(model.as_ref()), model));
        }
    }
    all
}

/// The read model called `name`, or an error naming those there are.
pub fn find(domains: &[Arc<dyn Domain>], name: &str) -> anyhow::Result<(ProjectorConfig, Arc<dyn Projection>)> {
    let all = read_models(domains);
    let names: Vec<String> = all.iter().map(|(config, _)| config.name.clone()).collect();
    match names.iter().position(|known| known == name) {
        Some(index) => Ok(all[index].clone()),
        None => anyhow::bail!("unknown read model {name:?}; this build has: {}", names.join(", ")),
    }
}

/// Spawns the projector of `model`.
pub fn spawn(
    tasks: &mut JoinSet<(String, anyhow::Result<()>)>,
    config: ProjectorConfig,
    model: Arc<dyn Projection>,
    kafka: &KafkaSettings,
    pool: &PgPool,
    codec: &Codec,
    shutdown: &CancellationToken,
) {
    let (kafka, pool, codec, token) = (kafka.clone(), pool.clone(), codec.clone(), shutdown.clone());
    let part = format!("{} projector", config.name);
    tasks.spawn(crate::platform::restarting(part, token.clone(), move || {
        let run = model.run(kafka.clone(), pool.clone(), codec.clone(), config.clone(), token.clone());
        async move { run.await.map(|_| ()) }
    }));
}

/// `clio projections status`.
pub async fn status(settings: &ProjectionSettings, domains: &[Arc<dyn Domain>]) -> anyhow::Result<()> {
    let pool = settings.database.connect().await?;
    let known: Vec<(String, Vec<String>)> =
        read_models(domains).into_iter().map(|(config, _)| (config.name, config.topics)).collect();
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
pub async fn rebuild(name: &str, settings: &ProjectionSettings, domains: &[Arc<dyn Domain>]) -> anyhow::Result<()> {
    let (config, model) = find(domains, name)?;
    let pool = settings.database.connect().await?;
    let codec = settings.registry.codec();
    let shutdown = clio_runtime::shutdown::on_signal();
    let progress = if std::io::stderr().is_terminal() { Progress::Bar } else { Progress::Hidden };
    let report = model.rebuild(&settings.kafka, &pool, &codec, &config, progress, &shutdown).await?;
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
