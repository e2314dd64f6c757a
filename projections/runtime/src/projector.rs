//! The projector: a consumer group for one read model.
//!
//! Each batch is applied in one Postgres transaction that checks and advances the stored
//! offsets ([`crate::batch`]). The offsets Kafka holds for the group are only a hint (they are
//! committed after each transaction so that lag tools work); the loop reads its position from
//! Postgres: when a batch was read from elsewhere (a new assignment, another instance, a
//! rebuild swapped in), nothing is written and the partition is re-read from the stored
//! offset.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use clio_aggregate::RecordSet as _;
use clio_runtime::assignments::TrackingContext;
use clio_runtime::codec::Codec;
use clio_runtime::dead_letter;
use clio_runtime::kafka;
use clio_runtime::outage::{self, Outage};
use clio_runtime::settings::KafkaSettings;
use clio_runtime::telemetry;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::applier::{Applier, Settled};
use crate::batch::{Target, TopicPartition};
use crate::{ReadModel, schema};

/// How one projector runs.
#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    /// The read model's name: its Postgres schema and its key in `clio.projection_offsets`.
    pub name: String,
    /// The event topics it reads.
    pub topics: Vec<String>,
    pub group_id: String,
    pub dead_letters: String,
    /// Most records applied in one transaction.
    pub max_batch: usize,
    /// How long to wait for more records before a batch is closed.
    pub linger: Duration,
}

impl ProjectorConfig {
    pub fn new(name: &str, topics: &[&str]) -> Self {
        Self {
            name: name.to_string(),
            topics: topics.iter().map(|t| (*t).to_string()).collect(),
            group_id: format!("clio-projection-{name}"),
            dead_letters: dead_letter::TOPIC.to_string(),
            max_batch: 2_000,
            // Records arrive in fetch-sized bursts, so a batch is full once the burst is read;
            // waiting 20 ms instead put command → read model at p50 154–165 ms against 131–143
            // (`clio-bench --only ledger`, same machine, back to back).
            linger: Duration::from_millis(5),
        }
    }
}

/// What a projector did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub batches: u64,
    pub events: u64,
    /// Events whose id was applied already.
    pub duplicates: u64,
    pub dead_letters: u64,
    /// Batches dropped because the stored offsets were elsewhere.
    pub repositioned: u64,
}

/// Prepares the read model's schema (platform tables, migrations). `run` calls it; a caller
/// that wants the tables before any event arrives can call it first.
pub async fn prepare<M: ReadModel>(pool: &PgPool, model: &M, name: &str) -> crate::Result<()> {
    schema::validate_name(name)?;
    schema::migrate_platform(pool).await?;
    // Left by a rebuild that stopped between its swap and the drop.
    schema::drop_schema(pool, &schema::retired_schema(name)).await?;
    schema::prepare(pool, name, model.migrations()).await
}

/// Runs the projector until `shutdown` is cancelled; the batch in flight is finished first.
pub async fn run<M: ReadModel>(
    kafka_settings: &KafkaSettings,
    pool: PgPool,
    codec: Codec,
    model: M,
    config: ProjectorConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Counters> {
    prepare(&pool, &model, &config.name).await.with_context(|| format!("preparing read model {}", config.name))?;
    let context = TrackingContext::default();
    let assignments = context.assignments.clone();
    let consumer: StreamConsumer<TrackingContext> = kafka::consumer_config(kafka_settings, &config.group_id)
        .context("the event consumer's settings")?
        .create_with_context(context)
        .context("creating the event consumer")?;
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).context("subscribing to the event topics")?;
    let producer = kafka::producer(kafka_settings).context("creating the dead-letter producer")?;
    info!(projection = %config.name, topics = ?config.topics, group = %config.group_id, "projector started");

    let mut applier = Applier {
        pool,
        model: &model,
        target: Target { offsets_key: config.name.clone(), schema: config.name.clone() },
        producer,
        consumer_name: config.group_id.clone(),
        dead_letters: config.dead_letters.clone(),
        counters: Counters::default(),
    };
    // Per partition: the assignment generation and the offset stored for it.
    let mut positions: HashMap<TopicPartition, (u64, i64)> = HashMap::new();
    let mut broker = Outage::default();
    'batches: loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let first = match first {
            Ok(message) => message.detach(),
            Err(error) => {
                if broker.failed("receiving events", &error.to_string(), outage::CONSUMER_PAUSE, &shutdown).await {
                    continue;
                }
                break;
            }
        };
        broker.recovered("receiving events");
        let mut messages = vec![first];
        while messages.len() < config.max_batch {
            match tokio::time::timeout(config.linger, consumer.recv()).await {
                Ok(Ok(message)) => messages.push(message.detach()),
                Ok(Err(error)) => {
                    warn!(%error, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }

        let mut expected = HashMap::new();
        let mut generations = HashMap::new();
        let mut kept = Vec::with_capacity(messages.len());
        for message in &messages {
            let tp = (message.topic().to_string(), message.partition());
            let Some(generation) = assignments.generation(&tp.0, tp.1) else {
                debug!(topic = %tp.0, partition = tp.1, "partition no longer assigned; leaving the record to its new owner");
                continue;
            };
            match positions.get(&tp) {
                Some(&(known_generation, next)) if known_generation == generation => {
                    if message.offset() < next {
                        continue; // fetched before a seek; the stored offset is past it
                    }
                    expected.insert(tp.clone(), next);
                }
                _ => {
                    positions.remove(&tp);
                }
            }
            generations.insert(tp, generation);
            kept.push(message);
        }
        let Some((batch, dead)) = applier.decode(&codec, kept, &shutdown).await else {
            break 'batches;
        };
        if batch.is_empty() {
            continue;
        }
        // One span per event that carries a trace, open until its batch commits: the read
        // model's end of the trace that began with the request.
        let traced: Vec<tracing::Span> = batch
            .envelopes
            .iter()
            .filter(|e| e.traceparent.is_some() && telemetry::exporting())
            .map(|e| {
                let span = info_span!("project event", projection = %config.name, topic = %e.topic,
                                      partition = e.partition, offset = e.offset, event = e.event.record_name());
                telemetry::continue_trace(&span, e.traceparent.as_deref());
                span
            })
            .collect();
        let span = info_span!("projection batch", projection = %config.name, records = messages.len(),
                              partitions = ?batch.ranges.keys().collect::<Vec<_>>());
        let Some(outcome) = applier.settle(batch, expected, dead, &messages, &shutdown).instrument(span).await else {
            break;
        };
        match outcome {
            Settled::Applied(ranges) => {
                drop(traced);
                let mut list = TopicPartitionList::new();
                for (tp, range) in &ranges {
                    positions.insert(tp.clone(), (generations[tp], range.next));
                    let _ = list.add_partition_offset(&tp.0, tp.1, Offset::Offset(range.next));
                }
                if let Err(error) = consumer.commit(&list, CommitMode::Async) {
                    debug!(%error, "committing the hint offsets to Kafka failed");
                }
            }
            Settled::Moved(stored) => {
                applier.counters.repositioned += 1;
                for (tp, offset) in stored {
                    info!(topic = %tp.0, partition = tp.1, offset, "re-reading from the stored offset");
                    let seek = tokio::task::block_in_place(|| {
                        consumer.seek(&tp.0, tp.1, Offset::Offset(offset), Duration::from_secs(10))
                    });
                    if let Err(error) = seek {
                        warn!(%error, topic = %tp.0, partition = tp.1, "seek failed; the next rebalance repositions");
                        positions.remove(&tp);
                    } else if let Some(&generation) = generations.get(&tp) {
                        positions.insert(tp, (generation, offset));
                    }
                }
            }
        }
    }
    info!(projection = %config.name, counters = ?applier.counters, "projector stopped");
    Ok(applier.counters)
}
