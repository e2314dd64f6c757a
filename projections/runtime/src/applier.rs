//! Applying batches to one read model (the live one, or a rebuild's): dead letters first,
//! retries while Postgres or the broker is away, and one event at a time when Postgres refuses
//! a batch. Shared by the projector's loop and the rebuild.

use std::collections::HashMap;
use std::time::Duration;

use clio_runtime::codec::Codec;
use clio_runtime::dead_letter;
use clio_runtime::kafka::{self, Outgoing};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::ReadModel;
use crate::batch::{self, Batch, Outcome, Range, Target, TopicPartition};
use crate::projector::Counters;

pub(crate) enum Settled {
    Applied(std::collections::BTreeMap<TopicPartition, Range>),
    Moved(std::collections::BTreeMap<TopicPartition, i64>),
}

/// Applies batches to one target: dead letters first, retries while Postgres or the broker is
/// away, and one event at a time when Postgres refuses a batch. Shared by the projector and
/// the rebuild.
pub(crate) struct Applier<'a, M: ReadModel> {
    pub pool: PgPool,
    pub model: &'a M,
    pub target: Target,
    pub producer: FutureProducer,
    /// Named in the dead letters' `clio.dlq.consumer` header.
    pub consumer_name: String,
    pub dead_letters: String,
    pub counters: Counters,
}

impl<M: ReadModel> Applier<'_, M> {
    /// The dead letter for `message`; none when `message` is itself on the dead-letters topic
    /// (a model over the dead letters that cannot take one): parked again, it would come back
    /// to the same model and fail again without end. It stays where it is, on the log.
    pub(crate) fn dead_letter(&self, message: &OwnedMessage, reason: &str) -> Option<Outgoing> {
        if message.topic() == self.dead_letters {
            error!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                reason,
                "a dead letter the read model cannot take stays on the dead-letters topic, not parked again"
            );
            clio_runtime::metrics::add(
                "clio_projector_unparkable_total",
                "Dead letters a model over the dead letters could not take (left on the topic).",
                &[("consumer", &self.consumer_name)],
                1,
            );
            return None;
        }
        Some(dead_letter::outgoing(message, &self.consumer_name, reason, &self.dead_letters))
    }

    /// Decodes records into a batch; those that are not events become dead letters (still
    /// covered by the batch, so their offsets are passed). `None` on shutdown.
    pub(crate) async fn decode<'m>(
        &self,
        codec: &Codec,
        messages: impl IntoIterator<Item = &'m OwnedMessage>,
        shutdown: &CancellationToken,
    ) -> Option<(Batch<M::Event>, Vec<Outgoing>)> {
        let mut batch = Batch::default();
        let mut dead = Vec::new();
        for message in messages {
            match batch::decode::<M::Event>(codec, message, shutdown).await? {
                Ok(envelope) => batch.push(envelope),
                Err(reason) => {
                    batch.cover(message.topic(), message.partition(), message.offset());
                    dead.extend(self.dead_letter(message, &reason));
                }
            }
        }
        Some((batch, dead))
    }

    /// Produces the dead letters, then applies the batch, retrying while Postgres or the
    /// broker is unavailable. `None` on shutdown (nothing committed; the batch is read again).
    pub(crate) async fn settle(
        &mut self,
        batch: Batch<M::Event>,
        expected: HashMap<TopicPartition, i64>,
        dead: Vec<Outgoing>,
        messages: &[OwnedMessage],
        shutdown: &CancellationToken,
    ) -> Option<Settled> {
        let dead_count = dead.len() as u64;
        if !dead.is_empty() {
            self.until_done(shutdown, "producing dead letters", || kafka::send_all(&self.producer, dead.clone()))
                .await?;
            self.counters.dead_letters += dead_count;
            clio_runtime::metrics::add(
                "clio_projector_dead_letters_total",
                "Records a projector parked as dead letters.",
                &[("consumer", &self.consumer_name)],
                dead_count,
            );
        }
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let result = match batch::apply(&self.pool, self.model, &self.target, &batch, &expected).await {
                Err(error) if batch::is_data_error(&error) => {
                    warn!(error = %error, "the batch was refused; applying its events one by one");
                    self.isolate(&batch, &expected, messages).await
                }
                other => other,
            };
            match result {
                Ok(Outcome::Applied { events, duplicates }) => {
                    let labels = [("consumer", self.consumer_name.as_str())];
                    clio_runtime::metrics::add(
                        "clio_projector_events_total",
                        "Events applied to a read model.",
                        &labels,
                        events as u64,
                    );
                    clio_runtime::metrics::add(
                        "clio_projector_duplicates_total",
                        "Events a read model had applied already.",
                        &labels,
                        duplicates as u64,
                    );
                    clio_runtime::metrics::observe(
                        "clio_projector_batch_seconds",
                        "Time to apply a batch to Postgres.",
                        &labels,
                        started.elapsed(),
                    );
                    self.counters.batches += 1;
                    self.counters.events += events as u64;
                    self.counters.duplicates += duplicates as u64;
                    debug!(events, duplicates, "batch applied");
                    return Some(Settled::Applied(batch.ranges));
                }
                Ok(Outcome::Moved(stored)) => return Some(Settled::Moved(stored)),
                Err(error) => {
                    error!(error = %error, retry_in = ?delay, "applying a batch failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    async fn until_done<T, E: std::fmt::Display, F, Fut>(
        &self,
        shutdown: &CancellationToken,
        what: &str,
        mut call: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut delay = Duration::from_millis(200);
        loop {
            match call().await {
                Ok(value) => return Some(value),
                Err(error) => {
                    error!(error = %error, retry_in = ?delay, "{what} failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Applies a refused batch one event per transaction; an event Postgres refuses becomes
    /// a dead letter and its offset is passed.
    async fn isolate(
        &mut self,
        batch: &Batch<M::Event>,
        expected: &HashMap<TopicPartition, i64>,
        messages: &[OwnedMessage],
    ) -> Result<Outcome, sqlx::Error> {
        let mut stored: HashMap<TopicPartition, i64> = batch
            .ranges
            .iter()
            .map(|(tp, range)| (tp.clone(), expected.get(tp).copied().unwrap_or(range.first)))
            .collect();
        let (mut events, mut duplicates) = (0, 0);
        let step = |tp: &TopicPartition, from: i64, next: i64| Batch::<M::Event> {
            envelopes: Vec::new(),
            ranges: [(tp.clone(), Range { first: from, next })].into(),
        };
        for envelope in &batch.envelopes {
            let tp = (envelope.topic.clone(), envelope.partition);
            let from = stored[&tp];
            let mut single = step(&tp, from, envelope.offset + 1);
            single.envelopes.push(envelope.clone());
            let known = HashMap::from([(tp.clone(), from)]);
            match batch::apply(&self.pool, self.model, &self.target, &single, &known).await {
                Ok(Outcome::Applied { events: e, duplicates: d }) => {
                    events += e;
                    duplicates += d;
                }
                Ok(moved @ Outcome::Moved(_)) => return Ok(moved),
                Err(error) if batch::is_data_error(&error) => {
                    let reason = format!("the read model refused the event: {error}");
                    let message = messages
                        .iter()
                        .find(|m| m.topic() == tp.0 && m.partition() == tp.1 && m.offset() == envelope.offset);
                    if let Some(letter) = message.and_then(|message| self.dead_letter(message, &reason)) {
                        kafka::send_all(&self.producer, vec![letter])
                            .await
                            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                        self.counters.dead_letters += 1;
                    }
                    let skip = step(&tp, from, envelope.offset + 1);
                    if let Outcome::Moved(moved) =
                        batch::apply(&self.pool, self.model, &self.target, &skip, &known).await?
                    {
                        return Ok(Outcome::Moved(moved));
                    }
                }
                Err(error) => return Err(error),
            }
            stored.insert(tp, envelope.offset + 1);
        }
        for (tp, range) in &batch.ranges {
            if stored[tp] != range.next {
                let known = HashMap::from([(tp.clone(), stored[tp])]);
                if let Outcome::Moved(moved) =
                    batch::apply(&self.pool, self.model, &self.target, &step(tp, stored[tp], range.next), &known)
                        .await?
                {
                    return Ok(Outcome::Moved(moved));
                }
            }
        }
        Ok(Outcome::Applied { events, duplicates })
    }
}
