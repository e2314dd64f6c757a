//! Kafka clients as Clio configures them, topic creation from the catalogue, and reading one
//! partition from an offset to its end (how processors restore and projectors rebuild).

use std::time::Duration;

use futures::future::join_all;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::catalogue::{CleanupPolicy, Compression, Retention, TopicSpec};
use crate::settings::KafkaSettings;
use crate::{Error, Result};

/// How long a metadata or watermark request may take before it is an error.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(15);

/// Producer settings every Clio producer shares: idempotent (no duplicates from retries,
/// order kept per partition), acks from all replicas, the topic's compression, a short linger
/// for batching, and the Java client's murmur2 partitioner so that every client agrees where a
/// key lives.
pub fn producer_config(settings: &KafkaSettings, compression: Compression) -> Result<ClientConfig> {
    let mut config = client_config(settings)?;
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", compression.as_kafka())
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .set("message.timeout.ms", "60000");
    Ok(config)
}

/// What every client shares: the brokers, and the properties of the settings' file and
/// environment (TLS, SASL, ...). Clio's own settings are set after these, so theirs cannot
/// weaken them (and [`KafkaSettings::properties`] refuses the ones Clio keeps).
fn client_config(settings: &KafkaSettings) -> Result<ClientConfig> {
    let mut config = ClientConfig::new();
    for (name, value) in settings.properties()? {
        config.set(name, value);
    }
    config.set("bootstrap.servers", &settings.brokers);
    Ok(config)
}

/// A producer for topics of the default compression (see [`Compression`]).
pub fn producer(settings: &KafkaSettings) -> Result<FutureProducer> {
    producer_for(settings, Compression::default())
}

/// A producer for topics compressed with `compression`.
pub fn producer_for(settings: &KafkaSettings, compression: Compression) -> Result<FutureProducer> {
    Ok(producer_config(settings, compression)?.create()?)
}

/// One record to produce; `partition: None` lets the partitioner choose from the key.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: OwnedHeaders,
}

/// Produces every record and waits for all acknowledgements; returns their offsets, in the
/// order of `outgoing`. Fails if the broker refused any of them.
pub async fn send_all(producer: &FutureProducer, outgoing: Vec<Outgoing>) -> Result<Vec<i64>> {
    let mut deliveries = Vec::with_capacity(outgoing.len());
    for record in &outgoing {
        let mut future = FutureRecord::<[u8], [u8]>::to(&record.topic).headers(record.headers.clone());
        if let Some(partition) = record.partition {
            future = future.partition(partition);
        }
        if let Some(key) = &record.key {
            future = future.key(key.as_slice());
        }
        if let Some(payload) = &record.payload {
            future = future.payload(payload.as_slice());
        }
        match producer.send_result(future) {
            Ok(delivery) => deliveries.push(delivery),
            Err((error, _)) => return Err(error.into()),
        }
    }
    let mut offsets = Vec::with_capacity(deliveries.len());
    for result in join_all(deliveries).await {
        match result {
            Ok(Ok(delivery)) => offsets.push(delivery.offset),
            Ok(Err((error, _))) => return Err(error.into()),
            Err(_) => return Err(Error::Kafka(rdkafka::error::KafkaError::Canceled)),
        }
    }
    Ok(offsets)
}

/// Consumer settings: offsets are committed by hand after the work is durable.
pub fn consumer_config(settings: &KafkaSettings, group: &str) -> Result<ClientConfig> {
    let mut config = client_config(settings)?;
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", settings.session_timeout_ms.to_string())
        .set("heartbeat.interval.ms", (settings.session_timeout_ms / 4).max(250).to_string())
        .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string());
    Ok(config)
}

/// A consumer outside any group, for reading partitions by explicit assignment.
pub fn reader(settings: &KafkaSettings) -> Result<BaseConsumer> {
    let mut config = client_config(settings)?;
    config.set("group.id", "clio-reader").set("enable.auto.commit", "false").set("auto.offset.reset", "earliest");
    Ok(config.create()?)
}

/// What topic creation did for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExisted,
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn create_topics(settings: &KafkaSettings, topics: &[&TopicSpec]) -> Result<Vec<(String, TopicOutcome)>> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings)?.create()?;
    let min_insync = settings.min_insync_replicas.map(|n| n.to_string());
    let retentions: Vec<String> = topics.iter().map(|t| t.retention.as_kafka()).collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&retentions)
        .map(|(t, retention)| {
            let topic = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(settings.replication_factor))
                .set("cleanup.policy", t.cleanup_policy.as_kafka())
                .set("retention.ms", retention)
                // A broker that honours it recompresses what other producers send, so the
                // topic reads the same to every client whoever wrote it.
                .set("compression.type", t.compression.as_kafka());
            match &min_insync {
                Some(n) => topic.set("min.insync.replicas", n),
                None => topic,
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    let results = admin.create_topics(new_topics.iter(), &options).await?;
    let mut outcomes = Vec::new();
    for result in results {
        match result {
            Ok(name) => outcomes.push((name, TopicOutcome::Created)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => outcomes.push((name, TopicOutcome::AlreadyExisted)),
            Err((topic, code)) => return Err(Error::TopicCreation { topic, code }),
        }
    }
    let existing: Vec<&TopicSpec> = topics
        .iter()
        .copied()
        .filter(|t| outcomes.iter().any(|(name, outcome)| name == &t.name && *outcome == TopicOutcome::AlreadyExisted))
        .collect();
    check_existing(settings, &admin, &existing).await?;
    Ok(outcomes)
}

/// Refuses a topic that exists with another partition count than the catalogue's (its keys
/// would live on other partitions than the ones their history is on), another cleanup policy
/// (a compacted events topic loses history; a state topic that is not compacted grows without
/// end), or a shorter retention (records the platform replays would be deleted; a longer one
/// is the operator's choice).
async fn check_existing(
    settings: &KafkaSettings,
    admin: &AdminClient<DefaultClientContext>,
    topics: &[&TopicSpec],
) -> Result<()> {
    if topics.is_empty() {
        return Ok(());
    }
    let reader_settings = settings.clone();
    let counts = tokio::task::spawn_blocking(move || -> Result<Vec<(String, usize)>> {
        let metadata = reader(&reader_settings)?.fetch_metadata(None, METADATA_TIMEOUT)?;
        Ok(metadata.topics().iter().map(|t| (t.name().to_string(), t.partitions().len())).collect())
    })
    .await
    .map_err(|_| Error::Kafka(rdkafka::error::KafkaError::Canceled))??;
    let resources: Vec<ResourceSpecifier<'_>> = topics.iter().map(|t| ResourceSpecifier::Topic(&t.name)).collect();
    let options = AdminOptions::new().request_timeout(Some(METADATA_TIMEOUT));
    let configs = admin.describe_configs(resources.iter(), &options).await?;
    for (spec, config) in topics.iter().zip(configs) {
        let found = counts.iter().find(|(name, _)| name == &spec.name).map_or(0, |(_, n)| *n);
        if found != spec.partitions as usize {
            return Err(Error::TopicMismatch {
                topic: spec.name.clone(),
                difference: format!("it has {found} partitions, the catalogue says {}", spec.partitions),
            });
        }
        // A broker that does not describe the topic's configuration leaves it unchecked.
        let Ok(config) = config else { continue };
        let policy = config.get("cleanup.policy").and_then(|entry| entry.value.clone()).unwrap_or("delete".into());
        if !same_policy(&policy, spec.cleanup_policy.as_kafka()) {
            return Err(Error::TopicMismatch {
                topic: spec.name.clone(),
                difference: format!(
                    "its cleanup.policy is {policy}, the catalogue says {}",
                    spec.cleanup_policy.as_kafka()
                ),
            });
        }
        let retention =
            config.get("retention.ms").and_then(|entry| entry.value.as_deref()).and_then(Retention::from_kafka);
        // Retention deletes only on a topic that deletes; a compacted one keeps each key's last.
        if let Some(retention) = retention
            && spec.cleanup_policy == CleanupPolicy::Delete
            && !retention.covers(spec.retention)
        {
            return Err(Error::TopicMismatch {
                topic: spec.name.clone(),
                difference: format!(
                    "it keeps records for {retention} (retention.ms {}), the catalogue says {}",
                    retention.as_kafka(),
                    spec.retention
                ),
            });
        }
    }
    Ok(())
}

/// Whether two `cleanup.policy` values name the same policies, in any order.
fn same_policy(a: &str, b: &str) -> bool {
    let set = |text: &str| {
        let mut parts: Vec<String> = text.split(',').map(|p| p.trim().to_ascii_lowercase()).collect();
        parts.sort();
        parts
    };
    set(a) == set(b)
}

/// The number of partitions of a topic, from the broker's metadata.
pub fn partition_count(consumer: &BaseConsumer, topic: &str) -> Result<i32> {
    let metadata = consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
    let count = metadata.topics().iter().find(|t| t.name() == topic).map_or(0, |t| t.partitions().len());
    if count == 0 {
        return Err(Error::Kafka(rdkafka::error::KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition)));
    }
    Ok(count as i32)
}

/// Reads `topic`/`partition` from `from` up to the end it had when the call began, handing
/// each record to `each`. Blocking: call it from `spawn_blocking`. Returns the end offset.
pub fn read_partition(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    from: i64,
    each: impl FnMut(OwnedMessage),
) -> Result<i64> {
    let (_, high) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
    read_range(consumer, topic, partition, from, high, each)?;
    Ok(high)
}

/// Reads `topic`/`partition` from `from` up to (not including) `until`, handing each record
/// to `each`. Blocking: call it from `spawn_blocking`.
pub fn read_range(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    from: i64,
    until: i64,
    mut each: impl FnMut(OwnedMessage),
) -> Result<()> {
    let (low, _) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
    let start = from.max(low);
    if start >= until {
        return Ok(());
    }
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(start))?;
    consumer.assign(&assignment)?;
    let mut idle_polls = 0;
    loop {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                idle_polls = 0;
                let offset = message.offset();
                if offset >= until {
                    break;
                }
                each(message.detach());
                if offset + 1 >= until {
                    break;
                }
            }
            Some(Err(error)) => return Err(error.into()),
            None => {
                idle_polls += 1;
                // Records below the end can vanish (compaction, retention); re-check the end.
                if idle_polls % 20 == 0 {
                    let (low_now, _) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
                    if low_now >= until {
                        break;
                    }
                    if idle_polls > 240 {
                        return Err(Error::Kafka(rdkafka::error::KafkaError::PartitionEOF(partition)));
                    }
                }
            }
        }
    }
    consumer.unassign()?;
    Ok(())
}

/// The low and high watermarks of every partition of `topics`, by topic and partition.
/// Blocking: call it from `spawn_blocking`.
pub fn watermarks(
    consumer: &BaseConsumer,
    topics: &[String],
) -> Result<std::collections::BTreeMap<(String, i32), (i64, i64)>> {
    let mut marks = std::collections::BTreeMap::new();
    for topic in topics {
        for partition in 0..partition_count(consumer, topic)? {
            marks.insert((topic.clone(), partition), consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?);
        }
    }
    Ok(marks)
}
