//! The retry state machine, transition by transition (retry-midas-source.md §2, §7, §9), as
//! given/when/then scenarios.

mod support;

use clio_aggregate::Aggregate as _;
use clio_retry::decide::Retry;
use clio_retry::messages::*;
use clio_testkit::scenario::{T0, given};
use support::*;

#[test]
fn a_created_task_is_pending_and_its_first_run_asks_its_slot_at_once() {
    given::<Retry>([])
        .when(create("midas_join", JOIN))
        .then([join_created(), asked(T0)])
        .then_commands([(SLOT.into(), acquire("t1", T0))])
        .then_timer(None);
    // A type without exclusive keys starts its first run in the same decision.
    let then = given::<Retry>([]).when(create("http", HTTP));
    let events = &then.decision.events;
    assert!(matches!(events.as_slice(), [RetryEvent::TaskCreated(_), RetryEvent::AttemptStarted(s)] if s.attempt == 1));
    then.then_timer(Some((T0 + 2 * MINUTE, run(T0 + 2 * MINUTE))));
}

#[test]
fn a_create_of_an_unknown_type_or_without_its_parameters_is_rejected_once() {
    let rejected = RetryEvent::TaskRejected(TaskRejected {
        task_id: "t1".into(),
        task_type: "midas_join".into(),
        reason: "a midas_join task needs the parameters scheme_account_id, credentials".into(),
        ts: T0,
    });
    given::<Retry>([]).when(create("midas_join", r#"{"scheme":"x"}"#)).then([rejected.clone()]).then_timer(None);
    given::<Retry>([rejected]).when(create("midas_join", JOIN)).then([]);
    given::<Retry>([join_created()]).when(create("midas_join", JOIN)).then([]);
}

#[test]
fn a_due_run_asks_its_slot_then_starts_attempt_one_and_a_stale_run_does_nothing() {
    given::<Retry>([join_created()])
        .when(run(T0))
        .then([asked(T0)])
        .then_commands([(SLOT.into(), acquire("t1", T0))])
        .then_timer(None);
    given::<Retry>([join_created(), asked(T0)])
        .when(granted(T0))
        .then([started(1, T0, false)])
        .then_timer(Some((T0 + MINUTE, run(T0 + MINUTE))));
    given::<Retry>([join_created()]).when(run(T0 - 1)).then([]);
    given::<Retry>([join_created(), asked(T0), started(1, T0, false)]).when(run(T0)).then([]);
    // A type without exclusive keys starts at once.
    let then = given::<Retry>([created("http", HTTP)]).when(run(T0));
    assert!(matches!(then_event(&then), RetryEvent::AttemptStarted(s) if s.attempt == 1 && s.slot.is_empty()));
}

#[test]
fn success_ends_the_task_and_tells_the_requester_once() {
    let succeeded = RetryEvent::TaskSucceeded(TaskSucceeded {
        task_id: "t1".into(),
        attempt: 1,
        result: r#"{"ok":true}"#.into(),
        ts: T0,
    });
    given::<Retry>([join_created(), started(1, T0, false)])
        .when(report(1, "success", ""))
        .then([succeeded.clone()])
        .then_foreign([outcome("SUCCESS", r#"{"ok":true}"#, "", "", 1, T0)])
        .then_timer(None);
    given::<Retry>([join_created(), started(1, T0, false), succeeded]).when(report(1, "success", "")).then([]);
}

#[test]
fn a_retryable_failure_waits_three_then_nine_then_twenty_seven_minutes_then_fails() {
    let mut history = vec![join_created()];
    let mut at = T0;
    for (attempt, minutes) in [(1, 3), (2, 9), (3, 27)] {
        history.push(started(attempt, at, false));
        let reason = format!("the backoff after attempt {attempt} of 4: {} s", minutes * 60);
        let due = at + minutes * MINUTE;
        given::<Retry>(history.clone())
            .at(at)
            .when(report(attempt, "failed", "end_site_down"))
            .then([failed(attempt, "end_site_down", at), retry_scheduled(attempt, at, due, &reason)])
            .then_timer(Some((due, run(due))));
        history.extend([failed(attempt, "end_site_down", at), retry_scheduled(attempt, at, due, &reason)]);
        given::<Retry>(history.clone()).at(due).when(run(due)).then([asked(due)]);
        history.push(asked(due));
        given::<Retry>(history.clone()).at(due).when(granted(due)).then([started(attempt + 1, due, false)]);
        at = due;
    }
    history.push(started(4, at, false));
    given::<Retry>(history)
        .at(T0)
        .when(report(4, "failed", "end_site_down"))
        .then([failed(4, "end_site_down", T0), task_failed(4, "end_site_down", "4 of 4 attempts made")])
        .then_foreign([outcome("FAILED", "", "end_site_down", "4 of 4 attempts made", 4, T0)])
        .then_timer(None);
}

#[test]
fn a_class_the_policy_does_not_retry_fails_at_once_and_an_unknown_name_is_the_unknown_class() {
    given::<Retry>([join_created(), started(1, T0, false)])
        .when(report(1, "failed", "not_found"))
        .then([failed(1, "not_found", T0), task_failed(1, "not_found", "not_found is not retried")]);
    let reason = "the backoff after attempt 1 of 4: 180 s";
    given::<Retry>([join_created(), started(1, T0, false)]).when(report(1, "failed", "MaxRetryError")).then([
        RetryEvent::AttemptFailed(AttemptFailed {
            error_class: "unknown".into(),
            message: "MaxRetryError happened".into(),
            ..match failed(1, "x", T0) {
                RetryEvent::AttemptFailed(f) => f,
                _ => unreachable!(),
            }
        }),
        retry_scheduled(1, T0, T0 + 3 * MINUTE, reason),
    ]);
}

#[test]
fn a_report_about_another_run_or_with_a_strange_outcome_changes_nothing() {
    given::<Retry>([join_created(), started(1, T0, false)]).when(report(2, "success", "")).then([]);
    given::<Retry>([join_created()]).when(report(1, "success", "")).then([]);
    given::<Retry>([join_created(), started(1, T0, false)])
        .when(report(1, "maybe", ""))
        .then_invalid("outcome must be success, waiting or failed, not \"maybe\"");
}

#[test]
fn a_run_the_worker_never_reports_times_out_as_its_own_class() {
    let timeout = RetryEvent::AttemptFailed(AttemptFailed {
        task_id: "t1".into(),
        attempt: 1,
        error_class: "timeout".into(),
        message: "run 1 was not reported within 120 s".into(),
        http_status: 0,
        body_excerpt: String::new(),
        ts: T0 + 2 * MINUTE,
    });
    let then = given::<Retry>([created("http", HTTP), http_started()]).at(T0 + 2 * MINUTE).when(run(T0 + 2 * MINUTE));
    then.then([timeout, {
        // The cause's jitter shortens the 60 s backoff by up to 10 %.
        let RetryEvent::RetryScheduled(r) = then_event(&then) else { panic!("a retry") };
        assert!((54_000_000..=60_000_000).contains(&(r.at - r.ts)), "{r:?}");
        RetryEvent::RetryScheduled(r)
    }]);
}

fn then_event(then: &clio_testkit::scenario::Then<Retry>) -> RetryEvent {
    then.decision.events.last().cloned().expect("an event")
}

#[test]
fn a_servers_retry_after_is_the_next_delay() {
    let mut limited = report(1, "failed", "http_429");
    if let RetryCommand::ReportAttempt(r) = &mut limited {
        r.retry_after_ms = 42_000;
    }
    let then = given::<Retry>([created("http", HTTP), http_started()]).when(limited);
    let RetryEvent::RetryScheduled(scheduled) = then_event(&then) else { panic!("a retry") };
    assert_eq!(scheduled.at, T0 + 42_000_000);
    assert!(scheduled.reason.contains("Retry-After"), "{}", scheduled.reason);
}

#[test]
fn a_submitted_run_waits_for_its_callback_until_the_deadline() {
    let deadline = T0 + 2 * 24 * 60 * MINUTE;
    given::<Retry>([join_created(), started(1, T0, false)])
        .when(report(1, "waiting", ""))
        .then([waiting(1, T0, deadline)])
        .then_timer(Some((deadline, run(deadline))));
    given::<Retry>([join_created(), started(1, T0, false), waiting(1, T0, deadline)])
        .at(deadline)
        .when(run(deadline))
        .then([
            RetryEvent::AttemptFailed(AttemptFailed {
                task_id: "t1".into(),
                attempt: 1,
                error_class: "callback_deadline".into(),
                message: "no callback came before the deadline".into(),
                http_status: 0,
                body_excerpt: String::new(),
                ts: deadline,
            }),
            RetryEvent::TaskFailed(TaskFailed {
                task_id: "t1".into(),
                attempts: 1,
                error_class: "callback_deadline".into(),
                reason: "callback_deadline is not retried".into(),
                ts: deadline,
            }),
        ]);
}

#[test]
fn a_poll_before_the_deadline_resumes_the_task_without_counting_an_attempt() {
    let deadline = T0 + 60 * MINUTE;
    let poll = RetryEvent::WaitingForCallback(WaitingForCallback {
        task_id: "t1".into(),
        attempt: 1,
        deadline,
        poll_at: T0 + MINUTE,
        ts: T0,
    });
    given::<Retry>([join_created(), started(1, T0, false), poll.clone()])
        .at(T0 + MINUTE)
        .when(run(T0 + MINUTE))
        .then([asked(T0 + MINUTE)])
        .then_timer(Some((deadline, run(deadline))));
    given::<Retry>([join_created(), started(1, T0, false), poll, asked(T0 + MINUTE)])
        .at(T0 + MINUTE)
        .when(granted(T0 + MINUTE))
        .then([started(1, T0 + MINUTE, true)]);
}

#[test]
fn a_callback_ends_a_waiting_task_and_a_repeat_or_a_stranger_is_refused_or_ignored() {
    let deadline = T0 + 2 * 24 * 60 * MINUTE;
    let history = [join_created(), started(1, T0, false), waiting(1, T0, deadline)];
    let succeeded = RetryEvent::TaskSucceeded(TaskSucceeded {
        task_id: "t1".into(),
        attempt: 1,
        result: r#"{"card":"1"}"#.into(),
        ts: T0,
    });
    given::<Retry>(history.clone())
        .when(callback("cb1", "success", ""))
        .then([received("cb1", "success", ""), succeeded.clone()])
        .then_foreign([outcome("SUCCESS", r#"{"card":"1"}"#, "", "", 1, T0)]);
    let done = [history.to_vec(), vec![received("cb1", "success", ""), succeeded]].concat();
    given::<Retry>(done.clone()).when(callback("cb1", "success", "")).then([]);
    given::<Retry>(done).when(callback("cb2", "success", "")).then([refused(
        "ReceiveCallback",
        "SUCCESS",
        "the task is not waiting for a callback",
    )]);
    given::<Retry>([]).when(callback("cb1", "success", "")).then([refused(
        "ReceiveCallback",
        "UNKNOWN",
        "no such task",
    )]);
}

#[test]
fn a_callback_that_overtakes_its_runs_report_ends_the_run_and_the_late_report_changes_nothing() {
    let succeeded = RetryEvent::TaskSucceeded(TaskSucceeded {
        task_id: "t1".into(),
        attempt: 1,
        result: r#"{"card":"1"}"#.into(),
        ts: T0,
    });
    given::<Retry>([join_created(), started(1, T0, false)])
        .when(callback("cb1", "success", ""))
        .then([received("cb1", "success", ""), succeeded.clone()]);
    given::<Retry>([join_created(), started(1, T0, false), received("cb1", "success", ""), succeeded])
        .when(report(1, "waiting", ""))
        .then([]);
}

#[test]
fn join_errors_in_callbacks_run_the_join_again_twice_then_fail() {
    let deadline = T0 + 2 * 24 * 60 * MINUTE;
    let mut history = vec![join_created(), started(1, T0, false), waiting(1, T0, deadline)];
    for (n, minutes) in [(1, 3), (2, 9)] {
        let id = format!("cb{n}");
        let reason = format!("callback error JOIN_ERROR ({n} of 3)");
        let retry = retry_scheduled(0, T0, T0 + minutes * MINUTE, &reason);
        given::<Retry>(history.clone())
            .when(callback(&id, "error", "JOIN_ERROR"))
            .then([received(&id, "error", "JOIN_ERROR"), retry.clone()]);
        history.extend([received(&id, "error", "JOIN_ERROR"), retry, started(1, T0, false), waiting(1, T0, deadline)]);
    }
    given::<Retry>(history).when(callback("cb3", "error", "JOIN_ERROR")).then([
        received("cb3", "error", "JOIN_ERROR"),
        task_failed(1, "callback_error", "callback error \"JOIN_ERROR\""),
    ]);
    given::<Retry>([join_created(), started(1, T0, false), waiting(1, T0, deadline)])
        .when(callback("cb1", "error", "BAD_EMAIL"))
        .then([
            received("cb1", "error", "BAD_EMAIL"),
            task_failed(1, "callback_error", "callback error \"BAD_EMAIL\""),
        ]);
}

#[test]
fn cancel_ends_a_task_that_is_not_running_and_says_why_it_cannot_otherwise() {
    given::<Retry>([join_created()])
        .when(cancel())
        .then([cancelled()])
        .then_foreign([outcome("CANCELLED", "", "", "cancelled", 0, T0)])
        .then_timer(None);
    given::<Retry>([join_created(), cancelled()]).when(cancel()).then([]);
    given::<Retry>([join_created(), started(1, T0, false)]).when(cancel()).then([refused(
        "CancelTask",
        "IN_PROGRESS",
        "a IN_PROGRESS task cannot be cancelled",
    )]);
    given::<Retry>([]).when(cancel()).then([refused("CancelTask", "UNKNOWN", "no such task")]);
}

#[test]
fn a_type_with_a_cleanup_handler_cleans_up_before_it_is_cancelled() {
    let mut create = create("http", HTTP);
    if let RetryCommand::CreateTask(c) = &mut create {
        c.policy = r#"{"cleanup":"http"}"#.into();
    }
    let then = given::<Retry>([]).when(create);
    let created = then.decision.events.first().cloned().expect("created");
    let cleanup = RetryEvent::CleanupStarted(CleanupStarted {
        task_id: "t1".into(),
        handler: "http".into(),
        params: HTTP.into(),
        deadline: T0 + 2 * MINUTE,
        by: "ops".into(),
        ts: T0,
    });
    given::<Retry>([created.clone()])
        .when(cancel())
        .then([cleanup.clone()])
        .then_timer(Some((T0 + 2 * MINUTE, run(T0 + 2 * MINUTE))));
    let ok =
        RetryCommand::ReportCleanup(ReportCleanup { task_id: "t1".into(), ok: true, message: String::new(), ts: T0 });
    given::<Retry>([created.clone(), cleanup.clone()]).when(ok.clone()).then([cancelled()]);
    let bad =
        RetryCommand::ReportCleanup(ReportCleanup { task_id: "t1".into(), ok: false, message: "409".into(), ts: T0 });
    let cleanup_failed =
        RetryEvent::CleanupFailed(CleanupFailed { task_id: "t1".into(), message: "409".into(), ts: T0 });
    given::<Retry>([created.clone(), cleanup.clone()]).when(bad).then([cleanup_failed.clone()]);
    given::<Retry>([created.clone(), cleanup.clone(), cleanup_failed]).when(cancel()).then([cleanup]);
    given::<Retry>([created]).when(ok).then([]);
}

#[test]
fn requeue_makes_a_failed_task_a_new_pending_one_once() {
    let requeue = RetryCommand::RequeueTask(RequeueTask {
        task_id: "t1".into(),
        new_task_id: "t2".into(),
        by: "ops".into(),
        ts: T0,
    });
    let gone = [join_created(), started(1, T0, false), failed(1, "not_found", T0), task_failed(1, "not_found", "x")];
    let requeued = RetryEvent::TaskRequeued(TaskRequeued {
        task_id: "t1".into(),
        new_task_id: "t2".into(),
        by: "ops".into(),
        ts: T0,
    });
    let again = RetryCommand::CreateTask(CreateTask {
        task_id: "t2".into(),
        task_type: "midas_join".into(),
        params: JOIN.into(),
        idempotency_key: "key-1".into(),
        reply_topic: "orders.commands".into(),
        reply_key: "order-9".into(),
        policy: policy_of("midas_join"),
        not_before: 0,
        ts: T0,
    });
    given::<Retry>(gone.clone()).when(requeue.clone()).then([requeued.clone()]).then_commands([("t2".into(), again)]);
    given::<Retry>([gone.to_vec(), vec![requeued]].concat()).when(requeue.clone()).then([]);
    given::<Retry>([join_created()]).when(requeue).then([refused(
        "RequeueTask",
        "PENDING",
        "only FAILED and CANCELLED tasks are requeued; this one is PENDING",
    )]);
}

#[test]
fn purge_forgets_old_finished_tasks_and_keeps_failed_ones() {
    let purge = |before| RetryCommand::PurgeTask(PurgeTask { task_id: "t1".into(), before, ts: T0 });
    given::<Retry>([join_created(), cancelled()])
        .when(purge(T0 + 1))
        .then([RetryEvent::TaskPurged(TaskPurged { task_id: "t1".into(), ts: T0 })]);
    given::<Retry>([join_created(), cancelled()]).when(purge(T0)).then([refused(
        "PurgeTask",
        "CANCELLED",
        "only SUCCESS, CANCELLED and REQUEUED tasks created before the time are purged; this one is CANCELLED",
    )]);
    let failed_task = [join_created(), task_failed(1, "not_found", "x")];
    let then = given::<Retry>(failed_task).when(purge(T0 + 1));
    assert!(matches!(then_event(&then), RetryEvent::CommandRefused(_)));
    given::<Retry>([]).when(purge(T0 + 1)).then([]);
}

#[test]
fn every_command_is_addressed_to_its_task() {
    for command in
        [create("http", "{}"), run(T0), report(1, "success", ""), callback("c", "success", ""), cancel(), granted(T0)]
    {
        assert_eq!(Retry::entity_key(&command), "t1");
    }
    assert_eq!(Retry::entity_key(&acquire("t1", T0)), SLOT);
    assert_eq!(Retry::entity_key(&release(T0, "", T0).1), SLOT);
}

#[test]
fn a_task_scheduled_ahead_is_first_due_at_its_not_before() {
    let mut ahead = create("midas_join", JOIN);
    if let RetryCommand::CreateTask(c) = &mut ahead {
        c.not_before = T0 + 60 * MINUTE;
    }
    let then = given::<Retry>([]).when(ahead);
    then.then_timer(Some((T0 + 60 * MINUTE, run(T0 + 60 * MINUTE))));
    // A not_before in the past is at once.
    let mut past = create("midas_join", JOIN);
    if let RetryCommand::CreateTask(c) = &mut past {
        c.not_before = T0 - MINUTE;
    }
    let then = given::<Retry>([]).when(past);
    assert_eq!(then.decision.events.get(1), Some(&asked(T0)), "{:?}", then.decision);
}
