use clap::Parser as _;
use clio_chaos::settings::ChaosSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The clients' complaints while the broker is killed are the point of the run, not news.
    let directives = std::env::var("RUST_LOG").ok().filter(|d| !d.is_empty());
    let filter = directives.as_deref().unwrap_or("warn,rdkafka=off,librdkafka=off,sqlx=error");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    let settings = ChaosSettings::parse();
    if !clio_chaos::run(&settings).await? {
        anyhow::bail!("a check failed: see {}", settings.report.display());
    }
    Ok(())
}
