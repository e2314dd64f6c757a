//! One task's state, folded from its events.

use serde::{Deserialize, Serialize};

use crate::messages::RetryEvent;
use crate::policy::Policy;

/// The library's statuses; `Unknown` is a task that does not exist (or was purged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[default]
    Unknown,
    Pending,
    InProgress,
    Retrying,
    Waiting,
    Success,
    Failed,
    Cancelled,
    Requeued,
    Cleanup,
    CleanupFailed,
}

impl Status {
    /// Every status a task can have (not `Unknown`), in the library's order.
    pub const ALL: [Status; 10] = [
        Status::Pending,
        Status::InProgress,
        Status::Retrying,
        Status::Waiting,
        Status::Success,
        Status::Failed,
        Status::Cancelled,
        Status::Requeued,
        Status::Cleanup,
        Status::CleanupFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Retrying => "RETRYING",
            Self::Waiting => "WAITING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Requeued => "REQUEUED",
            Self::Cleanup => "CLEANUP",
            Self::CleanupFailed => "CLEANUP_FAILED",
        }
    }

    /// The status named `name` (as [`Status::as_str`] writes it); anything else is `Unknown`.
    pub fn parse(name: &str) -> Self {
        Self::ALL.into_iter().find(|status| status.as_str() == name).unwrap_or(Status::Unknown)
    }

    /// A cancel moves it on (the library's cancellable set: a failed cleanup may be cancelled
    /// again).
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying | Self::Waiting | Self::Failed | Self::CleanupFailed)
    }

    /// A requeue makes it a new task.
    pub fn requeueable(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled)
    }

    /// A callback may come: the task waits for one, or the run that asked for it has not been
    /// reported yet.
    pub fn takes_callbacks(self) -> bool {
        matches!(self, Self::Waiting | Self::InProgress)
    }

    /// SUCCESS, FAILED, CANCELLED, REQUEUED and CLEANUP_FAILED: nothing runs any more (a
    /// cancel or a requeue may still move it on).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Cancelled | Self::Requeued | Self::CleanupFailed)
    }
}

/// How many callback ids a task remembers to recognise a repeat.
const REMEMBERED_CALLBACKS: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub status: Status,
    /// A CreateTask for this id was refused: a repeat of it changes nothing.
    pub rejected: bool,
    pub task_type: String,
    pub handler: String,
    pub params: String,
    pub idempotency_key: String,
    pub reply_topic: String,
    pub reply_key: String,
    pub policy: Option<Policy>,
    pub created_at: i64,
    /// Runs started (a resumed WAITING task does not count again).
    pub attempts: u32,
    pub callback_errors: u32,
    /// The instant of the task's timer: its next run, or its run's, wait's or cleanup's
    /// deadline.
    pub next_due: Option<i64>,
    /// A WAITING task's callback deadline (a poll may come first).
    pub deadline: Option<i64>,
    pub last_error: String,
    /// The latest callback ids, to recognise a repeat.
    pub callbacks: Vec<String>,
    /// Whether the outcome went to the reply topic (it goes once).
    pub replied: bool,
    /// The slot its runs take (its exclusive key value); empty: none.
    #[serde(default)]
    pub slot: String,
    /// A due run asked the slot and waits for its answer: the run's due time.
    #[serde(default)]
    pub awaiting_slot: Option<i64>,
    /// The slot is this task's (taken for the run whose due time is `slot_token`).
    #[serde(default)]
    pub holds_slot: bool,
    #[serde(default)]
    pub slot_token: i64,
    /// Who asked for the cancel whose cleanup runs.
    #[serde(default)]
    pub cancelled_by: String,
}

impl Task {
    pub fn apply(&mut self, event: &RetryEvent) {
        match event {
            RetryEvent::TaskCreated(e) => {
                *self = Task {
                    task_id: e.task_id.clone(),
                    status: Status::Pending,
                    task_type: e.task_type.clone(),
                    handler: String::new(),
                    params: e.params.clone(),
                    idempotency_key: e.idempotency_key.clone(),
                    reply_topic: e.reply_topic.clone(),
                    reply_key: e.reply_key.clone(),
                    policy: serde_json::from_str(&e.policy).ok(),
                    created_at: e.ts,
                    next_due: Some(e.ts.max(e.not_before)),
                    ..Task::default()
                };
                let params = serde_json::from_str(&e.params).unwrap_or_default();
                let slot = self.policy.as_ref().and_then(|p| p.slot(&e.task_type, &params).ok().flatten());
                self.slot = slot.unwrap_or_default();
            }
            RetryEvent::TaskRejected(_) => self.rejected = true,
            RetryEvent::AttemptStarted(e) => {
                self.status = Status::InProgress;
                self.handler = e.handler.clone();
                self.attempts = u32::try_from(e.attempt).unwrap_or(0);
                self.next_due = Some(e.deadline);
                if !e.slot.is_empty() {
                    self.holds_slot = true;
                    self.slot_token = self.awaiting_slot.unwrap_or(self.slot_token);
                }
                self.awaiting_slot = None;
            }
            RetryEvent::AttemptFailed(e) => {
                self.last_error = e.error_class.clone();
                // A run the login limit refused was counted without starting.
                self.attempts = self.attempts.max(u32::try_from(e.attempt).unwrap_or(0));
                self.awaiting_slot = None;
            }
            RetryEvent::RetryScheduled(e) => {
                self.awaiting_slot = None;
                self.status = Status::Retrying;
                self.attempts = u32::try_from(e.attempt).unwrap_or(0);
                self.next_due = Some(e.at);
                self.deadline = None;
            }
            RetryEvent::WaitingForCallback(e) => {
                self.status = Status::Waiting;
                self.deadline = Some(e.deadline);
                self.next_due = Some(e.poll_at.min(e.deadline));
            }
            RetryEvent::CallbackReceived(e) => {
                self.callbacks.push(e.callback_id.clone());
                if self.callbacks.len() > REMEMBERED_CALLBACKS {
                    self.callbacks.remove(0);
                }
                if e.outcome != "success" {
                    self.callback_errors += 1;
                }
            }
            RetryEvent::TaskSucceeded(_) => self.finish(Status::Success),
            RetryEvent::TaskFailed(e) => {
                self.last_error = e.error_class.clone();
                self.finish(Status::Failed);
            }
            RetryEvent::CleanupStarted(e) => {
                self.awaiting_slot = None;
                self.cancelled_by = e.by.clone();
                self.status = Status::Cleanup;
                self.next_due = Some(e.deadline);
            }
            RetryEvent::TaskCancelled(_) => self.finish(Status::Cancelled),
            RetryEvent::CleanupFailed(e) => {
                self.last_error = e.message.clone();
                self.status = Status::CleanupFailed;
                self.next_due = None;
            }
            RetryEvent::TaskRequeued(_) => {
                self.awaiting_slot = None;
                self.status = Status::Requeued;
                self.next_due = None;
            }
            RetryEvent::TaskPurged(_) => *self = Task::default(),
            RetryEvent::SlotRequested(e) => {
                self.awaiting_slot = Some(e.due);
                // A waiting task's deadline still stands while its resumed run waits for the slot.
                self.next_due = if self.status == Status::Waiting { self.deadline } else { None };
            }
            RetryEvent::RunDeferred(e) => {
                self.awaiting_slot = None;
                self.next_due = Some(e.at);
            }
            RetryEvent::CommandRefused(_)
            | RetryEvent::SlotTaken(_)
            | RetryEvent::SlotFreed(_)
            | RetryEvent::SlotLocked(_) => {}
        }
        if self.holds_slot && !self.policy.as_ref().is_some_and(|p| p.holds_in(self.status)) {
            self.holds_slot = false;
        }
    }

    /// A run may start at `now`: the task is PENDING or RETRYING, or WAITING before its
    /// callback deadline (a poll, or a resume).
    pub fn runnable_at(&self, now: i64) -> bool {
        match self.status {
            Status::Pending | Status::Retrying => true,
            Status::Waiting => self.deadline.is_some_and(|deadline| now < deadline),
            _ => false,
        }
    }

    fn finish(&mut self, status: Status) {
        self.status = status;
        self.next_due = None;
        self.deadline = None;
        self.awaiting_slot = None;
        if !self.reply_topic.is_empty() {
            self.replied = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn every_status_reads_back_from_its_name() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), status);
        }
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names.join(" "),
            "PENDING IN_PROGRESS RETRYING WAITING SUCCESS FAILED CANCELLED REQUEUED CLEANUP CLEANUP_FAILED"
        );
        assert_eq!(Status::parse("pending"), Status::Unknown);
    }
}
