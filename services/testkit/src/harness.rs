//! Real components for tests: one nisshi broker shared by every test process of a run
//! (started on first use through infra/broker.sh, under a file lock), the test database, and a schema registry
//! served in-process on an ephemeral port.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clio_runtime::settings::KafkaSettings;
use rdkafka::consumer::Consumer;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The broker address tests use: `CLIO_TEST_BROKERS`, else a broker of our own on 19092.
pub fn test_brokers() -> String {
    std::env::var("CLIO_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".to_string())
}

/// The test database URL: `CLIO_TEST_DATABASE_URL`, else `clio_test` on the local server.
pub fn test_database_url() -> String {
    std::env::var("CLIO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/clio_test".to_string())
}

/// Where test runs keep their broker's pid, lock and log.
pub fn state_dir() -> PathBuf {
    std::env::var_os("CLIO_TEST_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.data/test")))
}

fn reachable(address: &str) -> bool {
    address
        .split(',')
        .next()
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
}

pub use clio_runtime::database::connect_creating;

/// Makes sure a broker answers at [`test_brokers`], starting one (nisshi, Postgres storage in
/// database `clio_testbroker`) when none does. Safe to call from many processes at once.
pub async fn ensure_broker() -> anyhow::Result<String> {
    let brokers = test_brokers();
    if reachable(&brokers) {
        return Ok(brokers);
    }
    if std::env::var_os("CLIO_TEST_BROKERS").is_some() {
        bail!("CLIO_TEST_BROKERS={brokers} does not answer");
    }
    let dir = state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock = std::fs::File::create(dir.join("broker.lock"))?;
    let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock)).await??;
    if !reachable(&brokers) {
        // The same script `make test` uses, so there is one way a test broker starts.
        let port = brokers.rsplit(':').next().unwrap_or("19092").to_string();
        let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/broker.sh"));
        let status = tokio::process::Command::new("bash")
            .arg(&script)
            .args(["start", "testbroker", &port])
            .env("CLIO_GROUP_INITIAL_DELAY", "100ms")
            .stdin(Stdio::null())
            .status()
            .await
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!("{} start testbroker {port} failed", script.display());
        }
    }
    drop(lock);
    Ok(brokers)
}

/// Everything one test needs: a broker, a registry, the database, and unique names.
pub struct TestEnv {
    pub kafka: KafkaSettings,
    pub registry_url: String,
    pub pool: PgPool,
    shutdown: CancellationToken,
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestEnv {
    pub async fn start() -> anyhow::Result<Self> {
        clio_runtime::telemetry::init();
        let brokers = ensure_broker().await?;
        let pool = connect_creating(&test_database_url()).await?;
        // Many test processes migrate at once; one at a time keeps sqlx's bookkeeping sane.
        let mut lock = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock(4242)").execute(&mut *lock).await?;
        let migrated = clio_registry::migrate(&pool).await;
        sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut *lock).await?;
        drop(lock);
        migrated?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let registry_url = format!("http://{}", listener.local_addr()?);
        let shutdown = CancellationToken::new();
        tokio::spawn(clio_registry::serve(
            listener,
            pool.clone(),
            Arc::new(clio_keys::Keyring::open()),
            shutdown.clone(),
        ));
        let kafka = KafkaSettings { session_timeout_ms: 6_000, ..KafkaSettings::for_brokers(brokers.clone()) };
        let env = Self { kafka, registry_url, pool, shutdown };
        env.wait_for_broker().await?;
        Ok(env)
    }

    async fn wait_for_broker(&self) -> anyhow::Result<()> {
        let settings = self.kafka.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let reader = clio_runtime::kafka::reader(&settings)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match reader.fetch_metadata(None, Duration::from_secs(5)) {
                    Ok(_) => return Ok(()),
                    Err(error) if Instant::now() > deadline => return Err(error.into()),
                    Err(_) => std::thread::sleep(Duration::from_millis(300)),
                }
            }
        })
        .await?
    }

    /// A name no other test (in this run or an earlier one) uses.
    pub fn unique(&self, name: &str) -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        format!("t{}-{:x}-{name}", std::process::id(), nanos % 0xffff_ffff)
    }

    /// Creates topics with `partitions` partitions each.
    pub async fn create_topics(&self, names: &[&str], partitions: i32) -> anyhow::Result<()> {
        let specs: Vec<clio_runtime::catalogue::TopicSpec> = names
            .iter()
            .map(|name| clio_runtime::catalogue::TopicSpec {
                name: (*name).to_string(),
                description: String::new(),
                partitions,
                cleanup_policy: if name.ends_with(".state") {
                    clio_runtime::catalogue::CleanupPolicy::Compact
                } else {
                    clio_runtime::catalogue::CleanupPolicy::Delete
                },
                retention: clio_runtime::catalogue::Retention::Forever,
                compression: clio_runtime::catalogue::Compression::default(),
                key: String::new(),
                format: clio_runtime::catalogue::ValueFormat::Raw,
                values: Vec::new(),
                producers: Vec::new(),
                consumers: Vec::new(),
            })
            .collect();
        let refs: Vec<_> = specs.iter().collect();
        clio_runtime::kafka::create_topics(&self.kafka, &refs).await?;
        Ok(())
    }

    /// Registers a schema under a subject and returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> anyhow::Result<i64> {
        let response = reqwest::Client::new()
            .post(format!("{}/subjects/{subject}/versions", self.registry_url))
            .json(&serde_json::json!({"schema": schema}))
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() {
            bail!("registering {subject}: {status} {body}");
        }
        body["id"].as_i64().context("no id in the registry's answer")
    }

    /// Creates `domain`'s topics under `prefix` (`<prefix>.commands|events|state` and its own
    /// dead-letter topic), each with `partitions` partitions, and registers its schemas from the
    /// catalogue in `schemas`; returns the processor's topics.
    pub async fn provision(
        &self,
        domain: &dyn clio_plug::Domain,
        schemas: &std::path::Path,
        prefix: &str,
        partitions: i32,
    ) -> anyhow::Result<clio_runtime::processor::ProcessorTopics> {
        let home = clio_plug::Home::prefixed(domain.name(), prefix);
        let mut catalogue = clio_runtime::catalogue::Catalogue::load(schemas)?;
        for topic in &mut catalogue.topics {
            topic.partitions = partitions;
        }
        clio_plug::provision::provision(&self.kafka, &self.registry_url, &catalogue, &home).await?;
        Ok(home.processor_config().topics)
    }

    /// The tally's topics under `prefix` (see [`TestEnv::provision`]).
    pub async fn tally_topics(
        &self,
        prefix: &str,
        partitions: i32,
    ) -> anyhow::Result<clio_runtime::processor::ProcessorTopics> {
        self.provision(&crate::tally_plug::TallyPlug::default(), &crate::tally_plug::schemas_dir(), prefix, partitions)
            .await
    }
}
