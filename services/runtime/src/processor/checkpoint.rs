//! Checkpointing: snapshots of changed entities and a per-partition checkpoint on the state
//! topic, so that a restore reads the snapshots and only the events after them.

use anyhow::Context as _;
use clio_aggregate::Aggregate;
use rdkafka::message::{Header, OwnedHeaders};

use super::{CHECKPOINT_KEY, Checkpoint, Processor};
use crate::headers;
use crate::kafka::{self, Outgoing};

impl<A: Aggregate> Processor<A>
where
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    /// Step 6: snapshots of the entities changed since the last checkpoint (and of a few
    /// thousand a restore left uncovered), then a checkpoint of each partition that decided
    /// something since and has no uncovered entity left. Only between batches, when every
    /// decided outcome is on the log, and only for partitions still held: a partition that
    /// moved may already have newer snapshots from its new owner.
    pub(super) async fn checkpoint(&mut self) -> anyhow::Result<()> {
        const REPLAYED_PER_CHECKPOINT: usize = 5_000;
        let mut snapshots = Vec::new();
        let mut written: Vec<(i32, Vec<String>, Option<Checkpoint>)> = Vec::new();
        for (&partition, state) in &mut self.partitions {
            let Some(command_offset) = state.unchecked_commands_through else { continue };
            if self.assignments.generation(&self.config.topics.commands, partition) != Some(state.generation) {
                continue;
            }
            let covers = state.events_through.to_string();
            // The changed entities are snapshotted anyway. (Should the snapshots fail, the
            // batch fails and this partition's state is restored again from the log.)
            for key in &state.dirty {
                state.replayed.remove(key);
            }
            let replayed: Vec<String> = state.replayed.iter().take(REPLAYED_PER_CHECKPOINT).cloned().collect();
            let uncovered_left = state.replayed.len() > replayed.len();
            for key in state.dirty.iter().chain(&replayed) {
                let Some(entity) = state.entities.get(key) else { continue };
                let payload = serde_json::to_vec(entity).context("serialising a snapshot")?;
                snapshots.push(Outgoing {
                    topic: self.config.topics.state.clone(),
                    partition: Some(partition),
                    key: Some(key.as_bytes().to_vec()),
                    payload: Some(payload),
                    headers: OwnedHeaders::new().insert(Header { key: headers::COVERS_OFFSET, value: Some(&covers) }),
                });
            }
            if uncovered_left {
                written.push((partition, replayed, None));
                continue;
            }
            // A partial outcome's events are on the log but not folded in yet: the checkpoint
            // must not pass them, or a restore would never see them.
            let safe_events_through = match &state.partial {
                Some(partial) => state.events_through.min(partial.first_event_offset - 1),
                None => state.events_through,
            };
            let applied = state.applied_through.max(match &state.partial {
                Some(partial) => command_offset.min(partial.command_offset - 1),
                None => command_offset,
            });
            let checkpoint = Checkpoint { events_through: safe_events_through, commands_through: applied };
            written.push((partition, replayed, Some(checkpoint)));
        }
        kafka::send_all(&self.state_producer, snapshots).await.context("producing snapshots")?;
        let mut checkpoint_records = Vec::new();
        for (partition, replayed, checkpoint) in written {
            let Some(state) = self.partitions.get_mut(&partition) else { continue };
            state.dirty.clear();
            for key in replayed {
                state.replayed.remove(&key);
            }
            let Some(checkpoint) = checkpoint else { continue };
            checkpoint_records.push(Outgoing {
                topic: self.config.topics.state.clone(),
                partition: Some(partition),
                key: Some(CHECKPOINT_KEY.as_bytes().to_vec()),
                payload: Some(serde_json::to_vec(&checkpoint)?),
                headers: OwnedHeaders::new(),
            });
            state.unchecked_commands_through = None;
            state.checkpointed_events_through = checkpoint.events_through;
            state.applied_through = state.applied_through.max(checkpoint.commands_through);
        }
        kafka::send_all(&self.state_producer, checkpoint_records).await.context("producing checkpoints")?;
        self.last_checkpoint = std::time::Instant::now();
        Ok(())
    }
}
