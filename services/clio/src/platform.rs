//! `clio up` and `clio run <part>`: the parts of the platform as tasks under one shutdown
//! token. On SIGINT/SIGTERM every part finishes the work in flight (a processor its batch) and
//! stops; parts that do not stop within the grace period are abandoned.

use std::time::Duration;

use anyhow::Context as _;
use clio_ledger::Ledger;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::processor::{self, ProcessorConfig};
use clio_runtime::settings::KafkaSettings;
use clio_runtime::shutdown;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{Part, ProcessorSettings, UpSettings};
use crate::{projections, setup};

/// The domains whose processors this build runs; the runtime is generic over
/// `clio_aggregate::Aggregate`, and each domain adds one line to `spawn_processor`.
pub const DOMAINS: &[&str] = &["ledger"];

/// The read models of the plugged domains.
pub fn plugged_read_models() -> Vec<std::sync::Arc<dyn clio_projection::plugged::Projection>> {
    vec![std::sync::Arc::new(clio_ledger_projection::LedgerModel)]
}

/// Spawns the processor of `domain`.
fn spawn_processor(
    tasks: &mut JoinSet<(String, anyhow::Result<()>)>,
    domain: &str,
    catalogue: &Catalogue,
    kafka: &KafkaSettings,
    codec: &Codec,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let (kafka, codec, token) = (kafka.clone(), codec.clone(), shutdown.clone());
    let config = ProcessorConfig::for_domain(domain).compressed_as_in(catalogue);
    let name = format!("{domain} processor");
    match domain {
        "ledger" => {
            config.check_records::<Ledger>(catalogue).with_context(|| format!("the {domain} domain's records"))?;
            tasks.spawn(restarting(name, token.clone(), move || {
                let (kafka, codec, config, token) = (kafka.clone(), codec.clone(), config.clone(), token.clone());
                async move { processor::run::<Ledger>(&kafka, codec, config, token).await.map(|_| ()) }
            }));
        }
        other => anyhow::bail!("unknown domain {other:?}; this build runs: {}", DOMAINS.join(", ")),
    }
    Ok(())
}

/// Runs a part, and runs it again when it fails, after a pause that grows while it keeps
/// failing: a part that meets an error it cannot ride out itself (a broker that went away in
/// the middle of a restore, say) starts afresh, as a supervisor would restart it, instead of
/// taking the platform down. Returns when the part stops cleanly or shutdown comes.
pub(crate) async fn restarting<F, Fut>(
    part: String,
    shutdown: CancellationToken,
    mut start: F,
) -> (String, anyhow::Result<()>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut pause = Duration::from_secs(1);
    loop {
        let started = std::time::Instant::now();
        let error = match start().await {
            Ok(()) => return (part, Ok(())),
            Err(error) if shutdown.is_cancelled() => return (part, Err(error)),
            Err(error) => error,
        };
        if started.elapsed() > Duration::from_secs(120) {
            pause = Duration::from_secs(1);
        }
        tracing::error!(part, error = %format!("{error:#}"), ?pause, "a part failed; starting it again");
        tokio::select! {
            _ = shutdown.cancelled() => return (part, Ok(())),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

async fn bind(address: std::net::SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("{what} cannot listen on {address} (is another one running?)"))
}

/// Retries `step` for up to `patience`, for dependencies that may still be starting; gives up
/// at once when shutdown is requested.
async fn patiently<T, F, Fut>(
    what: &str,
    patience: Duration,
    shutdown: &CancellationToken,
    mut step: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => anyhow::bail!("stopped while waiting for {what}"),
            attempt = step() => attempt,
        };
        match attempt {
            Ok(value) => return Ok(value),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::info!(error = %format!("{error:#}"), "waiting for {what}");
                tokio::select! {
                    _ = shutdown.cancelled() => anyhow::bail!("stopped while waiting for {what}"),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(error) => {
                return Err(error).with_context(|| format!("{what} did not become available within {patience:?}"));
            }
        }
    }
}

/// Waits for shutdown, then gives the tasks the grace period to finish.
async fn supervise(
    mut tasks: JoinSet<(String, anyhow::Result<()>)>,
    token: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let mut failure = None;
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok((part, Ok(())))) => tracing::info!(part, "stopped"),
                Some(Ok((part, Err(error)))) => {
                    tracing::error!(part, error = %format!("{error:#}"), "a part failed; stopping the others");
                    failure = Some(error.context(format!("{part} failed")));
                    token.cancel();
                }
                Some(Err(error)) => {
                    failure = Some(anyhow::anyhow!("a part panicked: {error}"));
                    token.cancel();
                }
            }
        }
    }
    let drained = tokio::time::timeout(grace, async {
        while let Some(joined) = tasks.join_next().await {
            if let Ok((part, Err(error))) = joined {
                tracing::warn!(part, error = %format!("{error:#}"), "stopped with an error");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(?grace, "some parts did not stop within the grace period; abandoning them");
        tasks.abort_all();
    }
    failure.map_or(Ok(()), Err)
}

/// `clio up`: the whole platform in this process.
pub async fn up(settings: UpSettings) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let started = std::time::Instant::now();
    let catalogue = setup::catalogue(&settings.schemas)?;
    let pool = patiently("Postgres", Duration::from_secs(30), &token, || {
        setup::connect_creating(&settings.database.database_url)
    })
    .await?;
    clio_registry::migrate(&pool).await.context("migrating the registry tables")?;
    patiently("the broker", Duration::from_secs(60), &token, || setup::create_topics(&settings.kafka, &catalogue))
        .await?;

    let mut tasks = JoinSet::new();
    let registry_listener = bind(settings.registry_addr, "the schema registry").await?;
    let registry_url = format!("http://{}", settings.registry_addr);
    {
        let (pool, token) = (pool.clone(), token.clone());
        tasks.spawn(async move {
            ("registry".to_string(), clio_registry::serve(registry_listener, pool, token).await.map_err(Into::into))
        });
    }
    let registered =
        setup::register_schemas(&registry_url, &catalogue).await.context("registering the catalogue's schemas")?;

    let gateway_listener = bind(settings.http_addr, "the HTTP gateway").await?;
    {
        let codec = Codec::new(&registry_url);
        let mut gateway = clio_gateway::Gateway::new(pool.clone(), settings.kafka.clone(), catalogue.clone(), codec)?;
        gateway.docs_dir = settings.docs.dir();
        let token = token.clone();
        tasks.spawn(async move {
            ("gateway".to_string(), clio_gateway::serve(gateway_listener, gateway, token).await.map_err(Into::into))
        });
    }
    let codec = Codec::new(&registry_url);
    for domain in DOMAINS {
        spawn_processor(&mut tasks, domain, &catalogue, &settings.kafka, &codec, &token)?;
    }
    for model in projections::read_models() {
        projections::spawn(&mut tasks, model.name(), &settings.kafka, &pool, &codec, &token)?;
    }
    {
        let interval = Duration::from_secs(settings.ledger_scan_interval_seconds.max(1));
        let (pool, codec, kafka, token) = (pool.clone(), codec.clone(), settings.kafka.clone(), token.clone());
        tasks.spawn(restarting("ledger scanner".to_string(), token.clone(), move || {
            let (pool, codec, kafka, token) = (pool.clone(), codec.clone(), kafka.clone(), token.clone());
            async move {
                let producer = clio_runtime::kafka::producer(&kafka).context("creating the scanner's producer")?;
                clio_ledger_plug::scan::run(pool, producer, codec, interval, token).await
            }
        }));
    }

    if settings.demo {
        let demo = settings.demo_data.demo();
        let (pool, codec, kafka, token, rate) =
            (pool.clone(), codec.clone(), settings.kafka.clone(), token.clone(), settings.demo_rate);
        tasks.spawn(restarting("demo".to_string(), token.clone(), move || {
            let (pool, codec, kafka, token, demo) =
                (pool.clone(), codec.clone(), kafka.clone(), token.clone(), demo.clone());
            async move {
                let producer = clio_runtime::kafka::producer(&kafka).context("creating the demo's producer")?;
                run_demo(pool, producer, codec, demo, rate, token).await
            }
        }));
    }

    println!("Clio is up ({:.1} s).", started.elapsed().as_secs_f64());
    println!("  broker           {}", settings.kafka.brokers);
    println!("  postgres         {}", setup::redact(&settings.database.database_url));
    println!("  schema registry  {registry_url}  ({} subjects registered)", registered.len());
    println!(
        "  HTTP gateway     http://{}  (POST /v1/topics/{{topic}}/records, /docs/, /openapi.json, /ready)",
        settings.http_addr
    );
    println!("  topics           {} from {}", catalogue.topics.len(), catalogue.dir.join("catalogue.toml").display());
    println!("  processors       {}", DOMAINS.join(", "));
    println!(
        "  ledger clock     a scan every {} s (clio ledger scan runs one now)",
        settings.ledger_scan_interval_seconds
    );
    println!(
        "  read models      {}  (Postgres schemas; clio projections status)",
        projections::read_models().iter().map(|model| model.name()).collect::<Vec<_>>().join(", ")
    );
    if settings.demo {
        println!(
            "  demo             debtor {} with {} holders; {} transfers/s between them (CLIO_DEMO=0 turns it off)",
            settings.demo_data.debtor_id, settings.demo_data.accounts, settings.demo_rate
        );
    }
    println!("Press Ctrl-C to stop.");
    supervise(tasks, token, Duration::from_secs(settings.shutdown_grace_seconds)).await
}

/// Seeds the demo debtor (trying again while the rest of the platform starts), then keeps
/// making transfers until shutdown.
async fn run_demo(
    pool: sqlx::PgPool,
    producer: rdkafka::producer::FutureProducer,
    codec: Codec,
    demo: clio_ledger_plug::demo::Demo,
    rate: f64,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let target = clio_ledger_plug::scan::LedgerTarget::default();
    let ledger =
        clio_ledger_plug::demo::LedgerClient { pool: &pool, target: &target, producer: &producer, codec: &codec };
    loop {
        match clio_ledger_plug::demo::seed(&ledger, &demo, false).await {
            Ok(report) => {
                tracing::info!(configured = report.configured, issued = report.issued, "demo data seeded");
                break;
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "seeding the demo data; trying again"),
        }
        tokio::select! {
            _ = token.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
    clio_ledger_plug::demo::stream(&ledger, &demo, rate, token).await
}

/// `clio run <part>`: one part alone.
pub async fn run(part: Part) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let mut tasks = JoinSet::new();
    match part {
        Part::Registry(settings) => {
            let pool = setup::connect_creating(&settings.database.database_url).await?;
            clio_registry::migrate(&pool).await.context("migrating the registry tables")?;
            let listener = bind(settings.registry_addr, "the schema registry").await?;
            let token = token.clone();
            tasks.spawn(async move {
                ("registry".to_string(), clio_registry::serve(listener, pool, token).await.map_err(Into::into))
            });
        }
        Part::Gateway(settings) => {
            let pool = setup::connect_creating(&settings.database.database_url).await?;
            let catalogue = setup::catalogue(&settings.schemas)?;
            let codec = Codec::new(&settings.registry.registry_url);
            let listener = bind(settings.http_addr, "the HTTP gateway").await?;
            let mut gateway = clio_gateway::Gateway::new(pool, settings.kafka.clone(), catalogue, codec)?;
            gateway.docs_dir = settings.docs.dir();
            let token = token.clone();
            tasks.spawn(async move {
                ("gateway".to_string(), clio_gateway::serve(listener, gateway, token).await.map_err(Into::into))
            });
        }
        Part::Processor(ProcessorSettings { domain, schemas, kafka, registry }) => {
            let codec = Codec::new(&registry.registry_url);
            let catalogue = setup::catalogue(&schemas)?;
            spawn_processor(&mut tasks, &domain, &catalogue, &kafka, &codec, &token)?;
        }
        Part::Projector { name, settings } => {
            let pool = setup::connect_creating(&settings.database.database_url).await?;
            let codec = Codec::new(&settings.registry.registry_url);
            projections::spawn(&mut tasks, &name, &settings.kafka, &pool, &codec, &token)?;
        }
    }
    supervise(tasks, token, Duration::from_secs(10)).await
}
