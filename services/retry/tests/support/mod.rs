//! Helpers shared by the retry scenarios: the records of one join task `t1` (JOIN's scheme and
//! account), built as the domain would decide them.
#![allow(dead_code)]

use clio_aggregate::ForeignCommand;
use clio_retry::decide::OUTCOME_RECORD;
use clio_retry::messages::*;
use clio_retry::policy::TaskTypes;
use clio_testkit::scenario::T0;

pub const MINUTE: i64 = 60_000_000;
pub const JOIN: &str = r#"{"scheme":"iceland","scheme_account_id":7,"credentials":{"email":"a@b.c"}}"#;

pub fn create(task_type: &str, params: &str) -> RetryCommand {
    RetryCommand::CreateTask(CreateTask {
        task_id: "t1".into(),
        task_type: task_type.into(),
        params: params.into(),
        idempotency_key: "key-1".into(),
        reply_topic: "orders.commands".into(),
        reply_key: "order-9".into(),
        policy: String::new(),
        not_before: 0,
        ts: T0,
    })
}

pub fn policy_of(task_type: &str) -> String {
    serde_json::to_string(&TaskTypes::builtin().0[task_type].policy).expect("json")
}

pub fn created(task_type: &str, params: &str) -> RetryEvent {
    RetryEvent::TaskCreated(TaskCreated {
        task_id: "t1".into(),
        task_type: task_type.into(),
        params: params.into(),
        idempotency_key: "key-1".into(),
        reply_topic: "orders.commands".into(),
        reply_key: "order-9".into(),
        policy: policy_of(task_type),
        not_before: 0,
        ts: T0,
    })
}

/// A generic HTTP task's parameters.
pub const HTTP: &str = r#"{"method":"POST","url":"http://sandbox/x"}"#;

/// Run 1 of the HTTP task `t1`, started at T0 with the type's 120 s to report.
pub fn http_started() -> RetryEvent {
    RetryEvent::AttemptStarted(AttemptStarted {
        task_id: "t1".into(),
        attempt: 1,
        resumed: false,
        task_type: "http".into(),
        handler: "http".into(),
        params: HTTP.into(),
        idempotency_key: "key-1".into(),
        deadline: T0 + 2 * MINUTE,
        slot: String::new(),
        ts: T0,
    })
}

pub fn join_created() -> RetryEvent {
    created("midas_join", JOIN)
}

pub fn started(attempt: i32, at: i64, resumed: bool) -> RetryEvent {
    RetryEvent::AttemptStarted(AttemptStarted {
        task_id: "t1".into(),
        attempt,
        resumed,
        task_type: "midas_join".into(),
        handler: "midas_join".into(),
        params: JOIN.into(),
        idempotency_key: "key-1".into(),
        deadline: at + MINUTE,
        slot: SLOT.into(),
        ts: at,
    })
}

/// The slot of JOIN's scheme and account.
pub const SLOT: &str = r#"exclusive:midas_join:["iceland",7]"#;

pub fn asked(due: i64) -> RetryEvent {
    RetryEvent::SlotRequested(SlotRequested { task_id: "t1".into(), slot: SLOT.into(), due, ts: due })
}

pub fn acquire(task_id: &str, due: i64) -> RetryCommand {
    RetryCommand::AcquireSlot(AcquireSlot {
        slot: SLOT.into(),
        task_id: task_id.into(),
        due,
        login_limit: 5,
        lock_micros: 15 * MINUTE,
        ts: due,
    })
}

pub fn answer(due: i64, answer: &str, holder: &str, until: i64, failures: i32) -> RetryCommand {
    RetryCommand::SlotAnswer(SlotAnswer {
        task_id: "t1".into(),
        slot: SLOT.into(),
        due,
        answer: answer.into(),
        holder: holder.into(),
        until,
        login_failures: failures,
        ts: due,
    })
}

pub fn granted(due: i64) -> RetryCommand {
    answer(due, "granted", "", 0, 0)
}

pub fn release(token: i64, login: &str, at: i64) -> (String, RetryCommand) {
    let release = ReleaseSlot { slot: SLOT.into(), task_id: "t1".into(), token, login: login.into(), ts: at };
    (SLOT.into(), RetryCommand::ReleaseSlot(release))
}

pub fn run(due: i64) -> RetryCommand {
    RetryCommand::RunTask(RunTask { task_id: "t1".into(), due, ts: due })
}

pub fn report(attempt: i32, outcome: &str, class: &str) -> RetryCommand {
    RetryCommand::ReportAttempt(ReportAttempt {
        task_id: "t1".into(),
        attempt,
        outcome: outcome.into(),
        error_class: class.into(),
        message: format!("{class} happened"),
        http_status: if class.is_empty() { 0 } else { 503 },
        body_excerpt: String::new(),
        retry_after_ms: -1,
        result: if outcome == "success" { r#"{"ok":true}"#.into() } else { String::new() },
        ts: T0,
    })
}

pub fn failed(attempt: i32, class: &str, at: i64) -> RetryEvent {
    RetryEvent::AttemptFailed(AttemptFailed {
        task_id: "t1".into(),
        attempt,
        error_class: class.into(),
        message: format!("{class} happened"),
        http_status: 503,
        body_excerpt: String::new(),
        ts: at,
    })
}

pub fn retry_scheduled(attempt: i32, at: i64, due: i64, reason: &str) -> RetryEvent {
    RetryEvent::RetryScheduled(RetryScheduled { task_id: "t1".into(), attempt, at: due, reason: reason.into(), ts: at })
}

pub fn outcome(status: &str, result: &str, class: &str, reason: &str, attempts: i32, at: i64) -> ForeignCommand {
    let outcome = TaskOutcome {
        task_id: "t1".into(),
        idempotency_key: "key-1".into(),
        status: status.into(),
        result: result.into(),
        error_class: class.into(),
        reason: reason.into(),
        attempts,
        ts: at,
    };
    ForeignCommand::to_topic("orders.commands", "order-9", OUTCOME_RECORD, &outcome).expect("a record")
}

pub fn waiting(attempt: i32, at: i64, deadline: i64) -> RetryEvent {
    RetryEvent::WaitingForCallback(WaitingForCallback {
        task_id: "t1".into(),
        attempt,
        deadline,
        poll_at: deadline,
        ts: at,
    })
}

pub fn callback(id: &str, outcome: &str, code: &str) -> RetryCommand {
    RetryCommand::ReceiveCallback(ReceiveCallback {
        task_id: "t1".into(),
        callback_id: id.into(),
        outcome: outcome.into(),
        error_code: code.into(),
        payload: r#"{"card":"1"}"#.into(),
        ts: T0,
    })
}

pub fn received(id: &str, outcome: &str, code: &str) -> RetryEvent {
    RetryEvent::CallbackReceived(CallbackReceived {
        task_id: "t1".into(),
        callback_id: id.into(),
        outcome: outcome.into(),
        error_code: code.into(),
        ts: T0,
    })
}

pub fn refused(command: &str, status: &str, reason: &str) -> RetryEvent {
    RetryEvent::CommandRefused(CommandRefused {
        task_id: "t1".into(),
        command: format!("clio.retry.{command}"),
        status: status.into(),
        reason: reason.into(),
        ts: T0,
    })
}

pub fn cancel() -> RetryCommand {
    RetryCommand::CancelTask(CancelTask { task_id: "t1".into(), by: "ops".into(), ts: T0 })
}

pub fn cancelled() -> RetryEvent {
    RetryEvent::TaskCancelled(TaskCancelled { task_id: "t1".into(), by: "ops".into(), ts: T0 })
}

pub fn task_failed(attempts: i32, class: &str, reason: &str) -> RetryEvent {
    RetryEvent::TaskFailed(TaskFailed {
        task_id: "t1".into(),
        attempts,
        error_class: class.into(),
        reason: reason.into(),
        ts: T0,
    })
}
