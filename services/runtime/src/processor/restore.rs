//! Restoring a partition on assignment: the latest snapshots and checkpoint from the state
//! topic, then the events after the checkpoint, folded outcome by outcome. An outcome found
//! incomplete at the end of the log is a partial one, finished when its command comes again.

use std::collections::{HashMap, HashSet};

use super::replay::{Logged, Replay};

use clio_aggregate::{Aggregate, Cause};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tracing::{error, info, warn};

use super::timers::Timers;
use super::{CHECKPOINT_KEY, Checkpoint, PartitionState, Processor, key_text};
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
        let applied_through = checkpoint.as_ref().map_or(-1, |c| c.commands_through);

        // The events topic after the checkpoint, streamed so memory stays flat.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<OwnedMessage>(1024);
        let events_topic = topics.events.clone();
        let reading = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
            let reader = kafka::reader(&settings)?;
            Ok(kafka::read_partition(&reader, &events_topic, partition, from, |message| {
                let _ = sender.blocking_send(message);
            })?)
        });

        let mut replay = Replay::new(A::apply, entities, covers, applied_through);
        let mut replayed = 0u64;
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
            let cause = headers::get(&message, headers::CAUSE).and_then(Cause::parse);
            replay.push(Logged {
                offset: message.offset(),
                key: key_text(&message).unwrap_or_default(),
                command_offset: match &cause {
                    Some(cause) if cause.topic == topics.commands && cause.partition == partition => cause.offset,
                    _ => -1,
                },
                index: headers::get(&message, headers::EVENT_INDEX).and_then(|i| i.parse().ok()).unwrap_or(0),
                count: headers::get(&message, headers::EVENT_COUNT).and_then(|c| c.parse().ok()).unwrap_or(1),
                event,
            });
        }
        let end = reading.await??;
        let partial = replay.finish(end);
        if let Some(partial) = &partial {
            info!(
                partition,
                command_offset = partial.command_offset,
                present = partial.present,
                "found a partial outcome; it will be finished"
            );
        }
        if replay.copies > 0 {
            warn!(
                partition,
                copies = replay.copies,
                "events written twice (by an instance that had lost the partition) were folded once"
            );
        }
        let Replay { entities, applied_through, replayed: replayed_keys, .. } = replay;
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
