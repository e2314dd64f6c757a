//! The worker: performs the runs the retry processor starts, and reports each outcome as a
//! command. It reads `retry.events` in a consumer group of its own, performs up to
//! `concurrency` runs at once (the calls to the outside world; their reports are produced
//! while the next runs go on), and commits an offset only when every run before it has been
//! reported, so a worker killed mid-call performs the unreported runs again (with the same
//! idempotency key: the other side sees one effect) and the processor takes the first report
//! of each run and ignores the rest. A run whose deadline has passed is not performed: the
//! processor has counted it as timed out and started another. A copy of an event it has just
//! read (the same `clio.event-id`: two processor instances wrote one outcome, docs/delivery.md)
//! is not performed again: two runs of one call at once would race where the other side has no
//! idempotency key (an issue tracker's create looks before it creates).

use std::collections::BTreeMap;

use anyhow::Context as _;
use clio_retry::messages::{AttemptStarted, CleanupStarted, ReportAttempt, ReportCleanup, RetryCommand, RetryEvent};
use clio_runtime::outage::{self, Outage};
use clio_runtime::settings::KafkaSettings;
use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use rdkafka::Message as _;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::client::{RetryClient, now_micros};
use crate::handlers::{Handlers, Outcome, Run};

/// Records read but not yet reported, per run performed at once: a report waits for the broker
/// to take it (milliseconds) while a call may be quicker, so a run's slot is free again as
/// soon as its call has ended; the bound keeps a slow call from letting the reads run away.
const READ_AHEAD_PER_RUN: usize = 16;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub events_topic: String,
    pub group_id: String,
    /// Runs performed at once.
    pub concurrency: usize,
    /// The gateway's address, for the callback URLs given to the other side.
    pub gateway_url: String,
}

/// Runs until `shutdown`.
pub async fn run(
    kafka: &KafkaSettings,
    config: WorkerConfig,
    client: RetryClient,
    handlers: Handlers,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer = clio_runtime::kafka::consumer_config(kafka, &config.group_id)
        .context("the worker's consumer settings")?
        .create()
        .context("creating the worker's consumer")?;
    consumer.subscribe(&[&config.events_topic]).context("subscribing to the retry events")?;
    tracing::info!(topic = %config.events_topic, concurrency = config.concurrency, "retry worker started");
    let concurrency = config.concurrency.max(1);
    let calls = Semaphore::new(concurrency);
    let mut in_flight = FuturesOrdered::new();
    // The next offset to read of each partition whose runs are all reported.
    let mut reported: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let (mut since_commit, mut stopping) = (0usize, false);
    let mut recent = RecentIds::default();
    loop {
        tokio::select! {
            // Runs end in the order they were read, so an offset is stored only when every
            // run before it on its partition has been reported.
            Some((topic, partition, offset)) = in_flight.next(), if !in_flight.is_empty() => {
                reported.insert((topic, partition), offset + 1);
                since_commit += 1;
                if since_commit >= 100 {
                    since_commit = 0;
                    commit(&consumer, &mut reported, CommitMode::Async);
                }
            }
            message = consumer.recv(), if !stopping && in_flight.len() < concurrency * READ_AHEAD_PER_RUN => {
                match message {
                    Ok(message) => {
                        let message = message.detach();
                        let copy = clio_runtime::headers::get(&message, clio_runtime::headers::EVENT_ID)
                            .is_some_and(|id| !recent.first_time(id));
                        if copy {
                            tracing::info!(partition = message.partition(), offset = message.offset(), "a copy of an event already read: not performed again");
                        }
                        in_flight.push_back(handle(&client, &handlers, &config, &calls, message, !copy, &shutdown))
                    }
                    Err(error) => tracing::debug!(%error, "the worker's consumer"),
                }
            }
            _ = shutdown.cancelled(), if !stopping => stopping = true,
        }
        if stopping && in_flight.is_empty() {
            break;
        }
    }
    commit(&consumer, &mut reported, CommitMode::Sync);
    Ok(())
}

/// The event ids read lately, so that a copy of one is not performed twice. Copies land close
/// to their originals (the same batch retried by a producer that had lost its partition), so a
/// bounded memory is enough.
#[derive(Default)]
struct RecentIds {
    ids: std::collections::HashSet<String>,
    order: std::collections::VecDeque<String>,
}

impl RecentIds {
    const KEPT: usize = 100_000;

    /// Whether `id` was not among the recent ones; remembers it.
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= Self::KEPT
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.ids.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }
}

/// One record: performed (unless a copy) and reported; returns its position.
async fn handle(
    client: &RetryClient,
    handlers: &Handlers,
    config: &WorkerConfig,
    calls: &Semaphore,
    message: OwnedMessage,
    perform_it: bool,
    shutdown: &CancellationToken,
) -> (String, i32, i64) {
    if let Some(payload) = message.payload().filter(|_| perform_it) {
        perform(client, handlers, config, calls, payload, shutdown).await;
    }
    (message.topic().to_string(), message.partition(), message.offset())
}

/// Commits the reported offsets of the partitions this worker still owns: a partition a
/// rebalance gave to another worker is that worker's to commit (ours would move it back).
fn commit(consumer: &StreamConsumer, reported: &mut BTreeMap<(String, i32), i64>, mode: CommitMode) {
    let owned = consumer.assignment().unwrap_or_default();
    reported.retain(|(topic, partition), _| owned.find_partition(topic, *partition).is_some());
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), next) in reported.iter() {
        let _ = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    if offsets.count() > 0
        && let Err(error) = consumer.commit(&offsets, mode)
    {
        // A partition a rebalance took away: its new owner performs what was not committed.
        tracing::debug!(%error, "committing the worker's offsets");
    }
}

/// One event: a run or a cleanup to perform, reported until the report is on the log.
async fn perform(
    client: &RetryClient,
    handlers: &Handlers,
    config: &WorkerConfig,
    calls: &Semaphore,
    payload: &[u8],
    shutdown: &CancellationToken,
) {
    let event = match client.codec.decode_as::<RetryEvent>(payload).await {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "the worker skips a record it cannot decode");
            return;
        }
    };
    let deadline = match &event {
        RetryEvent::AttemptStarted(started) => started.deadline,
        RetryEvent::CleanupStarted(cleanup) => cleanup.deadline,
        _ => return,
    };
    let report = {
        let Ok(_slot) = calls.acquire().await else { return };
        // Checked once the slot is ours: the wait for it may have outlived the run.
        match event {
            _ if deadline <= now_micros() => return,
            RetryEvent::AttemptStarted(started) => attempt(handlers, config, &started).await,
            RetryEvent::CleanupStarted(cleanup) => clean_up(handlers, &cleanup).await,
            _ => return,
        }
    };
    let mut trouble = Outage::default();
    loop {
        match client.send(&report).await {
            Ok(()) => return trouble.recovered("retry reports"),
            Err(error) => {
                if !trouble.failed("retry reports", &format!("{error:#}"), outage::PRODUCER_PAUSE, shutdown).await {
                    return;
                }
            }
        }
    }
}

#[tracing::instrument(skip_all, fields(task = %started.task_id, attempt = started.attempt, handler = %started.handler))]
async fn attempt(handlers: &Handlers, config: &WorkerConfig, started: &AttemptStarted) -> RetryCommand {
    let params: Value = serde_json::from_str(&started.params).unwrap_or(Value::Null);
    let scheme = params["scheme"].as_str().unwrap_or("any").to_string();
    let run = Run {
        handler: started.handler.clone(),
        params,
        idempotency_key: started.idempotency_key.clone(),
        callback_url: format!("{}/v1/retry/callbacks/{scheme}?task_id={}", config.gateway_url, started.task_id),
    };
    let outcome = handlers.perform(&run).await;
    tracing::info!(?outcome, "run performed");
    let mut report = ReportAttempt {
        task_id: started.task_id.clone(),
        attempt: started.attempt,
        outcome: String::new(),
        error_class: String::new(),
        message: String::new(),
        http_status: 0,
        body_excerpt: String::new(),
        retry_after_ms: -1,
        result: String::new(),
        ts: now_micros(),
    };
    match outcome {
        Outcome::Success { result } => {
            report.outcome = "success".into();
            report.result = result.to_string();
        }
        Outcome::Waiting => report.outcome = "waiting".into(),
        Outcome::Failed { class, message, http_status, body_excerpt, retry_after_ms } => {
            report.outcome = "failed".into();
            report.error_class = class.as_str().into();
            report.message = message;
            report.http_status = http_status.map_or(0, i32::from);
            report.body_excerpt = body_excerpt;
            report.retry_after_ms = retry_after_ms.unwrap_or(-1);
        }
    }
    RetryCommand::ReportAttempt(report)
}

async fn clean_up(handlers: &Handlers, cleanup: &CleanupStarted) -> RetryCommand {
    let params: Value = serde_json::from_str(&cleanup.params).unwrap_or(Value::Null);
    // The cleanup call is the task's `cleanup` parameters, performed by the cleanup handler.
    let run = Run {
        handler: cleanup.handler.clone(),
        params: params["cleanup"].clone(),
        idempotency_key: format!("{}-cleanup", cleanup.task_id),
        callback_url: String::new(),
    };
    let (ok, message) = match handlers.perform(&run).await {
        Outcome::Success { .. } => (true, String::new()),
        Outcome::Waiting => (false, "a cleanup cannot wait for a callback".to_string()),
        Outcome::Failed { message, .. } => (false, message),
    };
    RetryCommand::ReportCleanup(ReportCleanup { task_id: cleanup.task_id.clone(), ok, message, ts: now_micros() })
}
