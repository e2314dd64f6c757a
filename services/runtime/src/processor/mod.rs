//! The generic processor: runs any [`Aggregate`] against its three topics.
//!
//! One batch goes through these steps, in this order:
//! 1. decode every command (a record that cannot be decoded becomes a dead letter);
//! 2. for each command, in offset order: restore its partition if this instance does not hold
//!    it yet, skip it if its outcome is already on the log, forward it if it sits on the wrong
//!    partition, else `decide` and `apply` on a copy of the entity's state;
//! 3. produce commands for other entities and for other domains, forwards and dead letters,
//!    and wait for the acks;
//! 4. produce the events (each with a deterministic id, its cause, its index and the outcome's
//!    size), and wait for the acks;
//! 5. commit the consumed offsets;
//! 6. once every `snapshot_interval` (and on a clean stop), between batches: produce
//!    snapshots of the entities changed since the last time and a checkpoint per partition to
//!    `<domain>.state`, and wait for the acks (`checkpoint.rs`).
//!
//! Between batches, and at least once a second, partitions assigned since are restored
//! (`restore.rs`) and due timers fire (`timers.rs`).
//!
//! A crash anywhere leaves a log from which a restore can tell what was done: an outcome is
//! complete when its last event is on the log, and a partial one (a prefix, because one
//! idempotent producer writes the partition in order) is finished by deciding the same
//! command again on the same state, which gives the same events with the same ids, of which
//! only the missing ones are produced. Commands for other entities are produced before the
//! events, so a visible event implies they were sent; a re-run may send them twice, and the
//! receiving entity's idempotency key makes the second one a no-op.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clio_aggregate::{Aggregate, Cause, Context, RecordSet, partition_for_key};
use rdkafka::Offset;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, info_span, warn};

mod checkpoint;
mod replay;
mod restore;
mod timers;

use replay::Partial;

pub use timers::timer_command_id;

use crate::assignments::{Assignments, TrackingContext};
use crate::catalogue::{Catalogue, Compression};
use crate::codec::{Codec, retry_transient};
use crate::dead_letter;
use crate::headers;
use crate::kafka::{self, Outgoing};
use crate::outage::{self, Outage};
use crate::settings::KafkaSettings;
use crate::telemetry;

/// How often the loop, when no command comes, restores newly assigned partitions and looks
/// for due timers.
const TEND_INTERVAL: Duration = Duration::from_secs(1);

/// The key of the per-partition checkpoint record on the state topic. It starts with a NUL
/// byte, which no entity key contains.
pub const CHECKPOINT_KEY: &str = "\u{0}clio.checkpoint";

/// The topics one processor reads and writes.
#[derive(Debug, Clone)]
pub struct ProcessorTopics {
    pub commands: String,
    pub events: String,
    pub state: String,
    pub dead_letters: String,
}

impl ProcessorTopics {
    /// `<domain>.commands`, `<domain>.events`, `<domain>.state` and the platform dead letters.
    pub fn for_domain(domain: &str) -> Self {
        Self {
            commands: format!("{domain}.commands"),
            events: format!("{domain}.events"),
            state: format!("{domain}.state"),
            dead_letters: dead_letter::TOPIC.to_string(),
        }
    }
}

/// How one processor runs.
#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    pub topics: ProcessorTopics,
    pub group_id: String,
    /// Most commands decided in one batch.
    pub max_batch: usize,
    /// How long to wait for more commands before a batch is closed.
    pub linger: Duration,
    /// How often changed entities are snapshotted and each partition checkpointed (and on a
    /// clean stop). Snapshots only shorten a restore; writing them after every batch cost a
    /// round trip to the broker per batch and a state record per changed entity.
    pub snapshot_interval: Duration,
    /// How the commands, events and dead letters it writes are compressed: topics other
    /// clients read.
    pub compression: Compression,
    /// How its snapshots are compressed: only processors read the state topic.
    pub state_compression: Compression,
    /// Where other domains' commands topics live, when not under their own names (a test runs
    /// each domain under a prefix): `retry.commands` → `t1-retry.commands`. A topic not named
    /// here is produced to as the domain named it.
    pub foreign_topics: BTreeMap<String, String>,
}

impl ProcessorConfig {
    pub fn for_domain(domain: &str) -> Self {
        Self {
            topics: ProcessorTopics::for_domain(domain),
            group_id: format!("clio-{domain}-processor"),
            max_batch: 500,
            linger: Duration::from_millis(5),
            snapshot_interval: Duration::from_secs(1),
            compression: Compression::default(),
            state_compression: Compression::default(),
            foreign_topics: BTreeMap::new(),
        }
    }

    /// Checks that the catalogue's commands and events topics carry exactly the domain's
    /// records (a start-up check: they are written in two places, the .avsc list of the
    /// catalogue and the domain's record sets).
    pub fn check_records<A: Aggregate>(&self, catalogue: &Catalogue) -> crate::Result<()> {
        catalogue.check_records(&self.topics.commands, A::Command::RECORDS)?;
        catalogue.check_records(&self.topics.events, A::Event::RECORDS)
    }

    /// Takes each topic's compression from the catalogue.
    pub fn compressed_as_in(mut self, catalogue: &Catalogue) -> Self {
        self.compression = catalogue.compression(&self.topics.events);
        self.state_compression = catalogue.compression(&self.topics.state);
        self
    }
}

/// The checkpoint written after the snapshots of a batch are acknowledged.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checkpoint {
    /// Every event at or below this offset is covered by a snapshot.
    events_through: i64,
    /// Every command at or below this offset has its outcome on the log.
    commands_through: i64,
}

/// What one instance holds for one partition it is assigned.
struct PartitionState<S> {
    generation: u64,
    entities: HashMap<String, S>,
    /// Commands at or below this offset have their outcome on the log: skip them.
    applied_through: i64,
    /// The highest events offset folded into `entities`.
    events_through: i64,
    /// The highest events offset every entity's snapshot covers.
    checkpointed_events_through: i64,
    /// Entities changed by decisions since their last snapshot.
    dirty: HashSet<String>,
    /// Entities a restore folded events into that no snapshot covers yet. They are
    /// snapshotted a few thousand per checkpoint, so that a restore of a million entities is
    /// not followed by a million snapshots before the next batch; the checkpoint waits until
    /// they are all written.
    replayed: HashSet<String>,
    /// The last command decided since the last checkpoint, if any.
    unchecked_commands_through: Option<i64>,
    partial: Option<Partial>,
    /// The entities' timers (a cache of their state).
    timers: timers::Timers,
}

/// Counters an operator reads in the logs (and, later, as metrics).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub commands: u64,
    pub events: u64,
    pub skipped: u64,
    pub forwarded: u64,
    pub dead_letters: u64,
    /// Timer commands produced.
    pub timers: u64,
}

/// A commit the group coordinator refused: this instance may no longer own the partitions
/// (or the coordinator is away), so it must not write for them.
#[derive(Debug, thiserror::Error)]
#[error("the group coordinator refused the commit that fences the batch: {0}")]
pub struct Fenced(rdkafka::error::KafkaError);

/// Runs one processor until `shutdown` is cancelled; the batch in flight is finished and
/// committed first.
pub async fn run<A: Aggregate>(
    kafka_settings: &KafkaSettings,
    codec: Codec,
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Counters>
where
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    let context = TrackingContext::default();
    let assignments = context.assignments.clone();
    let consumer: Arc<StreamConsumer<TrackingContext>> = Arc::new(
        kafka::consumer_config(kafka_settings, &config.group_id)
            .context("the command consumer's settings")?
            .create_with_context(context)
            .context("creating the command consumer")?,
    );
    let producer = kafka::producer_for(kafka_settings, config.compression).context("creating the producer")?;
    let state_producer = if config.state_compression == config.compression {
        producer.clone()
    } else {
        kafka::producer_for(kafka_settings, config.state_compression).context("creating the snapshot producer")?
    };
    let partitions = check_topics(kafka_settings, &config.topics)?;
    consumer.subscribe(&[&config.topics.commands]).context("subscribing to the commands topic")?;
    info!(domain = A::NAME, commands = %config.topics.commands, partitions, group = %config.group_id, "processor started");

    let mut processor = Processor::<A> {
        kafka_settings: kafka_settings.clone(),
        codec,
        config,
        producer,
        state_producer,
        partition_count: partitions,
        consumer: consumer.clone(),
        assignments,
        partitions: HashMap::new(),
        last_checkpoint: std::time::Instant::now(),
        counters: Counters::default(),
        _aggregate: PhantomData,
    };
    let mut broker = Outage::default();
    loop {
        // Between batches: partitions assigned since are restored (their timers must run even
        // when no command comes), and due timers fire.
        let wake = tokio::time::Instant::now() + processor.until_next_timer().min(TEND_INTERVAL);
        let first = tokio::select! {
            _ = shutdown.cancelled() => {
                // Between batches every decided outcome is on the log: commit it, and snapshot
                // what changed, so that the next start restores quickly.
                let stopped = match processor.commit_finished() {
                    Ok(()) => processor.checkpoint().await,
                    Err(error) => Err(error.into()),
                };
                if let Err(error) = stopped {
                    warn!(error = %format!("{error:#}"), "the last commit or checkpoint failed; the next start reads and replays more");
                }
                break;
            }
            _ = tokio::time::sleep_until(wake) => {
                if let Err(error) = processor.tend(&shutdown).await {
                    warn!(error = %format!("{error:#}"), "restoring assigned partitions or firing timers failed; trying again");
                }
                continue;
            }
            message = consumer.recv() => message,
        };
        let first = match first {
            Ok(message) => message.detach(),
            Err(error) => {
                if broker.failed("receiving commands", &error.to_string(), outage::CONSUMER_PAUSE, &shutdown).await {
                    continue;
                }
                break;
            }
        };
        broker.recovered("receiving commands");
        let mut batch = vec![first];
        while batch.len() < processor.config.max_batch {
            match tokio::time::timeout(processor.config.linger, consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(error)) => {
                    warn!(%error, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let before = processor.counters;
        let outcome = processor.process(&batch, &shutdown).await;
        record_batch(&processor.config.group_id, &before, &processor.counters, started.elapsed());
        match outcome {
            Ok(Some(())) => {}
            Ok(None) => break,
            Err(error) => {
                // The broker refused or lost part of the batch, or the group no longer counts
                // this instance a member. Forget what this instance holds for these partitions
                // and read the batch again: if they are still its own, the restore finds what
                // reached the log and the protocol finishes the rest.
                if error.downcast_ref::<Fenced>().is_some() {
                    warn!(error = %format!("{error:#}"), "batch left to the partitions' owner; rejoining the group");
                } else {
                    error!(error = %format!("{error:#}"), "batch failed; restoring and retrying");
                }
                let mut rewind: BTreeMap<i32, i64> = BTreeMap::new();
                for message in &batch {
                    rewind.entry(message.partition()).or_insert(message.offset());
                }
                for (partition, offset) in rewind {
                    processor.partitions.remove(&partition);
                    if let Err(error) =
                        consumer.seek(message_topic(&batch), partition, Offset::Offset(offset), Duration::from_secs(10))
                    {
                        warn!(%error, partition, "seek after a failed batch did not work; the next rebalance will rewind");
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    info!(domain = A::NAME, counters = ?processor.counters, "processor stopped");
    Ok(processor.counters)
}

/// What one batch did, for `/metrics`.
fn record_batch(processor: &str, before: &Counters, after: &Counters, took: Duration) {
    let labels = [("processor", processor)];
    let moved = [
        ("clio_processor_commands_total", "Commands decided.", after.commands - before.commands),
        ("clio_processor_events_total", "Events produced.", after.events - before.events),
        (
            "clio_processor_dead_letters_total",
            "Records parked as dead letters.",
            after.dead_letters - before.dead_letters,
        ),
    ];
    for (name, help, n) in moved {
        crate::metrics::add(name, help, &labels, n);
    }
    crate::metrics::observe(
        "clio_processor_batch_seconds",
        "Time to decide a batch and produce its outcome.",
        &labels,
        took,
    );
}

fn message_topic(batch: &[OwnedMessage]) -> &str {
    batch.first().map_or("", |m| m.topic())
}

/// The commands, events and state topics must have the same number of partitions: a key's
/// events and snapshots live on the partition number its commands live on.
fn check_topics(settings: &KafkaSettings, topics: &ProcessorTopics) -> anyhow::Result<i32> {
    let reader = kafka::reader(settings)?;
    let commands = kafka::partition_count(&reader, &topics.commands)
        .with_context(|| format!("topic {} (create topics first: clio topics create)", topics.commands))?;
    for topic in [&topics.events, &topics.state] {
        let count = kafka::partition_count(&reader, topic)
            .with_context(|| format!("topic {topic} (create topics first: clio topics create)"))?;
        anyhow::ensure!(
            count == commands,
            "topic {topic} has {count} partitions but {} has {commands}; they must match",
            topics.commands
        );
    }
    Ok(commands)
}

struct Processor<A: Aggregate> {
    kafka_settings: KafkaSettings,
    codec: Codec,
    config: ProcessorConfig,
    producer: FutureProducer,
    /// Writes the state topic, whose compression may differ.
    state_producer: FutureProducer,
    partition_count: i32,
    /// Commits offsets: the fence before anything is produced (see [`Processor::fence`]).
    consumer: Arc<StreamConsumer<TrackingContext>>,
    assignments: Arc<Assignments>,
    partitions: HashMap<i32, PartitionState<A::State>>,
    last_checkpoint: std::time::Instant,
    counters: Counters,
    _aggregate: PhantomData<A>,
}

/// What deciding one command produced, before it is sent.
#[derive(Default)]
struct Planned {
    first: Vec<Outgoing>,
    events: Vec<Outgoing>,
    /// The reason of each planned event that refuses its command ([`Aggregate::rejection`]).
    rejects: Vec<String>,
}

impl<A: Aggregate> Processor<A>
where
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    /// Processes one batch; `None` when shutdown came while waiting on the registry.
    async fn process(&mut self, batch: &[OwnedMessage], shutdown: &CancellationToken) -> anyhow::Result<Option<()>> {
        let mut first = Vec::new();
        // Per partition, the batch's first offset: everything before it is done.
        let mut starts = BTreeMap::new();
        let mut events: BTreeMap<i32, Vec<Outgoing>> = BTreeMap::new();
        let mut commit = BTreeMap::new();
        let mut last_command: BTreeMap<i32, i64> = BTreeMap::new();
        let mut touched: BTreeMap<i32, HashSet<String>> = BTreeMap::new();
        let mut rejects: Vec<String> = Vec::new();

        // Every partition of the batch this instance does not hold yet is restored at once:
        // after a rebalance each would otherwise wait for the one before it.
        let mut to_restore: BTreeMap<i32, u64> = BTreeMap::new();
        for message in batch {
            let partition = message.partition();
            if let Some(generation) = self.assignments.generation(&self.config.topics.commands, partition)
                && self.partitions.get(&partition).is_none_or(|p| p.generation != generation)
            {
                to_restore.insert(partition, generation);
            }
        }
        self.restore_all(to_restore).await?;

        for message in batch {
            let partition = message.partition();
            let Some(generation) = self.assignments.generation(&self.config.topics.commands, partition) else {
                debug!(
                    partition,
                    offset = message.offset(),
                    "partition no longer assigned; leaving the record to its new owner"
                );
                continue;
            };
            if self.partitions.get(&partition).is_none_or(|p| p.generation != generation) {
                // Assigned again while the batch was being restored: the next batch restores it.
                anyhow::bail!("partition {partition} was reassigned while the batch was restored");
            }
            starts.entry(partition).or_insert(message.offset());
            commit.insert(partition, message.offset() + 1);
            last_command.insert(partition, message.offset());
            let applied_through = self.partitions[&partition].applied_through;
            if message.offset() <= applied_through {
                self.counters.skipped += 1;
                continue;
            }
            let Some(planned) = self.plan(message, shutdown).await else {
                return Ok(None);
            };
            if !planned.events.is_empty() {
                touched.entry(partition).or_default().insert(key_text(message).unwrap_or_default());
            }
            first.extend(planned.first);
            events.entry(partition).or_default().extend(planned.events);
            rejects.extend(planned.rejects);
        }

        // Steps 3 and 4: other entities' commands, forwards and dead letters first, then events;
        // only while the group still counts this instance the partitions' owner.
        if !first.is_empty() || !events.is_empty() {
            self.fence(&starts)?;
        }
        self.send_all(first).await.context("producing commands and dead letters")?;
        // All partitions' events in one round trip: one idempotent producer keeps each
        // partition's records in order, which is all a restore relies on.
        let mut event_partitions = Vec::new();
        let mut all_events = Vec::new();
        for (partition, outgoing) in events {
            event_partitions.extend(std::iter::repeat_n(partition, outgoing.len()));
            all_events.extend(outgoing);
        }
        let offsets = self.send_all(all_events).await.context("producing events")?;
        self.counters.events += offsets.len() as u64;
        for reason in &rejects {
            let labels = [("processor", self.config.group_id.as_str()), ("reason", reason.as_str())];
            crate::metrics::add("clio_processor_rejects_total", "Commands refused, by reason.", &labels, 1);
        }
        let mut events_through: BTreeMap<i32, i64> = BTreeMap::new();
        for (partition, offset) in event_partitions.into_iter().zip(offsets) {
            let through = events_through.entry(partition).or_insert(offset);
            *through = (*through).max(offset);
        }
        for (&partition, &command_offset) in &last_command {
            let Some(state) = self.partitions.get_mut(&partition) else { continue };
            if let Some(&max) = events_through.get(&partition) {
                state.events_through = state.events_through.max(max);
            }
            state.dirty.extend(touched.remove(&partition).unwrap_or_default());
            state.unchecked_commands_through = Some(command_offset);
        }
        self.counters.commands += batch.len() as u64;
        self.assignments.finished(&self.config.topics.commands, &commit);
        if self.last_checkpoint.elapsed() >= self.config.snapshot_interval {
            // Snapshots from an instance that lost its partitions could cover events it never
            // saw: the commit is their fence too.
            self.commit_finished()?;
            self.checkpoint().await?;
        }
        Ok(Some(()))
    }

    /// Decides one command and plans what to send. `None` means shutdown while the registry
    /// was unreachable.
    async fn plan(&mut self, message: &OwnedMessage, shutdown: &CancellationToken) -> Option<Planned> {
        let partition = message.partition();
        let Some(payload) = message.payload() else {
            return Some(self.dead(message, "the record has no value (tombstones are not commands)".into()));
        };
        let command: A::Command =
            match retry_transient(shutdown, || self.codec.decode_as::<A::Command>(payload)).await? {
                Ok(command) => command,
                Err(error) => {
                    return Some(self.dead(message, format!("cannot decode: {error}")));
                }
            };
        let entity = A::entity_key(&command);
        let key = match key_text(message) {
            Some(key) if key != entity => {
                return Some(
                    self.dead(message, format!("record key {key:?} does not match the command's entity {entity:?}")),
                );
            }
            Some(key) => key,
            None => entity,
        };
        let home = partition_for_key(key.as_bytes(), self.partition_count);
        if home != partition {
            self.counters.forwarded += 1;
            return Some(Planned { first: vec![self.forward(message, &key, home)], ..Planned::default() });
        }

        // Lives until the outcome is planned; what the command causes continues its trace.
        // Without an exporter there is no span, and the incoming traceparent passes through.
        let span = if !telemetry::exporting() {
            tracing::Span::none()
        } else {
            info_span!("decide command", topic = message.topic(), partition, offset = message.offset(),
                       key = %key, record = command.record_name())
        };
        let incoming = headers::get(message, headers::TRACEPARENT);
        telemetry::continue_trace(&span, incoming);
        let traceparent = telemetry::traceparent_of(&span, incoming);
        let cause = Cause::new(message.topic(), partition, message.offset());
        // A timer's command is decided at the instant it was due, whenever it arrives.
        let now_micros = headers::get(message, headers::TIMER_DUE)
            .and_then(|due| due.parse().ok())
            .unwrap_or(timestamp_micros(message));
        let context = Context { now_micros, cause: cause.clone() };
        let state = self.partitions.get(&partition).and_then(|p| p.entities.get(&key)).cloned().unwrap_or_default();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let decision = A::decide(&state, &command, &context);
            let mut next = state.clone();
            for event in &decision.events {
                A::apply(&mut next, event);
            }
            (decision, next)
        }));
        let (decision, next) = match outcome {
            Ok(outcome) => outcome,
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Some(self.dead(message, format!("the domain failed on this command: {text}")));
            }
        };
        if let Some(reason) = &decision.invalid {
            return Some(self.dead(message, format!("invalid command: {reason}")));
        }

        let count = decision.events.len();
        let cause_text = cause.to_string();
        let mut planned = Planned::default();
        for (j, (target, command)) in decision.commands.iter().enumerate() {
            let payload =
                match retry_transient(shutdown, || self.codec.encode(&self.config.topics.commands, command)).await? {
                    Ok(payload) => payload,
                    Err(error) => {
                        return Some(self.dead(message, format!("its outcome cannot be encoded: {error}")));
                    }
                };
            let id = cause.event_id(count + j);
            planned.first.push(Outgoing {
                topic: self.config.topics.commands.clone(),
                partition: Some(partition_for_key(target.as_bytes(), self.partition_count)),
                key: Some(target.as_bytes().to_vec()),
                payload: Some(payload),
                headers: record_headers(&id, &cause_text, None, command.record_name(), traceparent.as_deref()),
            });
        }
        // Commands for other domains: ids after this domain's commands, a key of the cause.
        let offset_of_foreign = count + decision.commands.len();
        for (j, foreign) in decision.foreign.iter().enumerate() {
            let topic = self.config.foreign_topics.get(&foreign.topic).unwrap_or(&foreign.topic);
            let encode = || self.codec.encode_value(topic, &foreign.record, foreign.value.clone());
            let payload = match retry_transient(shutdown, encode).await? {
                Ok(payload) => payload,
                Err(error) => {
                    return Some(self.dead(message, format!("its command for {topic} cannot be encoded: {error}")));
                }
            };
            let id = cause.event_id(offset_of_foreign + j);
            planned.first.push(Outgoing {
                topic: topic.clone(),
                // The receiving topic's own partitioner (murmur2, as every client) places it.
                partition: None,
                key: Some(foreign.key.as_bytes().to_vec()),
                payload: Some(payload),
                headers: record_headers(&id, &cause_text, None, &foreign.record, traceparent.as_deref()),
            });
        }
        let already_present = match self.partitions.get(&partition).and_then(|p| p.partial.as_ref()) {
            Some(partial) if partial.command_offset == message.offset() => partial.present,
            _ => 0,
        };
        for (index, event) in decision.events.iter().enumerate() {
            let payload =
                match retry_transient(shutdown, || self.codec.encode(&self.config.topics.events, event)).await? {
                    Ok(payload) => payload,
                    Err(error) => {
                        return Some(self.dead(message, format!("its outcome cannot be encoded: {error}")));
                    }
                };
            if index < already_present {
                continue;
            }
            planned.rejects.extend(A::rejection(event));
            planned.events.push(Outgoing {
                topic: self.config.topics.events.clone(),
                partition: Some(partition),
                key: Some(key.as_bytes().to_vec()),
                payload: Some(payload),
                headers: record_headers(
                    &cause.event_id(index),
                    &cause_text,
                    // A one-event outcome leaves its position out: readers take 0 of 1, and
                    // on the embedded broker every header is a stored row, written and read.
                    (count > 1).then_some((index, count)),
                    event.record_name(),
                    traceparent.as_deref(),
                ),
            });
        }
        if let Some(state) = self.partitions.get_mut(&partition) {
            if already_present > 0 {
                info!(partition, offset = message.offset(), already_present, count, "finishing a partial outcome");
                state.partial = None;
            }
            if count > 0 {
                state.timers.set(&key, A::timer(&next).map(|t| t.due_micros));
                state.entities.insert(key.clone(), next);
            }
        }
        debug!(topic = message.topic(), partition, offset = message.offset(), key = %key,
               record = command.record_name(), events = count, "command decided");
        Some(planned)
    }

    fn dead(&mut self, message: &OwnedMessage, reason: String) -> Planned {
        self.counters.dead_letters += 1;
        Planned { first: vec![self.dead_letter(message, &reason)], ..Planned::default() }
    }

    fn dead_letter(&self, message: &OwnedMessage, reason: &str) -> Outgoing {
        dead_letter::outgoing(message, &self.config.group_id, reason, &self.config.topics.dead_letters)
    }

    fn forward(&self, message: &OwnedMessage, key: &str, home: i32) -> Outgoing {
        let from = Cause::new(message.topic(), message.partition(), message.offset()).to_string();
        info!(from = %from, to = home, key, "forwarding a command to the partition its key hashes to");
        let mut out = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for header in original.iter() {
                out = out.insert(Header { key: header.key, value: header.value });
            }
        }
        Outgoing {
            topic: message.topic().to_string(),
            partition: Some(home),
            key: Some(key.as_bytes().to_vec()),
            payload: message.payload().map(<[u8]>::to_vec),
            headers: out.insert(Header { key: headers::FORWARDED_FROM, value: Some(&from) }),
        }
    }

    async fn send_all(&self, outgoing: Vec<Outgoing>) -> anyhow::Result<Vec<i64>> {
        Ok(kafka::send_all(&self.producer, outgoing).await?)
    }

    /// The fence: commits the finished offsets and this batch's first ones. The group
    /// coordinator takes a commit only from a member of its current generation, so an instance
    /// whose partitions were given to another (its session expired while the broker or its
    /// storage was away, and it has not heard yet) learns it here, before it writes anything,
    /// and leaves the batch to the new owner. The commit also refreshes the member's session:
    /// the partitions cannot move while the batch's records are being written.
    fn fence(&self, starts: &BTreeMap<i32, i64>) -> Result<(), Fenced> {
        let mut offsets = self.assignments.take_finished(&self.config.topics.commands);
        offsets.extend(starts);
        self.commit(&offsets)
    }

    /// Commits the finished offsets (between batches, when idle, and on stop).
    fn commit_finished(&self) -> Result<(), Fenced> {
        let offsets = self.assignments.take_finished(&self.config.topics.commands);
        self.commit(&offsets)
    }

    fn commit(&self, offsets: &BTreeMap<i32, i64>) -> Result<(), Fenced> {
        if offsets.is_empty() {
            return Ok(());
        }
        let list = crate::assignments::offsets_list(&self.config.topics.commands, offsets);
        tokio::task::block_in_place(|| self.consumer.commit(&list, CommitMode::Sync)).map_err(|error| {
            // Not committed: they are committed with the next batch's, or read again by the
            // next owner, who skips what is done.
            self.assignments.finished(&self.config.topics.commands, offsets);
            Fenced(error)
        })
    }

    /// Whether this instance holds `partition` in the assignment `generation`.
    fn holds(&self, partition: i32, generation: u64) -> bool {
        self.assignments.generation(&self.config.topics.commands, partition) == Some(generation)
    }

    /// How long until the next timer is due (zero when one is overdue).
    fn until_next_timer(&self) -> Duration {
        match self.next_timer() {
            Some(due) => Duration::from_micros(due.saturating_sub(now_micros()).max(0) as u64),
            None => Duration::MAX,
        }
    }

    /// Restores the partitions assigned to this instance that it has not restored yet, then
    /// fires the timers that are due.
    async fn tend(&mut self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let assigned = self.assignments.held(&self.config.topics.commands);
        self.partitions.retain(|partition, state| assigned.contains(&(*partition, state.generation)));
        let missing: Vec<(i32, u64)> =
            assigned.into_iter().filter(|(partition, _)| !self.partitions.contains_key(partition)).collect();
        self.restore_all(missing).await?;
        if let Err(error) = self.commit_finished() {
            debug!(%error, "committing finished offsets while idle did not work; the next batch tries again");
        }
        self.fire_timers(now_micros(), shutdown).await
    }

    /// Restores these partitions at once (after a rebalance each would otherwise wait for the
    /// one before it) and holds them.
    async fn restore_all(&mut self, partitions: impl IntoIterator<Item = (i32, u64)>) -> anyhow::Result<()> {
        let this = &*self;
        let restored =
            futures::future::try_join_all(partitions.into_iter().map(|(partition, generation)| async move {
                let state = this
                    .restore(partition, generation)
                    .await
                    .with_context(|| format!("restoring partition {partition}"))?;
                anyhow::Ok((partition, state))
            }))
            .await?;
        self.partitions.extend(restored);
        Ok(())
    }
}

/// The wall clock, in microseconds since the Unix epoch: when timers are due.
fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn record_headers(
    id: &str,
    cause: &str,
    position: Option<(usize, usize)>,
    record: &str,
    traceparent: Option<&str>,
) -> OwnedHeaders {
    let mut out = OwnedHeaders::new()
        .insert(Header { key: headers::EVENT_ID, value: Some(id) })
        .insert(Header { key: headers::CAUSE, value: Some(cause) })
        .insert(Header { key: headers::RECORD_TYPE, value: Some(record) });
    if let Some((index, count)) = position {
        out = out
            .insert(Header { key: headers::EVENT_INDEX, value: Some(&index.to_string()) })
            .insert(Header { key: headers::EVENT_COUNT, value: Some(&count.to_string()) });
    }
    if let Some(traceparent) = traceparent {
        out = out.insert(Header { key: headers::TRACEPARENT, value: Some(traceparent) });
    }
    out
}

fn key_text(message: &impl Message) -> Option<String> {
    message.key().map(|k| String::from_utf8_lossy(k).into_owned())
}

fn timestamp_micros(message: &OwnedMessage) -> i64 {
    message.timestamp().to_millis().unwrap_or(0) * 1000
}
