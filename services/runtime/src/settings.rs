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
    /// A librdkafka properties file (`name=value` lines, `#` comments) for every producer,
    /// consumer and admin client: `security.protocol`, `sasl.*`, `ssl.*` and any other client
    /// property. Environment variables `CLIO_KAFKA_<NAME>` add to it and win
    /// (`CLIO_KAFKA_SASL_PASSWORD` sets `sasl.password`).
    #[arg(long = "kafka-properties", env = "CLIO_KAFKA_PROPERTIES_FILE")]
    pub properties_file: Option<PathBuf>,
    /// Replicas of each topic Clio creates: 1 on the embedded broker, 3 on a cluster.
    #[arg(long = "topic-replication-factor", env = "CLIO_TOPIC_REPLICATION_FACTOR", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub replication_factor: i32,
    /// `min.insync.replicas` of each topic Clio creates: how many replicas hold a record before
    /// the broker acknowledges it (Clio's producers ask every in-sync replica). Unset: the
    /// broker's default.
    #[arg(long = "topic-min-insync-replicas", env = "CLIO_TOPIC_MIN_INSYNC_REPLICAS",
          value_parser = clap::value_parser!(i32).range(1..))]
    pub min_insync_replicas: Option<i32>,
}

impl KafkaSettings {
    /// The defaults, for `brokers`.
    pub fn for_brokers(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            session_timeout_ms: 10_000,
            fetch_wait_max_ms: 50,
            properties_file: None,
            replication_factor: 1,
            min_insync_replicas: None,
        }
    }

    /// The client properties the file and the environment give, the environment's last.
    pub fn properties(&self) -> Result<Vec<(String, String)>, crate::Error> {
        let mut properties = Vec::new();
        if let Some(path) = &self.properties_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| crate::Error::Io { path: path.display().to_string(), source })?;
            properties.extend(
                parse_properties(&text)
                    .map_err(|reason| crate::Error::Settings(format!("{}: {reason}", path.display())))?,
            );
        }
        properties.extend(properties_from_env(std::env::vars()));
        for (name, _) in &properties {
            if let Some(why) = owned_by_clio(name) {
                return Err(crate::Error::Settings(format!("the Kafka property {name} cannot be set: {why}")));
            }
        }
        Ok(properties)
    }

    /// The client properties with every secret's value replaced by `***`, for printing.
    pub fn redacted_properties(&self) -> Result<Vec<(String, String)>, crate::Error> {
        Ok(self
            .properties()?
            .into_iter()
            .map(|(name, value)| if is_secret(&name) { (name, "***".to_string()) } else { (name, value) })
            .collect())
    }
}

/// `name=value` lines (Java's .properties as Kafka tools write them: `#` and `!` comments,
/// `=` or `:` between name and value, blank lines).
fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut properties = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            return Err(format!("line {} is not name=value", index + 1));
        };
        let (name, value) = (line[..split].trim(), line[split + 1..].trim());
        if name.is_empty() {
            return Err(format!("line {} names no property", index + 1));
        }
        properties.push((name.to_string(), value.to_string()));
    }
    Ok(properties)
}

/// `CLIO_KAFKA_SASL_USERNAME=x` as `sasl.username=x`.
fn properties_from_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut properties: Vec<(String, String)> = vars
        .filter(|(name, _)| name != "CLIO_KAFKA_PROPERTIES_FILE")
        .filter_map(|(name, value)| {
            let property = name.strip_prefix("CLIO_KAFKA_")?.to_ascii_lowercase().replace('_', ".");
            Some((property, value))
        })
        .collect();
    properties.sort();
    properties
}

/// Why Clio keeps a property to itself: its delivery guarantees or its layout depend on it.
fn owned_by_clio(name: &str) -> Option<&'static str> {
    match name {
        "bootstrap.servers" | "metadata.broker.list" => Some("name the brokers with CLIO_BROKERS"),
        "enable.idempotence" | "acks" => Some("the log's order and no duplicates depend on it"),
        "partitioner" => Some("every client must place a key where Clio's processors look for it"),
        "group.id" => Some("each part names its own consumer group"),
        "enable.auto.commit" | "enable.auto.offset.store" => Some("offsets are stored only after the work is durable"),
        "transactional.id" => Some("Clio's delivery does not use transactions (docs/delivery.md)"),
        _ => None,
    }
}

fn is_secret(name: &str) -> bool {
    ["password", "secret", "jaas", "token", "key.pem", "keystore", "credentials"].iter().any(|word| name.contains(word))
}

/// Where the Confluent-compatible schema registry is, and how Clio's clients sign in to it:
/// credentials in the URL (`https://user:secret@host`, sent as basic auth) or a bearer token.
#[derive(clap::Args, Clone)]
pub struct RegistrySettings {
    #[arg(long = "registry-url", env = "CLIO_REGISTRY_URL", default_value = "http://127.0.0.1:8081")]
    pub registry_url: String,
    /// A bearer token for a registry that wants one (Confluent's `bearer.auth.token`: a managed
    /// registry's token, or a Clio API key); sent on every registry call, instead of the URL's
    /// credentials.
    #[arg(long = "registry-token", env = "CLIO_REGISTRY_TOKEN", hide_env_values = true)]
    pub registry_token: Option<String>,
}

impl RegistrySettings {
    /// The codec for this registry, signed in as these settings say.
    pub fn codec(&self) -> crate::codec::Codec {
        crate::codec::Codec::with_bearer(&self.registry_url, self.registry_token.as_deref())
    }
}

/// The URL without its secret, and the token as `***`.
impl std::fmt::Debug for RegistrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySettings")
            .field("registry_url", &crate::database::redact(&self.registry_url))
            .field("registry_token", &self.registry_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Where Postgres is (read models, projection offsets, the embedded registry), and how many
/// connections each of a process's pools opens at most.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseSettings {
    #[arg(long = "database-url", env = "CLIO_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/clio")]
    pub database_url: String,
    /// Each pool's most connections: a process with every part (`clio up`) opens a few pools, so
    /// size the server's `max_connections` for the parts times this.
    #[arg(long = "database-max-connections", env = "CLIO_DATABASE_MAX_CONNECTIONS",
          default_value_t = crate::database::DEFAULT_MAX_CONNECTIONS)]
    pub database_max_connections: u32,
}

impl DatabaseSettings {
    /// A pool on the database (created first if the server has none of that name).
    pub async fn connect(&self) -> anyhow::Result<sqlx::PgPool> {
        crate::database::connect_pool(&self.database_url, self.database_max_connections).await
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_properties_file_reads_as_kafka_tools_write_it() {
        let text = "# TLS and SASL\nsecurity.protocol=SASL_SSL\n\n! another comment\nsasl.mechanism : PLAIN\nssl.ca.location = /etc/ca.pem\n";
        let properties = parse_properties(text).expect("reads");
        assert_eq!(
            properties,
            vec![
                ("security.protocol".to_string(), "SASL_SSL".to_string()),
                ("sasl.mechanism".to_string(), "PLAIN".to_string()),
                ("ssl.ca.location".to_string(), "/etc/ca.pem".to_string()),
            ]
        );
        assert_eq!(parse_properties("just words").expect_err("refused"), "line 1 is not name=value");
    }

    #[test]
    fn environment_variables_name_properties() {
        let vars = [
            ("CLIO_KAFKA_SASL_PASSWORD", "s3cret"),
            ("CLIO_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("CLIO_KAFKA_PROPERTIES_FILE", "/etc/clio/kafka.properties"),
            ("CLIO_BROKERS", "b:9092"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(
            properties_from_env(vars.into_iter()),
            vec![
                ("sasl.password".to_string(), "s3cret".to_string()),
                ("security.protocol".to_string(), "SASL_SSL".to_string()),
            ]
        );
    }

    #[test]
    fn clio_keeps_its_guarantees_and_secrets_are_not_printed() {
        let dir = std::env::temp_dir().join(format!("clio-kafka-properties-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let file = dir.join("kafka.properties");
        let settings = KafkaSettings { properties_file: Some(file.clone()), ..KafkaSettings::for_brokers("b:9092") };
        std::fs::write(&file, "sasl.username=clio\nsasl.password=hunter2\nssl.key.password=k\n").expect("written");
        let printed = settings.redacted_properties().expect("reads");
        assert!(printed.contains(&("sasl.username".to_string(), "clio".to_string())), "{printed:?}");
        assert!(printed.contains(&("sasl.password".to_string(), "***".to_string())), "{printed:?}");
        assert!(printed.contains(&("ssl.key.password".to_string(), "***".to_string())), "{printed:?}");
        std::fs::write(&file, "enable.idempotence=false\n").expect("written");
        let refused = settings.properties().expect_err("refused").to_string();
        assert!(refused.contains("enable.idempotence") && refused.contains("order"), "{refused}");
        let missing = KafkaSettings { properties_file: Some(dir.join("none")), ..settings.clone() };
        assert!(missing.properties().expect_err("refused").to_string().contains("none"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
