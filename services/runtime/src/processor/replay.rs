//! Folding one partition's events into its entities, outcome by outcome, the way a restore
//! reads them: an outcome counts once it is whole, a copy of one already folded is left out.
//!
//! Copies happen without broker transactions: an instance that lost its partition without
//! knowing it yet (its session expired while the broker was away) can still have a batch's
//! events in flight when the new owner has restored and decided the same commands. Both write
//! the same events with the same ids; folding both would apply the outcome twice.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One event as the log holds it, with what its headers say about its outcome.
#[derive(Debug, Clone)]
pub(super) struct Logged<E> {
    pub offset: i64,
    pub key: String,
    /// The offset of its command on this partition's commands topic, or -1 when its cause is
    /// elsewhere (such events are folded one by one).
    pub command_offset: i64,
    pub index: usize,
    pub count: usize,
    pub event: E,
}

/// The outcome being read, not yet whole.
struct Open<E> {
    command_offset: i64,
    count: usize,
    key: String,
    /// By index: a copy of an index already here is left out.
    events: BTreeMap<usize, (i64, E)>,
}

/// A cause whose events are only partly on the log: the end of the log cut its outcome short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Partial {
    /// Its command's offset on this partition.
    pub command_offset: i64,
    /// How many of its events are on the log (the first ones: one producer writes in order).
    pub present: usize,
    pub first_event_offset: i64,
}

/// Folds events into entities with `apply`.
pub(super) struct Replay<S, E> {
    apply: fn(&mut S, &E),
    pub entities: HashMap<String, S>,
    /// Per entity, the highest event offset its snapshot already holds.
    covers: HashMap<String, i64>,
    /// Commands at or below this offset have their whole outcome folded.
    pub applied_through: i64,
    open: Option<Open<E>>,
    /// Entities events were folded into.
    pub replayed: HashSet<String>,
    /// Events left out as copies of ones already folded.
    pub copies: u64,
}

impl<S: Default, E> Replay<S, E> {
    pub fn new(
        apply: fn(&mut S, &E),
        entities: HashMap<String, S>,
        covers: HashMap<String, i64>,
        applied_through: i64,
    ) -> Self {
        Self { apply, entities, covers, applied_through, open: None, replayed: HashSet::new(), copies: 0 }
    }

    pub fn push(&mut self, logged: Logged<E>) {
        let Logged { offset, key, command_offset, index, count, event } = logged;
        let ours = command_offset >= 0;
        if ours && command_offset <= self.applied_through {
            // A copy of an outcome folded already, written by an instance that no longer held
            // the partition; whatever outcome is open stays open.
            self.copies += 1;
            return;
        }
        let continues = self.open.as_ref().is_some_and(|o| ours && o.command_offset == command_offset);
        if !continues {
            if let Some(previous) = self.open.take() {
                if previous.events.len() < previous.count {
                    tracing::warn!(
                        command_offset = previous.command_offset,
                        "an incomplete outcome is followed by another; keeping what is there"
                    );
                }
                self.fold(previous);
            }
            self.open = Some(Open { command_offset, count, key, events: BTreeMap::new() });
        }
        let open = self.open.as_mut().expect("opened above");
        if open.events.contains_key(&index) {
            self.copies += 1;
            return;
        }
        open.events.insert(index, (offset, event));
        if open.events.len() >= open.count {
            let done = self.open.take().expect("open above");
            self.applied_through = self.applied_through.max(done.command_offset);
            self.fold(done);
        }
    }

    /// Ends the read at `end` (the log's end offset): an outcome of this partition's commands
    /// still incomplete is returned, to be finished when its command comes again; anything
    /// else open is folded.
    pub fn finish(&mut self, end: i64) -> Option<Partial> {
        let open = self.open.take()?;
        if open.command_offset >= 0 && open.events.len() < open.count {
            return Some(Partial {
                command_offset: open.command_offset,
                present: open.events.len(),
                first_event_offset: open.events.values().map(|(offset, _)| *offset).min().unwrap_or(end),
            });
        }
        self.applied_through = self.applied_through.max(open.command_offset);
        self.fold(open);
        None
    }

    fn fold(&mut self, open: Open<E>) {
        let covered = self.covers.get(&open.key).copied().unwrap_or(-1);
        for (offset, event) in open.events.values() {
            if *offset > covered {
                (self.apply)(self.entities.entry(open.key.clone()).or_default(), event);
                self.replayed.insert(open.key.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn push_event(state: &mut Vec<u32>, event: &u32) {
        state.push(*event);
    }

    /// Outcomes as one owner writes them: command offsets rising, each with 1..=3 events for
    /// one of three entities.
    fn outcomes() -> impl Strategy<Value = Vec<(String, Vec<u32>)>> {
        prop::collection::vec(
            (prop::sample::select(vec!["a", "b", "c"]), prop::collection::vec(any::<u32>(), 1..=3))
                .prop_map(|(key, events)| (key.to_string(), events)),
            1..12,
        )
    }

    fn logged(outcomes: &[(String, Vec<u32>)]) -> Vec<Logged<u32>> {
        let mut log = Vec::new();
        for (command, (key, events)) in outcomes.iter().enumerate() {
            for (index, event) in events.iter().enumerate() {
                log.push(Logged {
                    offset: 0,
                    key: key.clone(),
                    command_offset: command as i64,
                    index,
                    count: events.len(),
                    event: *event,
                });
            }
        }
        log
    }

    fn replay(log: Vec<Logged<u32>>) -> (HashMap<String, Vec<u32>>, i64, Option<Partial>, u64) {
        let mut replay = Replay::new(push_event, HashMap::new(), HashMap::new(), -1);
        for (offset, mut event) in log.into_iter().enumerate() {
            event.offset = offset as i64;
            replay.push(event);
        }
        let unfinished = replay.finish(0);
        (replay.entities, replay.applied_through, unfinished, replay.copies)
    }

    proptest! {
        /// A second writer's copies of outcomes already on the log, landing anywhere after the
        /// first copy of each event, fold to the state of the log without them.
        #[test]
        fn copies_of_events_fold_once(outcomes in outcomes(), picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..20)) {
            let clean = logged(&outcomes);
            let (entities, applied, unfinished, copies) = replay(clean.clone());
            prop_assert_eq!(copies, 0);
            prop_assert!(unfinished.is_none());
            prop_assert_eq!(applied, outcomes.len() as i64 - 1);

            let mut doubled = clean.clone();
            for (which, at) in picks {
                let original = which.index(clean.len());
                // Where the copy lands: after its original, wherever that is now.
                let position = doubled.iter().position(|e| e.command_offset == clean[original].command_offset && e.index == clean[original].index).expect("present");
                let at = position + 1 + at.index(doubled.len() - position);
                doubled.insert(at, clean[original].clone());
            }
            let extra = (doubled.len() - clean.len()) as u64;
            let (with_copies, applied_with, unfinished_with, copies_with) = replay(doubled);
            prop_assert_eq!(with_copies, entities);
            prop_assert_eq!(applied_with, applied);
            prop_assert!(unfinished_with.is_none());
            prop_assert_eq!(copies_with, extra);
        }
    }

    #[test]
    fn an_outcome_cut_short_at_the_end_is_unfinished_and_not_folded() {
        let outcomes = vec![("a".to_string(), vec![1]), ("b".to_string(), vec![2, 3, 4])];
        let mut log = logged(&outcomes);
        log.pop();
        let (entities, applied, unfinished, _) = replay(log);
        assert_eq!(entities.get("a"), Some(&vec![1]));
        assert_eq!(entities.get("b"), None);
        assert_eq!(applied, 0);
        assert_eq!(unfinished, Some(Partial { command_offset: 1, present: 2, first_event_offset: 1 }));
    }

    #[test]
    fn a_copy_finishing_an_outcome_another_writer_began_counts_each_index_once() {
        // The old owner wrote index 0, the new one the whole outcome, then the old one's index 1
        // landed: the outcome is whole at the new owner's index 1, the rest are copies.
        let outcome = logged(&[("a".to_string(), vec![7, 8])]);
        let log = vec![outcome[0].clone(), outcome[0].clone(), outcome[1].clone(), outcome[1].clone()];
        let (entities, applied, unfinished, copies) = replay(log);
        assert_eq!(entities.get("a"), Some(&vec![7, 8]));
        assert_eq!(applied, 0);
        assert_eq!(unfinished, None);
        assert_eq!(copies, 2);
    }

    #[test]
    fn a_snapshot_covers_what_it_holds() {
        let outcome = logged(&[("a".to_string(), vec![7, 8])]);
        let mut replay = Replay::new(
            push_event,
            HashMap::from([("a".to_string(), vec![7])]),
            HashMap::from([("a".to_string(), 0)]),
            -1,
        );
        for (offset, mut event) in outcome.into_iter().enumerate() {
            event.offset = offset as i64;
            replay.push(event);
        }
        assert_eq!(replay.finish(2), None);
        assert_eq!(replay.entities.get("a"), Some(&vec![7, 8]));
    }
}
