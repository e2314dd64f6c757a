//! `clio up` and `clio run <part>`: the parts of the platform as tasks under one shutdown
//! token. On SIGINT/SIGTERM every part finishes the work in flight (a processor its batch) and
//! stops; parts that do not stop within the grace period are abandoned.

use std::time::Duration;

use std::sync::Arc;

use anyhow::Context as _;
use clio_keys::Keyring;
use clio_plug::{Domain, Resources, Worker};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use clio_runtime::shutdown;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{Part, ProcessorSettings, UpSettings, WorkerSettings};
use crate::{projections, setup};

/// Spawns the processor of `domain`, after checking that the catalogue's topics carry its
/// records.
fn spawn_processor(
    tasks: &mut JoinSet<(String, anyhow::Result<()>)>,
    domain: &Arc<dyn Domain>,
    catalogue: &Catalogue,
    kafka: &KafkaSettings,
    codec: &Codec,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    domain.check_records(catalogue).with_context(|| format!("the {} domain's records", domain.name()))?;
    let config = domain.home().processor_config().compressed_as_in(catalogue);
    let (domain, kafka, codec, token) = (domain.clone(), kafka.clone(), codec.clone(), shutdown.clone());
    tasks.spawn(restarting(format!("{} processor", domain.name()), token.clone(), move || {
        let run = domain.processor(kafka.clone(), codec.clone(), config.clone(), token.clone());
        async move { run.await.map(|_| ()) }
    }));
    Ok(())
}

/// The gateway with every domain's routes.
fn gateway(
    resources: &Resources,
    catalogue: Catalogue,
    docs: &crate::cli::DocsSettings,
    keys: Arc<Keyring>,
    request_timeout_seconds: u64,
    domains: &[Arc<dyn Domain>],
) -> anyhow::Result<clio_gateway::Gateway> {
    let dead_letters =
        clio_dead_letters::DeadLetters::new(resources.pool.clone(), resources.kafka.clone(), resources.codec.clone())?;
    let sources = crate::metrics::sources(&resources.kafka, &resources.pool, &dead_letters, domains, resources);
    let panels = crate::console::panels(&catalogue, &dead_letters, domains, resources);
    let routes = clio_dead_letters::routes::routes(dead_letters).merge(clio_plug::routes_of(domains, resources));
    let Resources { pool, kafka, codec, .. } = resources.clone();
    let mut gateway = clio_gateway::Gateway::new(pool, kafka, catalogue, codec)?.with_routes(routes).with_keys(keys);
    gateway.docs_dir = docs.dir();
    gateway.metrics = Arc::new(sources);
    gateway.console = Arc::new(panels);
    gateway.request_timeout = Duration::from_secs(request_timeout_seconds.max(1));
    Ok(gateway)
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
            // Waiting cannot mend a topic that differs from the catalogue.
            Err(error)
                if error
                    .chain()
                    .any(|e| matches!(e.downcast_ref(), Some(clio_runtime::Error::TopicMismatch { .. }))) =>
            {
                return Err(error);
            }
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
pub async fn up(settings: UpSettings, matches: &clap::ArgMatches, domains: &[Arc<dyn Domain>]) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let started = std::time::Instant::now();
    // A bad properties file is a mistake to say at once, not an outage to wait out.
    settings.kafka.properties().context("the Kafka client properties")?;
    let catalogue = setup::catalogue(&settings.schemas)?;
    let pool = patiently("Postgres", Duration::from_secs(30), &token, || settings.database.connect()).await?;
    clio_registry::migrate(&pool).await.context("migrating the registry tables")?;
    // Before anything listens: without keys, only a loopback platform may start.
    let own_key = clio_keys::secret::generate();
    let keyring = Arc::new(
        crate::keys::keyring(&settings.keys, &pool, &[settings.http_addr, settings.registry_addr])
            .await?
            .with_process_key("clio-up", &own_key, vec![clio_keys::Scope::registry_write()]),
    );
    patiently("the broker", Duration::from_secs(60), &token, || setup::create_topics(&settings.kafka, &catalogue))
        .await?;

    let mut tasks = JoinSet::new();
    let registry_listener = bind(settings.registry_addr, "the schema registry").await?;
    let registry_url = format!("http://{}", settings.registry_addr);
    {
        let (pool, token, keys) = (pool.clone(), token.clone(), keyring.clone());
        tasks.spawn(async move {
            (
                "registry".to_string(),
                clio_registry::serve(registry_listener, pool, keys, token).await.map_err(Into::into),
            )
        });
    }
    let registered = setup::register_schemas(&registry_url, Some(&own_key), &catalogue)
        .await
        .context("registering the catalogue's schemas")?;

    let sandbox_address = if settings.sandbox_addr.is_empty() {
        None
    } else {
        let address: std::net::SocketAddr =
            settings.sandbox_addr.parse().with_context(|| format!("--sandbox-addr {:?}", settings.sandbox_addr))?;
        let sandbox = settings.sandbox_kept.sandbox()?;
        let listener = bind(address, "the sandbox").await?;
        let token = token.clone();
        tasks.spawn(async move {
            ("sandbox".to_string(), clio_sandbox::serve_sandbox(listener, sandbox, token).await.map_err(Into::into))
        });
        Some(address)
    };
    let gateway_listener = bind(settings.http_addr, "the HTTP gateway").await?;
    {
        let codec = Codec::new(&registry_url);
        let resources = Resources { pool: pool.clone(), kafka: settings.kafka.clone(), codec, shutdown: token.clone() };
        let gateway = gateway(
            &resources,
            catalogue.clone(),
            &settings.docs,
            keyring.clone(),
            settings.request_timeout_seconds,
            domains,
        )?;
        let token = token.clone();
        tasks.spawn(async move {
            ("gateway".to_string(), clio_gateway::serve(gateway_listener, gateway, token).await.map_err(Into::into))
        });
    }
    let codec = Codec::new(&registry_url);
    let resources =
        Resources { pool: pool.clone(), kafka: settings.kafka.clone(), codec: codec.clone(), shutdown: token.clone() };
    for (config, model) in projections::read_models(domains) {
        projections::spawn(&mut tasks, config, model, &settings.kafka, &pool, &codec, &token);
    }
    let mut summaries = Vec::new();
    for domain in domains {
        spawn_processor(&mut tasks, domain, &catalogue, &settings.kafka, &codec, &token)?;
        let workers = domain
            .workers(matches, &resources, settings.demo)
            .with_context(|| format!("the {} domain's workers", domain.name()))?;
        for Worker { name, summary, start } in workers {
            summaries.push((name.clone(), summary));
            tasks.spawn(restarting(name, token.clone(), start));
        }
    }

    println!("Clio is up ({:.1} s).", started.elapsed().as_secs_f64());
    println!("  broker           {}", settings.kafka.brokers);
    if let Ok(properties) = settings.kafka.redacted_properties().map_err(|e| e.to_string())
        && !properties.is_empty()
    {
        let listed: Vec<String> = properties.iter().map(|(name, value)| format!("{name}={value}")).collect();
        println!("  kafka properties {}", listed.join(" "));
    }
    println!("  postgres         {}", setup::redact(&settings.database.database_url));
    println!("  schema registry  {registry_url}  ({} subjects registered)", registered.len());
    println!(
        "  HTTP gateway     http://{}  (POST /v1/topics/{{topic}}/records, /docs/, /openapi.json, /ready)",
        settings.http_addr
    );
    println!("  API keys         {}", crate::keys::summary(&keyring).await);
    println!("  topics           {} from {}", catalogue.topics.len(), catalogue.dir.display());
    if let Some(address) = sandbox_address {
        println!(
            "  sandbox          http://{address}  (a loyalty scheme at /schemes/{{scheme}}/join, any endpoint at /echo/...)"
        );
    }
    println!("  processors       {}", domains.iter().map(|domain| domain.name()).collect::<Vec<_>>().join(", "));
    println!(
        "  read models      {}  (Postgres schemas; clio projections status)",
        projections::read_models(domains).iter().map(|(config, _)| config.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    for (name, summary) in summaries {
        println!("  {name:<16} {summary}");
    }
    println!("Press Ctrl-C to stop.");
    supervise(tasks, token, Duration::from_secs(settings.shutdown_grace_seconds)).await
}

/// `clio run <part>`: one part alone.
pub async fn run(
    part: Part,
    metrics_addr: Option<std::net::SocketAddr>,
    matches: &clap::ArgMatches,
    domains: &[Arc<dyn Domain>],
) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let mut tasks = JoinSet::new();
    if let Some(address) = metrics_addr {
        let listener = bind(address, "the metrics endpoint").await?;
        let token = token.clone();
        tasks.spawn(async move {
            let served = clio_gateway::metrics::serve_process_metrics(listener, token).await;
            ("metrics".to_string(), served.map_err(Into::into))
        });
    }
    match part {
        Part::Registry(settings) => {
            let pool = settings.database.connect().await?;
            clio_registry::migrate(&pool).await.context("migrating the registry tables")?;
            let keys = Arc::new(crate::keys::keyring(&settings.keys, &pool, &[settings.registry_addr]).await?);
            println!("API keys: {}", crate::keys::summary(&keys).await);
            let listener = bind(settings.registry_addr, "the schema registry").await?;
            let token = token.clone();
            tasks.spawn(async move {
                ("registry".to_string(), clio_registry::serve(listener, pool, keys, token).await.map_err(Into::into))
            });
        }
        Part::Gateway(settings) => {
            let pool = settings.database.connect().await?;
            let catalogue = setup::catalogue(&settings.schemas)?;
            let codec = settings.registry.codec();
            let keys = Arc::new(crate::keys::keyring(&settings.keys, &pool, &[settings.http_addr]).await?);
            println!("API keys: {}", crate::keys::summary(&keys).await);
            let listener = bind(settings.http_addr, "the HTTP gateway").await?;
            let resources = Resources { pool, kafka: settings.kafka.clone(), codec, shutdown: token.clone() };
            let gateway =
                gateway(&resources, catalogue, &settings.docs, keys, settings.request_timeout_seconds, domains)?;
            let token = token.clone();
            tasks.spawn(async move {
                ("gateway".to_string(), clio_gateway::serve(listener, gateway, token).await.map_err(Into::into))
            });
        }
        Part::Processor(ProcessorSettings { domain, schemas, kafka, registry }) => {
            let codec = registry.codec();
            let catalogue = setup::catalogue(&schemas)?;
            let domain = clio_plug::find(domains, &domain)?;
            spawn_processor(&mut tasks, domain, &catalogue, &kafka, &codec, &token)?;
        }
        Part::Worker(WorkerSettings { domain, kafka, registry, database }) => {
            let domain = clio_plug::find(domains, &domain)?;
            let pool = database.connect().await?;
            let codec = registry.codec();
            let resources = Resources { pool, kafka, codec, shutdown: token.clone() };
            let workers = domain.workers(matches, &resources, false)?;
            if workers.is_empty() {
                anyhow::bail!("the {} domain has no workers", domain.name());
            }
            for Worker { name, start, .. } in workers {
                tasks.spawn(restarting(name, token.clone(), start));
            }
        }
        Part::Sandbox { sandbox_addr, kept } => {
            let sandbox = kept.sandbox()?;
            let listener = bind(sandbox_addr, "the sandbox").await?;
            let token = token.clone();
            tasks.spawn(async move {
                ("sandbox".to_string(), clio_sandbox::serve_sandbox(listener, sandbox, token).await.map_err(Into::into))
            });
        }
        Part::Projector { name, settings } => {
            let pool = settings.database.connect().await?;
            let codec = settings.registry.codec();
            let (config, model) = projections::find(domains, &name)?;
            projections::spawn(&mut tasks, config, model, &settings.kafka, &pool, &codec, &token);
        }
    }
    supervise(tasks, token, Duration::from_secs(10)).await
}
