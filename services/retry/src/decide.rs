//! The state machine (retry-midas-source.md §2, with §9's corrections): what each command
//! means for a task in each status, and for a slot (`slot.rs`). A repeated command, a report
//! about another run, and a timer that is no longer the task's have no effect.

use clio_aggregate::{Aggregate, Context, Decision, ForeignCommand, Timer};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::classify::{ErrorClass, midas_join_failure_status};
use crate::messages::*;
use crate::policy::{Next, Policy, SLOT_PREFIX, TaskTypes};
use crate::slot::{self, Slot, SlotDecision};
use crate::task::{Status, Task};

/// The retry domain.
pub struct Retry;

type RetryDecision = Decision<RetryEvent, RetryCommand>;

/// The full Avro name of the outcome record a requester's commands topic carries.
pub const OUTCOME_RECORD: &str = "clio.retry.TaskOutcome";

/// The task type that reports a join's outcome to the caller's status endpoint.
pub const STATUS_REPORT_TYPE: &str = "midas_status";

/// An entity of the retry domain: a task (keyed by its id) or a slot (keyed by its name, which
/// starts with `exclusive:`). Untagged, so a task's snapshot reads as it always did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
// Nearly every entity is a task; boxing it would add an allocation to each to save bytes on
// the few slots.
#[allow(clippy::large_enum_variant)]
pub enum Entity {
    Task(Task),
    Slot(Slot),
}

impl Default for Entity {
    fn default() -> Self {
        Self::Task(Task::default())
    }
}

impl Entity {
    /// The task, when this entity is one (a slot is not).
    pub fn task(&self) -> Option<&Task> {
        match self {
            Self::Task(task) => Some(task),
            Self::Slot(_) => None,
        }
    }
}

impl Aggregate for Retry {
    const NAME: &'static str = "retry";
    type Command = RetryCommand;
    type Event = RetryEvent;
    type State = Entity;

    fn entity_key(command: &RetryCommand) -> String {
        match command {
            RetryCommand::CreateTask(c) => c.task_id.clone(),
            RetryCommand::RunTask(c) => c.task_id.clone(),
            RetryCommand::ReportAttempt(c) => c.task_id.clone(),
            RetryCommand::ReceiveCallback(c) => c.task_id.clone(),
            RetryCommand::CancelTask(c) => c.task_id.clone(),
            RetryCommand::ReportCleanup(c) => c.task_id.clone(),
            RetryCommand::RequeueTask(c) => c.task_id.clone(),
            RetryCommand::PurgeTask(c) => c.task_id.clone(),
            RetryCommand::AcquireSlot(c) => c.slot.clone(),
            RetryCommand::ReleaseSlot(c) => c.slot.clone(),
            RetryCommand::SlotAnswer(c) => c.task_id.clone(),
        }
    }

    fn decide(entity: &Entity, command: &RetryCommand, context: &Context) -> RetryDecision {
        let now = context.now_micros;
        match (entity, command) {
            (_, RetryCommand::AcquireSlot(c)) => on_slot(entity, |slot| slot.acquire(c, now)),
            (_, RetryCommand::ReleaseSlot(c)) => on_slot(entity, |slot| slot.release(c, now)),
            (Entity::Slot(slot), _) => Decision::invalid(format!("{} is a slot, not a task", slot.slot)),
            (Entity::Task(task), command) => {
                // In [0, 1), the same on every replay of this command: the jitter of its delays.
                let random = (context.cause.seed() % 1_000_000) as f64 / 1_000_000.0;
                let decider = Decider { task, now, random };
                let decision = match command {
                    RetryCommand::CreateTask(c) => create(task, c, now, random),
                    RetryCommand::RunTask(c) => decider.run(c),
                    RetryCommand::ReportAttempt(c) => decider.report(c),
                    RetryCommand::ReceiveCallback(c) => decider.callback(c),
                    RetryCommand::CancelTask(c) => decider.cancel(c),
                    RetryCommand::ReportCleanup(c) => decider.cleanup(c),
                    RetryCommand::RequeueTask(c) => decider.requeue(c),
                    RetryCommand::PurgeTask(c) => decider.purge(c),
                    RetryCommand::SlotAnswer(c) => decider.answer(c),
                    RetryCommand::AcquireSlot(_) | RetryCommand::ReleaseSlot(_) => Decision::nothing(),
                };
                decider.releasing(decision)
            }
        }
    }

    fn apply(entity: &mut Entity, event: &RetryEvent) {
        match event {
            RetryEvent::SlotTaken(_) | RetryEvent::SlotFreed(_) | RetryEvent::SlotLocked(_) => {
                if !matches!(entity, Entity::Slot(_)) {
                    *entity = Entity::Slot(Slot::default());
                }
                if let Entity::Slot(slot) = entity {
                    slot.apply(event);
                }
            }
            _ => {
                if let Entity::Task(task) = entity {
                    task.apply(event);
                }
            }
        }
    }

    fn rejection(event: &RetryEvent) -> Option<String> {
        match event {
            RetryEvent::TaskRejected(e) => Some(crate::policy::refusal_code(&e.reason).to_string()),
            RetryEvent::CommandRefused(e) => Some(format!("{} in {}", e.command, e.status)),
            _ => None,
        }
    }

    /// A task's next instant: its next run, or the deadline of its run, wait or cleanup.
    fn timer(entity: &Entity) -> Option<Timer<RetryCommand>> {
        let task = entity.task()?;
        let due = task.next_due?;
        let command = RunTask { task_id: task.task_id.clone(), due, ts: due };
        Some(Timer { due_micros: due, command: RetryCommand::RunTask(command) })
    }
}

/// A slot's decision; a key that holds a task is no slot.
fn on_slot(entity: &Entity, decide: impl FnOnce(&Slot) -> SlotDecision) -> RetryDecision {
    let empty = Slot::default();
    let slot = match entity {
        Entity::Slot(slot) => slot,
        Entity::Task(task) if task.status == Status::Unknown && !task.rejected => &empty,
        Entity::Task(task) => return Decision::invalid(format!("{} is a task, not a slot", task.task_id)),
    };
    let SlotDecision { events, answer } = decide(slot);
    let commands = answer.map(|a| (a.task_id.clone(), RetryCommand::SlotAnswer(a))).into_iter().collect();
    Decision::with_commands(events, commands)
}

fn create(task: &Task, c: &CreateTask, now: i64, random: f64) -> RetryDecision {
    if c.task_id.is_empty() {
        return Decision::invalid("a task needs a task_id");
    }
    if c.task_id.starts_with(SLOT_PREFIX) {
        return Decision::invalid(format!("a task id may not start with {SLOT_PREFIX:?} (slots' keys do)"));
    }
    if task.status != Status::Unknown || task.rejected {
        return Decision::nothing();
    }
    match TaskTypes::builtin().resolve(&c.task_type, &c.params, &c.policy) {
        Err(reason) => Decision::events(vec![RetryEvent::TaskRejected(TaskRejected {
            task_id: c.task_id.clone(),
            task_type: c.task_type.clone(),
            reason,
            ts: now,
        })]),
        Ok((_, policy)) => {
            let created = RetryEvent::TaskCreated(TaskCreated {
                task_id: c.task_id.clone(),
                task_type: c.task_type.clone(),
                params: c.params.clone(),
                idempotency_key: if c.idempotency_key.is_empty() {
                    c.task_id.clone()
                } else {
                    c.idempotency_key.clone()
                },
                reply_topic: c.reply_topic.clone(),
                reply_key: c.reply_key.clone(),
                policy: serde_json::to_string(&policy).unwrap_or_default(),
                not_before: c.not_before,
                ts: now,
            });
            // A task due now runs (or asks its slot) in the same decision, as its timer would
            // at once: the timer's round trip through the commands topic only adds latency.
            let mut pending = task.clone();
            pending.apply(&created);
            if pending.next_due.is_none_or(|due| due > now) {
                return Decision::events(vec![created]);
            }
            let mut first_run = Decider { task: &pending, now, random }.start_or_ask(now, &policy);
            first_run.events.insert(0, created);
            first_run
        }
    }
}

struct Decider<'a> {
    task: &'a Task,
    now: i64,
    random: f64,
}

impl Decider<'_> {
    fn policy(&self) -> Option<&Policy> {
        self.task.policy.as_ref()
    }

    fn refused(&self, task_id: &str, command: &str, reason: impl Into<String>) -> RetryDecision {
        Decision::events(vec![RetryEvent::CommandRefused(CommandRefused {
            task_id: task_id.to_string(),
            command: format!("clio.retry.{command}"),
            status: self.task.status.as_str().to_string(),
            reason: reason.into(),
            ts: self.now,
        })])
    }

    /// The task's timer came: a run starts (after its slot, when it has exclusive keys), a
    /// waiting task resumes or misses its deadline, or a run or a cleanup that never reported
    /// times out.
    fn run(&self, c: &RunTask) -> RetryDecision {
        let (task, now) = (self.task, self.now);
        if task.next_due != Some(c.due) {
            return Decision::nothing();
        }
        let Some(policy) = self.policy() else { return Decision::nothing() };
        match task.status {
            _ if task.runnable_at(now) => self.start_or_ask(c.due, policy),
            Status::Waiting => self.failed(
                &c.task_id,
                Failure::of(ErrorClass::CallbackDeadline, "no callback came before the deadline"),
                Vec::new(),
            ),
            Status::InProgress => {
                let seconds = policy.attempt_timeout_micros() / 1_000_000;
                let message = format!("run {} was not reported within {seconds} s", task.attempts);
                self.failed(&c.task_id, Failure::of(ErrorClass::Timeout, &message), Vec::new())
            }
            Status::Cleanup => Decision::events(vec![RetryEvent::CleanupFailed(CleanupFailed {
                task_id: c.task_id.clone(),
                message: "the cleanup was not reported in time".into(),
                ts: now,
            })]),
            _ => Decision::nothing(),
        }
    }

    /// A due run: it starts, or first asks its slot when its type has exclusive keys (a task
    /// that kept its slot through a wait runs at once).
    fn start_or_ask(&self, due: i64, policy: &Policy) -> RetryDecision {
        let task = self.task;
        if task.slot.is_empty() || task.holds_slot {
            return self.start(policy);
        }
        let requested = RetryEvent::SlotRequested(SlotRequested {
            task_id: task.task_id.clone(),
            slot: task.slot.clone(),
            due,
            ts: self.now,
        });
        let limit = policy.login_limit.as_ref();
        let acquire = AcquireSlot {
            slot: task.slot.clone(),
            task_id: task.task_id.clone(),
            due,
            login_limit: limit.map_or(0, |l| i32::try_from(l.failures).unwrap_or(i32::MAX)),
            lock_micros: limit.map_or(0, |l| l.lock_micros()),
            ts: self.now,
        };
        Decision::with_commands(vec![requested], vec![(task.slot.clone(), RetryCommand::AcquireSlot(acquire))])
    }

    /// A run starts: counted as an attempt unless it resumes a waiting task.
    fn start(&self, policy: &Policy) -> RetryDecision {
        let task = self.task;
        let resumed = task.status == Status::Waiting;
        let attempt = if resumed { task.attempts } else { task.attempts + 1 };
        Decision::events(vec![RetryEvent::AttemptStarted(AttemptStarted {
            task_id: task.task_id.clone(),
            attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
            resumed,
            task_type: task.task_type.clone(),
            handler: handler_of(task),
            params: task.params.clone(),
            idempotency_key: task.idempotency_key.clone(),
            deadline: self.now.saturating_add(policy.attempt_timeout_micros()),
            slot: task.slot.clone(),
            ts: self.now,
        })])
    }

    /// The slot answered the run that asked it.
    fn answer(&self, c: &SlotAnswer) -> RetryDecision {
        let task = self.task;
        // A waiting task past its callback deadline does not resume: its deadline timer fails it.
        if task.awaiting_slot != Some(c.due) || !task.runnable_at(self.now) {
            // An answer to a run that is no longer asking: a slot it was granted goes back.
            return match c.answer.as_str() {
                slot::GRANTED => Decision::with_commands(Vec::new(), vec![self.release(c.due, "")]),
                _ => Decision::nothing(),
            };
        }
        let Some(policy) = self.policy() else { return Decision::nothing() };
        match c.answer.as_str() {
            slot::GRANTED => self.start(policy),
            slot::BUSY => {
                let wait = policy.exclusive.as_ref().map_or(5_000_000, |e| e.wait_micros(self.random));
                Decision::events(vec![RetryEvent::RunDeferred(RunDeferred {
                    task_id: c.task_id.clone(),
                    slot: c.slot.clone(),
                    holder: c.holder.clone(),
                    at: self.now.saturating_add(wait),
                    ts: self.now,
                })])
            }
            slot::LOCKED => {
                // As the seed: the run counts as an attempt and fails as retry_limit_reached,
                // with no call made.
                let counted = Task { attempts: task.attempts + 1, ..task.clone() };
                let decider = Decider { task: &counted, now: self.now, random: self.random };
                let seconds = c.until.saturating_sub(self.now) / 1_000_000;
                let message = format!(
                    "{} failed logins for this account: locked for {seconds} s more, no call made",
                    c.login_failures
                );
                decider.failed(&c.task_id, Failure::of(ErrorClass::RetryLimitReached, &message), Vec::new())
            }
            other => Decision::invalid(format!("a slot answers granted, busy or locked, not {other:?}")),
        }
    }

    /// The slot back from this task, with what its run said about the login.
    fn release(&self, token: i64, login: &str) -> (String, RetryCommand) {
        let task = self.task;
        let release = ReleaseSlot {
            slot: task.slot.clone(),
            task_id: task.task_id.clone(),
            token,
            login: login.to_string(),
            ts: self.now,
        };
        (task.slot.clone(), RetryCommand::ReleaseSlot(release))
    }

    /// The decision, and the release of the task's slot when its events end the holding.
    fn releasing(&self, mut decision: RetryDecision) -> RetryDecision {
        let task = self.task;
        if !task.holds_slot || decision.events.is_empty() {
            return decision;
        }
        let mut after = task.clone();
        for event in &decision.events {
            after.apply(event);
        }
        if !after.holds_slot {
            let login = self.policy().map_or("", |policy| login_outcome(policy, &decision.events));
            decision.commands.push(self.release(task.slot_token, login));
        }
        decision
    }

    fn report(&self, c: &ReportAttempt) -> RetryDecision {
        let task = self.task;
        if task.status != Status::InProgress || i64::from(c.attempt) != i64::from(task.attempts) {
            return Decision::nothing();
        }
        let Some(policy) = self.policy() else { return Decision::nothing() };
        match c.outcome.as_str() {
            "success" => self.succeeded(&c.task_id, &c.result, Vec::new()),
            "waiting" => {
                let deadline = self.now.saturating_add(policy.callback_deadline_micros());
                let poll_at = policy.poll_micros().map_or(deadline, |poll| self.now.saturating_add(poll).min(deadline));
                Decision::events(vec![RetryEvent::WaitingForCallback(WaitingForCallback {
                    task_id: c.task_id.clone(),
                    attempt: c.attempt,
                    deadline,
                    poll_at,
                    ts: self.now,
                })])
            }
            "failed" => {
                let failure = Failure {
                    class: ErrorClass::parse(&c.error_class),
                    message: c.message.clone(),
                    http_status: c.http_status,
                    body_excerpt: c.body_excerpt.clone(),
                    retry_after_micros: (c.retry_after_ms >= 0).then(|| c.retry_after_ms.saturating_mul(1_000)),
                };
                self.failed(&c.task_id, failure, Vec::new())
            }
            other => Decision::invalid(format!("outcome must be success, waiting or failed, not {other:?}")),
        }
    }

    /// A run failed: one audit entry, then the next run or the end, as the policy says.
    fn failed(&self, task_id: &str, failure: Failure, mut events: Vec<RetryEvent>) -> RetryDecision {
        let task = self.task;
        let Some(policy) = self.policy() else { return Decision::nothing() };
        events.push(RetryEvent::AttemptFailed(AttemptFailed {
            task_id: task_id.to_string(),
            attempt: i32::try_from(task.attempts).unwrap_or(i32::MAX),
            error_class: failure.class.as_str().to_string(),
            message: failure.message.clone(),
            http_status: failure.http_status,
            body_excerpt: failure.body_excerpt.clone(),
            ts: self.now,
        }));
        match policy.after_failure(failure.class, task.attempts, failure.retry_after_micros, self.now, self.random) {
            Next::RetryAt { at_micros, reason } => {
                events.push(self.retry_at(task_id, task.attempts, at_micros, reason));
                Decision::events(events)
            }
            Next::Fail { reason } => self.ended_failed(task_id, failure.class, reason, events),
        }
    }

    fn retry_at(&self, task_id: &str, attempts: u32, at: i64, reason: String) -> RetryEvent {
        RetryEvent::RetryScheduled(RetryScheduled {
            task_id: task_id.to_string(),
            attempt: i32::try_from(attempts).unwrap_or(i32::MAX),
            at,
            reason,
            ts: self.now,
        })
    }

    fn ended_failed(
        &self,
        task_id: &str,
        class: ErrorClass,
        reason: String,
        mut events: Vec<RetryEvent>,
    ) -> RetryDecision {
        let task = self.task;
        events.push(RetryEvent::TaskFailed(TaskFailed {
            task_id: task_id.to_string(),
            attempts: i32::try_from(task.attempts).unwrap_or(i32::MAX),
            error_class: class.as_str().to_string(),
            reason: reason.clone(),
            ts: self.now,
        }));
        let mut decision = self.with_reply(task_id, events, "FAILED", "", class.as_str(), &reason);
        decision.commands.extend(self.status_report(Err(class)));
        decision
    }

    fn succeeded(&self, task_id: &str, result: &str, mut events: Vec<RetryEvent>) -> RetryDecision {
        events.push(RetryEvent::TaskSucceeded(TaskSucceeded {
            task_id: task_id.to_string(),
            attempt: i32::try_from(self.task.attempts).unwrap_or(i32::MAX),
            result: result.to_string(),
            ts: self.now,
        }));
        let mut decision = self.with_reply(task_id, events, "SUCCESS", result, "", "");
        decision.commands.extend(self.status_report(Ok(())));
        decision
    }

    /// A join that ended is reported to the caller's status endpoint (its `status_url`
    /// parameter), as Midas reports to Hermes: by another retry task, so the report is retried
    /// and audited like any call. 1 (active) on success; 445, 905, 902 or 901 on failure.
    fn status_report(&self, outcome: Result<(), ErrorClass>) -> Option<(String, RetryCommand)> {
        let task = self.task;
        if handler_of(task) != "midas_join" {
            return None;
        }
        let params: serde_json::Value = serde_json::from_str(&task.params).ok()?;
        let url = params.get("status_url").and_then(serde_json::Value::as_str).filter(|url| !url.is_empty())?;
        let status = match outcome {
            Ok(()) => 1,
            Err(class) => midas_join_failure_status(class, &params["credentials"]),
        };
        let body = json!({
            "status": status,
            "journey": "join",
            "scheme_account_id": params["scheme_account_id"],
            "error_class": outcome.err().map(ErrorClass::as_str),
            "task_id": task.task_id,
        });
        let report = CreateTask {
            task_id: format!("{}:status", task.task_id),
            task_type: STATUS_REPORT_TYPE.to_string(),
            params: json!({"method": "POST", "url": url, "body": body}).to_string(),
            idempotency_key: format!("{}:status", task.idempotency_key),
            reply_topic: String::new(),
            reply_key: String::new(),
            policy: String::new(),
            not_before: 0,
            ts: self.now,
        };
        Some((report.task_id.clone(), RetryCommand::CreateTask(report)))
    }

    /// The events, and the outcome for the reply topic when the task has one and has not
    /// answered yet.
    fn with_reply(
        &self,
        task_id: &str,
        events: Vec<RetryEvent>,
        status: &str,
        result: &str,
        error_class: &str,
        reason: &str,
    ) -> RetryDecision {
        let task = self.task;
        let mut decision = Decision::events(events);
        if task.reply_topic.is_empty() || task.replied {
            return decision;
        }
        let outcome = TaskOutcome {
            task_id: task_id.to_string(),
            idempotency_key: task.idempotency_key.clone(),
            status: status.to_string(),
            result: result.to_string(),
            error_class: error_class.to_string(),
            reason: reason.to_string(),
            attempts: i32::try_from(task.attempts).unwrap_or(i32::MAX),
            ts: self.now,
        };
        // A plain record always converts; were it ever not to, the task's own events still
        // stand and the operator view shows it answered nobody.
        if let Ok(reply) = ForeignCommand::to_topic(&task.reply_topic, &task.reply_key, OUTCOME_RECORD, &outcome) {
            decision.foreign.push(reply);
        }
        decision
    }

    fn callback(&self, c: &ReceiveCallback) -> RetryDecision {
        let task = self.task;
        if task.callbacks.contains(&c.callback_id) {
            return Decision::nothing();
        }
        if task.status == Status::Unknown {
            return self.refused(&c.task_id, "ReceiveCallback", "no such task");
        }
        // A callback may overtake the report of the run that made the request (the other side
        // answered before the worker's "waiting" was decided): it ends that run, and the late
        // report finds the task no longer running and changes nothing.
        if !task.status.takes_callbacks() {
            return self.refused(&c.task_id, "ReceiveCallback", "the task is not waiting for a callback");
        }
        let Some(policy) = self.policy() else { return Decision::nothing() };
        let received = RetryEvent::CallbackReceived(CallbackReceived {
            task_id: c.task_id.clone(),
            callback_id: c.callback_id.clone(),
            outcome: c.outcome.clone(),
            error_code: c.error_code.clone(),
            ts: self.now,
        });
        match c.outcome.as_str() {
            "success" => self.succeeded(&c.task_id, &c.payload, vec![received]),
            "error" => {
                let errors = task.callback_errors + 1;
                if policy.callback_retry_codes.contains(&c.error_code) && errors < policy.callback_retries {
                    // As Midas does: the join runs again after base^n minutes, its attempts
                    // counted afresh, within a budget of callback errors of its own.
                    let at = self.now.saturating_add(policy.backoff.delay_micros(errors, self.random));
                    let reason = format!("callback error {} ({errors} of {})", c.error_code, policy.callback_retries);
                    Decision::events(vec![received, self.retry_at(&c.task_id, 0, at, reason)])
                } else {
                    let reason = format!("callback error {:?}", c.error_code);
                    self.ended_failed(&c.task_id, ErrorClass::CallbackError, reason, vec![received])
                }
            }
            other => Decision::invalid(format!("a callback's outcome is success or error, not {other:?}")),
        }
    }

    fn cancel(&self, c: &CancelTask) -> RetryDecision {
        let task = self.task;
        match task.status {
            Status::Unknown => self.refused(&c.task_id, "CancelTask", "no such task"),
            Status::Cleanup | Status::Cancelled => Decision::nothing(),
            status if !status.cancellable() => {
                self.refused(&c.task_id, "CancelTask", format!("a {} task cannot be cancelled", status.as_str()))
            }
            _ => {
                let Some(policy) = self.policy() else { return Decision::nothing() };
                if policy.cleanup.is_empty() {
                    self.cancelled(&c.task_id, &c.by)
                } else {
                    Decision::events(vec![RetryEvent::CleanupStarted(CleanupStarted {
                        task_id: c.task_id.clone(),
                        handler: policy.cleanup.clone(),
                        params: task.params.clone(),
                        deadline: self.now.saturating_add(policy.attempt_timeout_micros()),
                        by: c.by.clone(),
                        ts: self.now,
                    })])
                }
            }
        }
    }

    fn cancelled(&self, task_id: &str, by: &str) -> RetryDecision {
        let events = vec![RetryEvent::TaskCancelled(TaskCancelled {
            task_id: task_id.to_string(),
            by: by.to_string(),
            ts: self.now,
        })];
        self.with_reply(task_id, events, "CANCELLED", "", "", "cancelled")
    }

    fn cleanup(&self, c: &ReportCleanup) -> RetryDecision {
        if self.task.status != Status::Cleanup {
            return Decision::nothing();
        }
        if c.ok {
            self.cancelled(&c.task_id, &self.task.cancelled_by)
        } else {
            Decision::events(vec![RetryEvent::CleanupFailed(CleanupFailed {
                task_id: c.task_id.clone(),
                message: c.message.clone(),
                ts: self.now,
            })])
        }
    }

    fn requeue(&self, c: &RequeueTask) -> RetryDecision {
        let task = self.task;
        if c.new_task_id.is_empty() || c.new_task_id == c.task_id || c.new_task_id.starts_with(SLOT_PREFIX) {
            return Decision::invalid(format!(
                "a requeue needs a new_task_id other than the task's own, not starting with {SLOT_PREFIX:?}"
            ));
        }
        match task.status {
            Status::Requeued => Decision::nothing(),
            status if status.requeueable() => {
                let again = CreateTask {
                    task_id: c.new_task_id.clone(),
                    task_type: task.task_type.clone(),
                    params: task.params.clone(),
                    idempotency_key: task.idempotency_key.clone(),
                    reply_topic: task.reply_topic.clone(),
                    reply_key: task.reply_key.clone(),
                    policy: task.policy.as_ref().and_then(|p| serde_json::to_string(p).ok()).unwrap_or_default(),
                    not_before: 0,
                    ts: self.now,
                };
                let requeued = RetryEvent::TaskRequeued(TaskRequeued {
                    task_id: c.task_id.clone(),
                    new_task_id: c.new_task_id.clone(),
                    by: c.by.clone(),
                    ts: self.now,
                });
                Decision::with_commands(vec![requeued], vec![(c.new_task_id.clone(), RetryCommand::CreateTask(again))])
            }
            Status::Unknown => self.refused(&c.task_id, "RequeueTask", "no such task"),
            other => self.refused(
                &c.task_id,
                "RequeueTask",
                format!("only FAILED and CANCELLED tasks are requeued; this one is {}", other.as_str()),
            ),
        }
    }

    fn purge(&self, c: &PurgeTask) -> RetryDecision {
        let task = self.task;
        match task.status {
            Status::Unknown => Decision::nothing(),
            Status::Success | Status::Cancelled | Status::Requeued if task.created_at < c.before => {
                Decision::events(vec![RetryEvent::TaskPurged(TaskPurged { task_id: c.task_id.clone(), ts: self.now })])
            }
            other => self.refused(
                &c.task_id,
                "PurgeTask",
                format!(
                    "only SUCCESS, CANCELLED and REQUEUED tasks created before the time are purged; this one is {}",
                    other.as_str()
                ),
            ),
        }
    }
}

/// What a run that ended said about the login, for a policy with a login limit: a success
/// (or a submission that waits for a callback) clears the count, a counted class adds to it.
fn login_outcome(policy: &Policy, events: &[RetryEvent]) -> &'static str {
    let Some(limit) = &policy.login_limit else { return "" };
    for event in events {
        match event {
            RetryEvent::TaskSucceeded(_) | RetryEvent::WaitingForCallback(_) => return "succeeded",
            RetryEvent::AttemptFailed(f) if limit.counted.contains(&ErrorClass::parse(&f.error_class)) => {
                return "failed";
            }
            _ => {}
        }
    }
    ""
}

/// The handler of a task: its type's (fixed for the type in `task-types.toml`).
fn handler_of(task: &Task) -> String {
    TaskTypes::builtin().0.get(&task.task_type).map_or_else(|| task.task_type.clone(), |t| t.handler.clone())
}

/// What a failed run was.
struct Failure {
    class: ErrorClass,
    message: String,
    http_status: i32,
    body_excerpt: String,
    retry_after_micros: Option<i64>,
}

impl Failure {
    fn of(class: ErrorClass, message: &str) -> Self {
        Self {
            class,
            message: message.to_string(),
            http_status: 0,
            body_excerpt: String::new(),
            retry_after_micros: None,
        }
    }
}
