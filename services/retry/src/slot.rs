//! Slots: the entities, beside the tasks, that serialise the runs of a task type per exclusive
//! key value, and count that value's failed logins (Midas's login limit). A task's due run asks
//! its slot ([`AcquireSlot`]); the slot answers granted, busy or locked ([`SlotAnswer`]); the
//! task releases it when its run ends ([`ReleaseSlot`]). The library locked rows in one
//! database; here the state that must agree lives on one key, and the tasks ask it by command.

use serde::{Deserialize, Serialize};

use crate::messages::*;

/// One slot's state, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub slot: String,
    /// The task holding it; empty: free.
    pub holder: String,
    /// The due time of the holder's run: a release with another token is stale.
    pub token: i64,
    pub since: i64,
    pub login_failures: u32,
    /// The end of the login lock (set by every refused run); when it has passed the count
    /// starts again, as the seed's Redis key expires.
    pub locked_until: Option<i64>,
}

/// What a slot answers.
pub const GRANTED: &str = "granted";
pub const BUSY: &str = "busy";
pub const LOCKED: &str = "locked";

/// A slot's decision: its events and the answer for the asking task, if any.
pub struct SlotDecision {
    pub events: Vec<RetryEvent>,
    pub answer: Option<SlotAnswer>,
}

impl Slot {
    /// The failed logins that count at `now`: none once a lock has run out.
    fn failures_at(&self, now: i64) -> u32 {
        if self.locked_until.is_some_and(|until| now >= until) { 0 } else { self.login_failures }
    }

    pub fn acquire(&self, c: &AcquireSlot, now: i64) -> SlotDecision {
        let failures = self.failures_at(now);
        let reply = |answer: &str, holder: &str, until: i64| SlotAnswer {
            task_id: c.task_id.clone(),
            slot: c.slot.clone(),
            due: c.due,
            answer: answer.to_string(),
            holder: holder.to_string(),
            until,
            login_failures: i32::try_from(failures).unwrap_or(i32::MAX),
            ts: now,
        };
        if !self.holder.is_empty() && self.holder != c.task_id {
            return SlotDecision { events: Vec::new(), answer: Some(reply(BUSY, &self.holder, 0)) };
        }
        if c.login_limit > 0 && i64::from(failures) >= i64::from(c.login_limit) {
            let until = now.saturating_add(c.lock_micros);
            let locked = RetryEvent::SlotLocked(SlotLocked {
                slot: c.slot.clone(),
                task_id: c.task_id.clone(),
                login_failures: i32::try_from(failures).unwrap_or(i32::MAX),
                until,
                ts: now,
            });
            return SlotDecision { events: vec![locked], answer: Some(reply(LOCKED, "", until)) };
        }
        let taken = RetryEvent::SlotTaken(SlotTaken {
            slot: c.slot.clone(),
            task_id: c.task_id.clone(),
            token: c.due,
            login_failures: i32::try_from(failures).unwrap_or(i32::MAX),
            ts: now,
        });
        SlotDecision { events: vec![taken], answer: Some(reply(GRANTED, "", 0)) }
    }

    pub fn release(&self, c: &ReleaseSlot, now: i64) -> SlotDecision {
        if self.holder != c.task_id || self.token != c.token {
            return SlotDecision { events: Vec::new(), answer: None };
        }
        let failures = match c.login.as_str() {
            "failed" => self.login_failures.saturating_add(1),
            "succeeded" => 0,
            _ => self.login_failures,
        };
        let freed = RetryEvent::SlotFreed(SlotFreed {
            slot: c.slot.clone(),
            task_id: c.task_id.clone(),
            login_failures: i32::try_from(failures).unwrap_or(i32::MAX),
            ts: now,
        });
        SlotDecision { events: vec![freed], answer: None }
    }

    pub fn apply(&mut self, event: &RetryEvent) {
        match event {
            RetryEvent::SlotTaken(e) => {
                self.slot = e.slot.clone();
                self.holder = e.task_id.clone();
                self.token = e.token;
                self.since = e.ts;
                self.login_failures = u32::try_from(e.login_failures).unwrap_or(0);
                if self.login_failures == 0 {
                    self.locked_until = None;
                }
            }
            RetryEvent::SlotFreed(e) => {
                self.holder.clear();
                self.token = 0;
                self.since = e.ts;
                self.login_failures = u32::try_from(e.login_failures).unwrap_or(0);
            }
            RetryEvent::SlotLocked(e) => {
                self.slot = e.slot.clone();
                self.login_failures = u32::try_from(e.login_failures).unwrap_or(0);
                self.locked_until = Some(e.until);
            }
            _ => {}
        }
    }
}
