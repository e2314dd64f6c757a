//! Settings shared by every Clio process, read from environment variables with defaults.
//! Each process composes these into its own settings struct with `#[command(flatten)]`.

use std::path::PathBuf;

/// Where the Kafka-protocol brokers are.
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap brokers, comma separated.
    #[arg(long = "brokers", env = "CLIO_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// Consumer group session timeout; a crashed member's partitions move after this long.
    #[arg(long, env = "CLIO_SESSION_TIMEOUT_MS", default_value_t = 10_000)]
    pub session_timeout_ms: u32,
    /// How long the broker may hold a fetch that found nothing new before it answers empty
    /// (librdkafka's default is 500 ms). Shorter keeps a quiet topic's latency down, at the
    /// cost of more fetch requests.
    #[arg(long, env = "CLIO_FETCH_WAIT_MAX_MS", default_value_t = 50)]
    pub fetch_wait_max_ms: u32,
}

impl KafkaSettings {
    /// The defaults, for `brokers`.
    pub fn for_brokers(brokers: impl Into<String>) -> Self {
        Self { brokers: brokers.into(), session_timeout_ms: 10_000, fetch_wait_max_ms: 50 }
    }
}

/// Where the Confluent-compatible schema registry is.
#[derive(clap::Args, Debug, Clone)]
pub struct RegistrySettings {
    #[arg(long = "registry-url", env = "CLIO_REGISTRY_URL", default_value = "http://127.0.0.1:8081")]
    pub registry_url: String,
}

/// Where Postgres is (read models, projection offsets, the embedded registry).
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseSettings {
    #[arg(long = "database-url", env = "CLIO_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/clio")]
    pub database_url: String,
}

/// Where the topic catalogue and .avsc files are.
#[derive(clap::Args, Debug, Clone)]
pub struct SchemaSettings {
    /// Directory holding catalogue.toml and the .avsc files (default: ./schemas, else the
    /// schemas/ of the source tree this binary was built from).
    #[arg(long = "schemas-dir", env = "CLIO_SCHEMAS_DIR")]
    pub schemas_dir: Option<PathBuf>,
}

impl SchemaSettings {
    pub fn dir(&self) -> PathBuf {
        if let Some(dir) = &self.schemas_dir {
            return dir.clone();
        }
        let local = PathBuf::from("schemas");
        if local.join("catalogue.toml").is_file() {
            return local;
        }
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas"))
    }
}
