//! The topic catalogue: the platform's `schemas/catalogue.toml` and each domain's
//! `schemas/<domain>/catalogue.toml` list every topic with its partitions, key, value records,
//! cleanup policy, producers and consumers, beside the Avro schemas (.avsc) that are the
//! source of truth for every record. Topic creation, schema
//! registration and the AsyncAPI document are all derived from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use serde::Deserialize;

use crate::{Error, Result};

/// How a topic's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// Confluent-framed Avro, one of the topic's `values` records.
    Avro,
    /// Processor state snapshots (an internal cache, JSON); safe to delete.
    Snapshot,
    /// The bytes of another record, unchanged (dead letters).
    Raw,
}

/// Kafka's cleanup policy for a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    Delete,
    Compact,
}

impl CleanupPolicy {
    pub fn as_kafka(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Compact => "compact",
        }
    }
}

/// How long a topic keeps its records (Kafka's `retention.ms`). `forever` unless the catalogue
/// says otherwise: an events topic is the truth every read model is rebuilt from, and Apache
/// Kafka's default (7 days) would delete it. In the catalogue: `retention = "forever"`, or a
/// number with a unit, `30d`, `12h`, `90m`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Retention {
    #[default]
    Forever,
    Milliseconds(i64),
}

impl Retention {
    /// The value of `retention.ms`.
    pub fn as_kafka(self) -> String {
        match self {
            Self::Forever => "-1".into(),
            Self::Milliseconds(ms) => ms.to_string(),
        }
    }

    /// From a `retention.ms` value as a broker describes it.
    pub fn from_kafka(value: &str) -> Option<Self> {
        match value.trim().parse::<i64>().ok()? {
            ms if ms < 0 => Some(Self::Forever),
            ms => Some(Self::Milliseconds(ms)),
        }
    }

    /// Whether a topic keeping its records this long keeps them at least as long as `wanted`.
    pub fn covers(self, wanted: Self) -> bool {
        match (self, wanted) {
            (Self::Forever, _) => true,
            (Self::Milliseconds(_), Self::Forever) => false,
            (Self::Milliseconds(have), Self::Milliseconds(want)) => have >= want,
        }
    }
}

impl TryFrom<String> for Retention {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<Self, Self::Error> {
        if text == "forever" {
            return Ok(Self::Forever);
        }
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit_ms = match unit {
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1_000,
            "ms" => 1,
            _ => return Err(format!("retention {text:?}: write forever, or a number with d, h, m, s or ms")),
        };
        let number: i64 = number.parse().map_err(|_| format!("retention {text:?}: no number before the unit"))?;
        number.checked_mul(unit_ms).map(Self::Milliseconds).ok_or_else(|| format!("retention {text:?} is too long"))
    }
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Forever => write!(f, "forever"),
            Self::Milliseconds(ms) if ms % 86_400_000 == 0 => write!(f, "{}d", ms / 86_400_000),
            Self::Milliseconds(ms) => write!(f, "{ms} ms"),
        }
    }
}

/// The compression a topic's records are produced with. Every mainstream Kafka client reads
/// `none` and `gzip` with nothing extra installed; kafkajs (Node.js) reads no other codec
/// without a plug-in, so topics integrators read use one of those two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The name librdkafka's `compression.type` and Kafka's topic config use.
    pub fn as_kafka(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// Whether every mainstream client (Java, librdkafka-based, kafkajs, franz-go, sarama)
    /// reads it without an extra package.
    pub fn universally_readable(self) -> bool {
        matches!(self, Self::None | Self::Gzip)
    }
}

/// One topic of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    pub description: String,
    pub partitions: i32,
    pub cleanup_policy: CleanupPolicy,
    /// How long it keeps its records (default forever).
    #[serde(default)]
    pub retention: Retention,
    /// How its records are compressed (default none, which every client reads).
    #[serde(default)]
    pub compression: Compression,
    /// What the record key is, in words an integrator can follow.
    pub key: String,
    pub format: ValueFormat,
    /// Full Avro names of the records the topic carries (for `format = "avro"`).
    #[serde(default)]
    pub values: Vec<String>,
    pub producers: Vec<String>,
    pub consumers: Vec<String>,
}

impl TopicSpec {
    /// The registry subject of one of this topic's records (TopicRecordNameStrategy).
    pub fn subject(&self, record: &str) -> String {
        subject(&self.name, record)
    }
}

/// The registry subject for a record on a topic: `<topic>-<full.record.Name>`.
pub fn subject(topic: &str, record: &str) -> String {
    format!("{topic}-{record}")
}

/// An Avro schema as written in its .avsc file.
#[derive(Debug, Clone)]
pub struct SchemaFile {
    pub path: PathBuf,
    /// The file's text, registered as it is so that docs reach the registry.
    pub text: String,
    pub schema: Schema,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(rename = "topic", default)]
    topics: Vec<TopicSpec>,
}

/// The whole catalogue: topics and the schemas of their records, by full name.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub dir: PathBuf,
    pub topics: Vec<TopicSpec>,
    pub schemas: BTreeMap<String, SchemaFile>,
}

impl Catalogue {
    /// Reads each domain's `dir/<domain>/catalogue.toml` (in the order of the directories'
    /// names), then the platform's own `dir/catalogue.toml`, and every `.avsc` below `dir`,
    /// and checks that they agree.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        for entry in entries {
            let path = entry.map_err(|source| Error::Io { path: dir.display().to_string(), source })?.path();
            if path.join("catalogue.toml").is_file() {
                files.push(path.join("catalogue.toml"));
            }
        }
        files.sort();
        files.push(dir.join("catalogue.toml"));
        let mut topics = Vec::new();
        for path in files {
            let text = read(&path)?;
            let file: CatalogueFile =
                toml::from_str(&text).map_err(|e| Error::Catalogue(format!("{}: {e}", path.display())))?;
            topics.extend(file.topics);
        }
        let mut schemas = BTreeMap::new();
        for path in avsc_files(dir)? {
            let text = read(&path)?;
            let schema = Schema::parse_str(&text)
                .map_err(|e| Error::Catalogue(format!("{}: not a valid Avro schema: {e}", path.display())))?;
            let name = schema
                .name()
                .map(|n| n.fullname(None))
                .ok_or_else(|| Error::Catalogue(format!("{}: the top level must be a named record", path.display())))?;
            if let Some(previous) = schemas.insert(name.clone(), SchemaFile { path: path.clone(), text, schema }) {
                return Err(Error::Catalogue(format!(
                    "{name} is defined twice: {} and {}",
                    previous.path.display(),
                    path.display()
                )));
            }
        }
        let catalogue = Self { dir: dir.to_path_buf(), topics, schemas };
        catalogue.check()?;
        Ok(catalogue)
    }

    fn check(&self) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for topic in &self.topics {
            if !seen.insert(&topic.name) {
                return Err(Error::Catalogue(format!("topic {} is listed twice", topic.name)));
            }
            if topic.partitions < 1 {
                return Err(Error::Catalogue(format!("topic {} needs at least one partition", topic.name)));
            }
            if topic.format != ValueFormat::Snapshot && !topic.compression.universally_readable() {
                return Err(Error::Catalogue(format!(
                    "topic {} is read by integrators and operators, but {} is not a codec every client reads; use none or gzip",
                    topic.name,
                    topic.compression.as_kafka()
                )));
            }
            if topic.format == ValueFormat::Avro && topic.values.is_empty() {
                return Err(Error::Catalogue(format!("Avro topic {} lists no value records", topic.name)));
            }
            for record in &topic.values {
                if !self.schemas.contains_key(record) {
                    return Err(Error::Catalogue(format!(
                        "topic {} carries {record}, but no .avsc under {} defines it",
                        topic.name,
                        self.dir.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks that `topic` carries exactly `records` (a domain's record set): a record the
    /// domain writes that the catalogue does not list would have no registered schema, and one
    /// the catalogue lists that the domain does not know would be a dead letter.
    pub fn check_records(&self, topic: &str, records: &[&str]) -> Result<()> {
        let spec = self.topic(topic).ok_or_else(|| {
            Error::Catalogue(format!("topic {topic} is not in the catalogue ({})", self.dir.display()))
        })?;
        let listed: std::collections::BTreeSet<&str> = spec.values.iter().map(String::as_str).collect();
        let known: std::collections::BTreeSet<&str> = records.iter().copied().collect();
        let missing: Vec<&str> = known.difference(&listed).copied().collect();
        let unknown: Vec<&str> = listed.difference(&known).copied().collect();
        if missing.is_empty() && unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Catalogue(format!(
            "topic {topic}: the catalogue does not list {missing:?}, which the domain writes, and lists {unknown:?}, which the domain does not know"
        )))
    }

    /// Registers every subject with the registry at `registry_url` (safe to repeat; a changed
    /// schema must pass the subject's compatibility level); returns each subject's schema id.
    /// `api_key`: sent as `Authorization: Bearer`, for a registry whose writes need one.
    pub async fn register_all(&self, registry_url: &str, api_key: Option<&str>) -> Result<Vec<(String, i64)>> {
        // Credentials in the URL (`http://user:secret@host`) are sent as basic auth, never shown.
        let (registry_url, credentials) = crate::codec::split_credentials(registry_url);
        let registry_url = registry_url.as_str();
        let failed = |reason: String| Error::Registry { url: registry_url.to_string(), reason };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let mut registered = Vec::new();
        for (subject, schema) in self.subjects() {
            let url = format!("{}/subjects/{subject}/versions", registry_url.trim_end_matches('/'));
            let mut request = client.post(&url);
            if let Some(key) = api_key {
                request = request.bearer_auth(key);
            } else if let Some((user, secret)) = &credentials {
                request = request.basic_auth(user, secret.as_ref());
            }
            let response = request
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .json(&serde_json::json!({"schema": schema.text}))
                .send()
                .await
                .map_err(|e| failed(format!("registering {subject}: {e}")))?;
            let status = response.status();
            let body: serde_json::Value =
                response.json().await.map_err(|e| failed(format!("reading the answer for {subject}: {e}")))?;
            if !status.is_success() {
                let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("no message");
                return Err(failed(format!("refused {subject} ({}): {message}", schema.path.display())));
            }
            registered.push((subject, body.get("id").and_then(serde_json::Value::as_i64).unwrap_or_default()));
        }
        Ok(registered)
    }

    /// The compression of `topic`; a topic the catalogue does not list gets the default.
    pub fn compression(&self, topic: &str) -> Compression {
        self.topic(topic).map_or_else(Compression::default, |t| t.compression)
    }

    pub fn topic(&self, name: &str) -> Option<&TopicSpec> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Every (subject, schema) pair the registry must hold.
    pub fn subjects(&self) -> impl Iterator<Item = (String, &SchemaFile)> {
        self.topics.iter().flat_map(move |topic| {
            topic.values.iter().map(move |record| (topic.subject(record), &self.schemas[record]))
        })
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

fn avsc_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        for entry in entries {
            let path = entry.map_err(|source| Error::Io { path: dir.display().to_string(), source })?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "avsc") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_reads_as_forever_or_a_number_with_a_unit() {
        let read = |text: &str| Retention::try_from(text.to_string());
        assert_eq!(read("forever"), Ok(Retention::Forever));
        assert_eq!(read("30d"), Ok(Retention::Milliseconds(2_592_000_000)));
        assert_eq!(read("12h").map(Retention::as_kafka), Ok("43200000".to_string()));
        assert_eq!(read("500ms"), Ok(Retention::Milliseconds(500)));
        assert!(read("7 days").unwrap_err().contains("d, h, m, s or ms"));
        assert!(read("d").unwrap_err().contains("no number"));
        assert!(read("99999999999999999d").unwrap_err().contains("too long"));
        assert_eq!(Retention::from_kafka("-1"), Some(Retention::Forever));
        assert_eq!(Retention::from_kafka("604800000").map(|r| r.to_string()), Some("7d".to_string()));
        assert!(Retention::Forever.covers(Retention::Milliseconds(1)));
        assert!(!Retention::Milliseconds(604_800_000).covers(Retention::Forever));
        assert!(Retention::Milliseconds(2).covers(Retention::Milliseconds(1)));
    }

    fn catalogue(values: &[&str]) -> Catalogue {
        let text = format!(
            "[[topic]]\nname = \"d.commands\"\ndescription = \"\"\npartitions = 1\ncleanup_policy = \"delete\"\nkey = \"\"\nformat = \"raw\"\nvalues = {values:?}\nproducers = []\nconsumers = []\n"
        );
        let file: CatalogueFile = toml::from_str(&text).expect("toml");
        Catalogue { dir: PathBuf::from("test"), topics: file.topics, schemas: BTreeMap::new() }
    }

    #[test]
    fn a_topic_must_list_exactly_the_domains_records() {
        assert!(catalogue(&["d.A", "d.B"]).check_records("d.commands", &["d.B", "d.A"]).is_ok());
        let missing = catalogue(&["d.A"]).check_records("d.commands", &["d.A", "d.B"]).expect_err("refused");
        assert!(missing.to_string().contains("does not list [\"d.B\"]"), "{missing}");
        let unknown = catalogue(&["d.A", "d.C"]).check_records("d.commands", &["d.A"]).expect_err("refused");
        assert!(unknown.to_string().contains("lists [\"d.C\"]"), "{unknown}");
        assert!(catalogue(&[]).check_records("elsewhere", &[]).is_err(), "a topic the catalogue lacks");
    }

    #[test]
    fn each_domains_catalogue_comes_before_the_platforms_own() {
        let dir = std::env::temp_dir().join(format!("clio-catalogue-{}", std::process::id()));
        let topic = |name: &str| {
            format!(
                "[[topic]]\nname = \"{name}\"\ndescription = \"\"\npartitions = 1\ncleanup_policy = \"delete\"\nkey = \"\"\nformat = \"raw\"\nproducers = []\nconsumers = []\n"
            )
        };
        for (sub, name) in [("b", "b.events"), ("a", "a.events")] {
            std::fs::create_dir_all(dir.join(sub)).expect("dir");
            std::fs::write(dir.join(sub).join("catalogue.toml"), topic(name)).expect("written");
        }
        std::fs::create_dir_all(dir.join("c-no-catalogue")).expect("dir");
        std::fs::write(dir.join("catalogue.toml"), topic("platform.dead-letters")).expect("written");
        let loaded = Catalogue::load(&dir).expect("loaded");
        let names: Vec<&str> = loaded.topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a.events", "b.events", "platform.dead-letters"]);
        std::fs::write(dir.join("a").join("catalogue.toml"), topic("platform.dead-letters")).expect("written");
        let twice = Catalogue::load(&dir).expect_err("a topic in two files");
        assert!(twice.to_string().contains("listed twice"), "{twice}");
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
