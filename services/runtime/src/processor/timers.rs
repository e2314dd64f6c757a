//! Timers: commands entities asked to receive at a future instant ([`Aggregate::timer`]).
//!
//! A timer is part of its entity's state, so this index is only a cache of it: built from the
//! entities when a partition is restored, and updated after every decision. When a timer is
//! due the processor produces its command to the entity's own commands partition, with the
//! due time in the `clio.timer-due` header (the `now` of its decision) and an id derived from
//! the entity and the due time. A crash after producing and before deciding produces it again;
//! the entity ignores a timer command that is no longer due, so one timer never has two
//! effects, and none is lost: until its command is decided, the timer stays in the state.

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::Context as _;
use clio_aggregate::{Aggregate, RecordSet as _};
use rdkafka::message::{Header, OwnedHeaders};
use tracing::debug;

use super::Processor;
use crate::codec::retry_transient;
use crate::headers;
use crate::kafka::{self, Outgoing};

/// The timers of one partition's entities, earliest first, and which of them were produced
/// and not yet decided.
#[derive(Debug, Default)]
pub(super) struct Timers {
    due: BTreeSet<(i64, String)>,
    by_key: HashMap<String, i64>,
    produced: HashSet<(String, i64)>,
}

impl Timers {
    /// Every timer of `entities`.
    pub(super) fn of<A: Aggregate>(entities: &HashMap<String, A::State>) -> Self {
        let mut timers = Self::default();
        for (key, state) in entities {
            timers.set(key, A::timer(state).map(|t| t.due_micros));
        }
        timers
    }

    /// Records the entity's timer after a change of its state.
    pub(super) fn set(&mut self, key: &str, due: Option<i64>) {
        let old = self.by_key.get(key).copied();
        if old == due {
            return;
        }
        if let Some(old) = old {
            self.due.remove(&(old, key.to_string()));
            self.produced.remove(&(key.to_string(), old));
            self.by_key.remove(key);
        }
        if let Some(due) = due {
            self.due.insert((due, key.to_string()));
            self.by_key.insert(key.to_string(), due);
        }
    }

    /// The earliest timer whose command was not produced yet.
    pub(super) fn next(&self) -> Option<i64> {
        self.due.iter().find(|(due, key)| !self.produced.contains(&(key.clone(), *due))).map(|(due, _)| *due)
    }

    /// The timers due at `now` whose command was not produced yet, earliest first.
    fn due_at(&self, now_micros: i64) -> Vec<(i64, String)> {
        self.due
            .iter()
            .take_while(|(due, _)| *due <= now_micros)
            .filter(|(due, key)| !self.produced.contains(&(key.clone(), *due)))
            .cloned()
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.due.len()
    }
}

/// The id of the command a timer produces: the same for every production of one timer.
pub fn timer_command_id(topic: &str, key: &str, due_micros: i64) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(format!("timer/{topic}/{key}/{due_micros}").as_bytes()))
}

impl<A: Aggregate> Processor<A>
where
    A::Command: Send + Sync,
    A::Event: Send + Sync,
    A::State: Send + Sync,
{
    /// The earliest timer of the partitions this instance holds that is still to be produced.
    pub(super) fn next_timer(&self) -> Option<i64> {
        self.partitions
            .iter()
            .filter(|(partition, state)| self.holds(**partition, state.generation))
            .filter_map(|(_, state)| state.timers.next())
            .min()
    }

    /// Produces the command of every timer due at `now_micros`, and waits for the acks.
    pub(super) async fn fire_timers(
        &mut self,
        now_micros: i64,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()> {
        let mut outgoing = Vec::new();
        let mut fired = Vec::new();
        for (&partition, state) in &self.partitions {
            if !self.holds(partition, state.generation) {
                continue;
            }
            for (due, key) in state.timers.due_at(now_micros) {
                let Some(timer) = state.entities.get(&key).and_then(A::timer).filter(|t| t.due_micros == due) else {
                    continue;
                };
                let topic = &self.config.topics.commands;
                let Some(payload) = retry_transient(shutdown, || self.codec.encode(topic, &timer.command)).await else {
                    return Ok(());
                };
                let payload = payload.with_context(|| format!("encoding the timer command of {key}"))?;
                let id = timer_command_id(topic, &key, due);
                let due_text = due.to_string();
                outgoing.push(Outgoing {
                    topic: topic.clone(),
                    partition: Some(partition),
                    key: Some(key.as_bytes().to_vec()),
                    payload: Some(payload),
                    headers: OwnedHeaders::new()
                        .insert(Header { key: headers::EVENT_ID, value: Some(&id) })
                        .insert(Header { key: headers::RECORD_TYPE, value: Some(timer.command.record_name()) })
                        .insert(Header { key: headers::TIMER_DUE, value: Some(&due_text) }),
                });
                fired.push((partition, key, due));
            }
        }
        if outgoing.is_empty() {
            return Ok(());
        }
        kafka::send_all(&self.producer, outgoing).await.context("producing due timers")?;
        for (partition, key, due) in fired {
            debug!(partition, key, due, "timer fired");
            if let Some(state) = self.partitions.get_mut(&partition) {
                state.timers.produced.insert((key, due));
            }
            self.counters.timers += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_follows_each_entitys_timer_and_skips_what_was_produced() {
        let mut timers = Timers::default();
        timers.set("a", Some(30));
        timers.set("b", Some(10));
        timers.set("c", None);
        assert_eq!(timers.next(), Some(10));
        assert_eq!(timers.due_at(29), vec![(10, "b".to_string())]);
        timers.produced.insert(("b".to_string(), 10));
        assert_eq!(timers.next(), Some(30), "a produced timer waits for its decision, not for a second production");
        assert!(timers.due_at(29).is_empty());
        timers.set("b", Some(50));
        assert_eq!(timers.due_at(100), vec![(30, "a".to_string()), (50, "b".to_string())], "moved: due again");
        timers.set("a", None);
        assert_eq!((timers.next(), timers.len()), (Some(50), 1));
    }

    #[test]
    fn a_timer_command_id_is_the_same_for_the_same_timer_only() {
        assert_eq!(timer_command_id("t", "k", 5), timer_command_id("t", "k", 5));
        assert_ne!(timer_command_id("t", "k", 5), timer_command_id("t", "k", 6));
        assert_ne!(timer_command_id("t", "k", 5), timer_command_id("t", "j", 5));
        assert_eq!(timer_command_id("t", "k", 5).len(), 32);
    }
}
