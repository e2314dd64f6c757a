//! Restoring a partition on assignment: the latest snapshots and checkpoint from the state
//! topic, then the events after the checkpoint, folded outcome by outcome. An outcome found
//! incomplete at the end of the log is a partial one, finished when its command comes again.

use std::collections::{HashMap, HashSet};

use clio_aggregate::{Aggregate, Cause};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tracing::{error, info, warn};

use super::timers::Timers;
use super::{CHECKPOINT_KEY, Checkpoint, Partial, PartitionState, Processor, key_text};
use crate::{headers, kafka};

impl<A: Aggregate> Processor<A>
where
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    /// Rebuilds what this instance needs for `partition`: the latest snapshots and checkpoint
    /// from the state topic, then the tail of the events topic after the checkpoint.
    pub(super) async fn restore(&self, partition: i32, generation: u64) -> anyhow::Result<PartitionState<A::State>> {
        let started = std::time::Instant::now();
        let topics = self.config.topics.clone();
        let settings = self.kafka_settings.clone();

        // The state topic: latest snapshot per key and the latest checkpoint.
        let state_topic = topics.state.clone();
        let settings_for_state = settings.clone();
        let (snapshots, checkpoint) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let reader = kafka::reader(&settings_for_state)?;
            let mut snapshots: HashMap<String, (i64, Vec<u8>)> = HashMap::new();
            let mut checkpoint: Option<Vec<u8>> = None;
            kafka::read_partition(&reader, &state_topic, partition, 0, |message| {
                let Some(key) = key_text(&message) else { return };
                match message.payload() {
                    None => {
                        snapshots.remove(&key);
                    }
                    Some(payload) if key == CHECKPOINT_KEY => checkpoint = Some(payload.to_vec()),
                    Some(payload) => {
                        let covers =
                            headers::get(&message, headers::COVERS_OFFSET).and_then(|c| c.parse().ok()).unwrap_or(-1);
                        snapshots.insert(key, (covers, payload.to_vec()));
                    }
                }
            })?;
            Ok((snapshots, checkpoint))
        })
        .await??;

        let mut entities = HashMap::with_capacity(snapshots.len());
        let mut covers = HashMap::with_capacity(snapshots.len());
        let mut checkpoint: Option<Checkpoint> = checkpoint.and_then(|c| serde_json::from_slice(&c).ok());
        for (key, (covered, payload)) in snapshots {
            match serde_json::from_slice::<A::State>(&payload) {
                Ok(state) => {
                    entities.insert(key.clone(), state);
                    covers.insert(key, covered);
                }
                Err(error) => {
                    // Snapshots are a cache: one that no longer reads means a full replay.
                    warn!(partition, %error, "a snapshot does not read as the current state type; replaying all events");
                    entities.clear();
                    covers.clear();
                    checkpoint = None;
                    break;
                }
            }
        }
        let from = checkpoint.as_ref().map_or(0, |c| c.events_through + 1);
        let mut applied_through = checkpoint.as_ref().map_or(-1, |c| c.commands_through);

        // The events topic after the checkpoint, streamed so memory stays flat.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<OwnedMessage>(1024);
        let events_topic = topics.events.clone();
        let reading = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
            let reader = kafka::reader(&settings)?;
            Ok(kafka::read_partition(&reader, &events_topic, partition, from, |message| {
                let _ = sender.blocking_send(message);
            })?)
        });

        struct Open<E> {
            command_offset: i64,
            count: usize,
            key: String,
            events: Vec<(i64, E)>,
        }
        let mut open: Option<Open<A::Event>> = None;
        let mut replayed_keys = HashSet::new();
        let mut replayed = 0u64;
        let fold = |open: Open<A::Event>, entities: &mut HashMap<String, A::State>, dirty: &mut HashSet<String>| {
            let covered = covers.get(&open.key).copied().unwrap_or(-1);
            for (offset, event) in &open.events {
                if *offset > covered {
                    A::apply(entities.entry(open.key.clone()).or_default(), event);
                    dirty.insert(open.key.clone());
                }
            }
        };
        while let Some(message) = receiver.recv().await {
            replayed += 1;
            let Some(payload) = message.payload() else { continue };
            let event = match self.codec.decode_as::<A::Event>(payload).await {
                Ok(event) => event,
                Err(error) => {
                    error!(partition, offset = message.offset(), %error, "an event on the log cannot be decoded; it is left out of the state");
                    continue;
                }
            };
            let key = key_text(&message).unwrap_or_default();
            let cause = headers::get(&message, headers::CAUSE).and_then(Cause::parse);
            let index: usize = headers::get(&message, headers::EVENT_INDEX).and_then(|i| i.parse().ok()).unwrap_or(0);
            let count: usize = headers::get(&message, headers::EVENT_COUNT).and_then(|c| c.parse().ok()).unwrap_or(1);
            let command_offset = match &cause {
                Some(cause) if cause.topic == topics.commands && cause.partition == partition => cause.offset,
                _ => -1,
            };
            let continues = open.as_ref().is_some_and(|o| o.command_offset == command_offset && command_offset >= 0);
            if !continues {
                if let Some(previous) = open.take() {
                    if previous.events.len() < previous.count {
                        warn!(
                            partition,
                            command_offset = previous.command_offset,
                            "an incomplete outcome is followed by another; keeping what is there"
                        );
                    }
                    fold(previous, &mut entities, &mut replayed_keys);
                }
                open = Some(Open { command_offset, count, key, events: Vec::new() });
            }
            let current = open.as_mut().expect("opened above");
            current.events.push((message.offset(), event));
            if index + 1 >= current.count {
                applied_through = applied_through.max(current.command_offset);
                if let Some(done) = open.take() {
                    fold(done, &mut entities, &mut replayed_keys);
                }
            }
        }
        let end = reading.await??;
        let partial = match open {
            Some(open) if open.command_offset >= 0 && open.events.len() < open.count => {
                info!(
                    partition,
                    command_offset = open.command_offset,
                    present = open.events.len(),
                    count = open.count,
                    "found a partial outcome; it will be finished"
                );
                Some(Partial {
                    command_offset: open.command_offset,
                    present: open.events.len(),
                    first_event_offset: open.events.first().map_or(end, |(offset, _)| *offset),
                })
            }
            Some(open) => {
                applied_through = applied_through.max(open.command_offset);
                fold(open, &mut entities, &mut replayed_keys);
                None
            }
            None => None,
        };
        let checkpointed = checkpoint.as_ref().map_or(-1, |c| c.events_through);
        info!(
            partition,
            entities = entities.len(),
            replayed,
            applied_through,
            seconds = started.elapsed().as_secs_f64(),
            "partition restored"
        );
        let timers = Timers::of::<A>(&entities);
        if timers.len() > 0 {
            info!(partition, timers = timers.len(), "timers restored");
        }
        Ok(PartitionState {
            generation,
            timers,
            entities,
            applied_through,
            events_through: end - 1,
            checkpointed_events_through: checkpointed,
            dirty: HashSet::new(),
            replayed: replayed_keys,
            unchecked_commands_through: None,
            partial,
        })
    }
}
