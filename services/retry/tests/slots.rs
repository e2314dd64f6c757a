//! Exclusive keys and the login limit (retry-midas-source.md §5 and §7), the join's status
//! report, and who asked for a cancel or a requeue: given/when/then on a task and on its slot,
//! and two joins of one account in one world.

mod support;

use clio_retry::decide::{Entity, Retry};
use clio_retry::messages::*;
use clio_retry::task::Status;
use clio_testkit::scenario::{T0, World, given};
use serde_json::{Value, json};
use support::*;

fn taken(task_id: &str, token: i64, failures: i32, at: i64) -> RetryEvent {
    RetryEvent::SlotTaken(SlotTaken {
        slot: SLOT.into(),
        task_id: task_id.into(),
        token,
        login_failures: failures,
        ts: at,
    })
}

fn freed(task_id: &str, failures: i32, at: i64) -> RetryEvent {
    RetryEvent::SlotFreed(SlotFreed { slot: SLOT.into(), task_id: task_id.into(), login_failures: failures, ts: at })
}

fn slot_answer(task_id: &str, due: i64, kind: &str, holder: &str, until: i64, failures: i32) -> (String, RetryCommand) {
    let answer = SlotAnswer {
        task_id: task_id.into(),
        slot: SLOT.into(),
        due,
        answer: kind.into(),
        holder: holder.into(),
        until,
        login_failures: failures,
        ts: due,
    };
    (task_id.into(), RetryCommand::SlotAnswer(answer))
}

fn release_by(task_id: &str, token: i64, login: &str) -> RetryCommand {
    RetryCommand::ReleaseSlot(ReleaseSlot {
        slot: SLOT.into(),
        task_id: task_id.into(),
        token,
        login: login.into(),
        ts: T0,
    })
}

#[test]
fn a_free_slot_is_granted_and_a_held_one_answers_busy_with_its_holder() {
    given::<Retry>([])
        .when(acquire("t1", T0))
        .then([taken("t1", T0, 0, T0)])
        .then_commands([slot_answer("t1", T0, "granted", "", 0, 0)]);
    given::<Retry>([taken("t1", T0, 0, T0)])
        .when(acquire("t2", T0))
        .then([])
        .then_commands([slot_answer("t2", T0, "busy", "t1", 0, 0)]);
    // The holder asking again (its answer was lost to a crash) is granted again.
    given::<Retry>([taken("t1", T0, 0, T0)]).when(acquire("t1", T0)).then([taken("t1", T0, 0, T0)]);
}

#[test]
fn a_release_frees_the_slot_only_for_its_holder_and_run() {
    let held = [taken("t1", T0, 0, T0)];
    given::<Retry>(held.clone()).when(release_by("t1", T0, "")).then([freed("t1", 0, T0)]);
    given::<Retry>(held.clone()).when(release_by("t2", T0, "")).then([]);
    given::<Retry>(held).when(release_by("t1", T0 - 1, "")).then([]);
}

#[test]
fn a_busy_slot_defers_the_run_five_to_twenty_seconds_without_counting_it() {
    let then = given::<Retry>([join_created(), asked(T0)]).when(answer(T0, "busy", "t0", 0, 0));
    let [RetryEvent::RunDeferred(deferred)] = then.decision.events.as_slice() else { panic!("{:?}", then.decision) };
    assert_eq!(deferred.holder, "t0");
    assert!((5_000_000..=20_000_000).contains(&(deferred.at - T0)), "{deferred:?}");
    let Entity::Task(task) = &then.state else { panic!("a task") };
    assert_eq!((task.status, task.attempts, task.next_due), (Status::Pending, 0, Some(deferred.at)));
    // Across causes the wait spreads over the whole range, whole seconds.
    let waits: std::collections::BTreeSet<i64> = (0..400)
        .map(|offset| {
            let then =
                given::<Retry>([join_created(), asked(T0)]).at_offset(offset).when(answer(T0, "busy", "t0", 0, 0));
            match then.decision.events.as_slice() {
                [RetryEvent::RunDeferred(d)] => (d.at - T0) / 1_000_000,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(waits, (5..=20).collect(), "every whole second from 5 to 20");
}

#[test]
fn the_end_of_a_run_releases_its_slot_and_says_what_the_login_did() {
    let running = [join_created(), asked(T0), started(1, T0, false)];
    given::<Retry>(running.clone())
        .when(report(1, "failed", "login_failed"))
        .then([failed(1, "login_failed", T0), task_failed(1, "login_failed", "login_failed is not retried")])
        .then_commands([release(T0, "failed", T0)]);
    given::<Retry>(running.clone()).when(report(1, "waiting", "")).then_commands([release(T0, "succeeded", T0)]);
    given::<Retry>(running.clone()).when(report(1, "failed", "end_site_down")).then_commands([release(T0, "", T0)]);
    // A report about another run changes nothing, and releases nothing.
    given::<Retry>(running).when(report(2, "success", "")).then([]).then_commands([]);
}

#[test]
fn a_grant_that_comes_too_late_goes_back() {
    // Cancelled while it waited for the slot.
    given::<Retry>([join_created(), asked(T0), cancelled()])
        .when(granted(T0))
        .then([])
        .then_commands([release(T0, "", T0)]);
    // An answer to an earlier request.
    given::<Retry>([join_created(), asked(T0 + MINUTE)])
        .when(granted(T0))
        .then([])
        .then_commands([release(T0, "", T0)]);
    given::<Retry>([join_created(), asked(T0 + MINUTE)])
        .when(answer(T0, "busy", "t0", 0, 0))
        .then([])
        .then_commands([]);
}

#[test]
fn five_failed_logins_lock_the_account_for_fifteen_minutes_rearmed_by_every_refused_run() {
    let lock = 15 * MINUTE;
    let failures: Vec<RetryEvent> = (1..=5).map(|n| freed("t1", n, T0)).collect();
    let then = given::<Retry>(failures.clone()).at(T0 + MINUTE).when(acquire("t2", T0 + MINUTE));
    let locked = RetryEvent::SlotLocked(SlotLocked {
        slot: SLOT.into(),
        task_id: "t2".into(),
        login_failures: 5,
        until: T0 + MINUTE + lock,
        ts: T0 + MINUTE,
    });
    then.then([locked.clone()]).then_commands([slot_answer("t2", T0 + MINUTE, "locked", "", T0 + MINUTE + lock, 5)]);
    // Four failures are not enough.
    given::<Retry>(failures[..4].to_vec()).when(acquire("t2", T0)).then([taken("t2", T0, 4, T0)]);
    // Ten minutes into the lock another run is refused and the lock moves on.
    let later = T0 + 11 * MINUTE;
    let history = [failures.clone(), vec![locked]].concat();
    let rearmed = given::<Retry>(history.clone()).at(later).when(acquire("t2", later));
    assert!(
        matches!(rearmed.decision.events.as_slice(), [RetryEvent::SlotLocked(l)] if l.until == later + lock),
        "{:?}",
        rearmed.decision
    );
    // Once the lock has run out, the count starts again.
    let after = T0 + MINUTE + lock;
    given::<Retry>(history).at(after).when(acquire("t2", after)).then([taken("t2", after, 0, after)]);
    // A success clears the count.
    given::<Retry>([taken("t1", T0, 4, T0)]).when(release_by("t1", T0, "succeeded")).then([freed("t1", 0, T0)]);
}

#[test]
fn a_run_refused_by_the_login_limit_counts_as_an_attempt_that_made_no_call() {
    let until = T0 + 15 * MINUTE;
    let then = given::<Retry>([join_created(), asked(T0)]).when(answer(T0, "locked", "", until, 5));
    let [RetryEvent::AttemptFailed(failure), RetryEvent::RetryScheduled(retry)] = then.decision.events.as_slice()
    else {
        panic!("{:?}", then.decision)
    };
    assert_eq!((failure.attempt, failure.error_class.as_str()), (1, "retry_limit_reached"));
    assert!(failure.message.contains("5 failed logins") && failure.message.contains("no call made"), "{failure:?}");
    assert_eq!((retry.attempt, retry.at), (1, T0 + 3 * MINUTE), "Midas retries retry_limit_reached: 3 minutes");
    assert!(then.decision.commands.is_empty(), "it never held the slot: {:?}", then.decision.commands);
}

#[test]
fn a_join_that_ends_reports_its_status_to_the_callers_endpoint_by_a_task_of_its_own() {
    let params = json!({"scheme": "iceland", "scheme_account_id": 7, "credentials": {"card_number": "1"},
                        "status_url": "http://hermes/schemes/accounts/7/status"})
    .to_string();
    let joined = created("midas_join", &params);
    let running = [joined, asked(T0), started(1, T0, false)];
    let report_of = |then: &clio_testkit::scenario::Then<Retry>| -> (Value, String) {
        let create = then.decision.commands.iter().find_map(|(key, command)| match command {
            RetryCommand::CreateTask(c) => Some((key.clone(), c.clone())),
            _ => None,
        });
        let (key, create) = create.expect("a status report task");
        assert_eq!((key.as_str(), create.task_id.as_str()), ("t1:status", "t1:status"));
        assert_eq!((create.task_type.as_str(), create.idempotency_key.as_str()), ("midas_status", "key-1:status"));
        let params: Value = serde_json::from_str(&create.params).expect("json");
        assert_eq!(params["url"], "http://hermes/schemes/accounts/7/status");
        (params["body"].clone(), create.task_id)
    };
    let (body, _) = report_of(&given::<Retry>(running.clone()).when(report(1, "success", "")));
    assert_eq!((body["status"].clone(), body["scheme_account_id"].clone()), (json!(1), json!(7)), "{body}");
    let (body, _) = report_of(&given::<Retry>(running.clone()).when(report(1, "failed", "not_found")));
    assert_eq!(body["status"], 902, "a card number is kept: registration failed ({body})");
    // Without a status_url nothing is reported.
    let quiet = [join_created(), asked(T0), started(1, T0, false)];
    let then = given::<Retry>(quiet).when(report(1, "success", ""));
    assert!(!then.decision.commands.iter().any(|(_, c)| matches!(c, RetryCommand::CreateTask(_))));
}

#[test]
fn a_task_id_may_not_be_a_slots_and_a_policy_names_its_exclusive_keys_well() {
    let mut create = create("midas_join", JOIN);
    if let RetryCommand::CreateTask(c) = &mut create {
        c.task_id = format!("{SLOT}x");
    }
    given::<Retry>([]).when(create).then_invalid("may not start with \"exclusive:\"");
    let types = clio_retry::policy::TaskTypes::builtin();
    let http = r#"{"method":"GET","url":"http://x"}"#;
    assert!(types.resolve("http", http, r#"{"exclusive":{"keys":["url","url"]}}"#).unwrap_err().contains("twice"));
    assert!(types.resolve("http", http, r#"{"exclusive":{"keys":["nope"]}}"#).unwrap_err().contains("\"nope\""));
    let holding = r#"{"exclusive":{"keys":["url"],"holding":["SLEEPING"]}}"#;
    assert!(types.resolve("http", http, holding).unwrap_err().contains("SLEEPING"));
    let limit = r#"{"login_limit":{"failures":5,"lock_seconds":900,"counted":["login_failed"]}}"#;
    assert!(types.resolve("http", http, limit).unwrap_err().contains("exclusive.keys"));
    assert!(types.resolve("http", http, r#"{"exclusive":{"keys":["url"]}}"#).is_ok());
}

#[test]
fn who_cancels_or_requeues_is_on_the_log() {
    let then = given::<Retry>([join_created()]).when(cancel());
    assert!(matches!(then.decision.events.as_slice(), [RetryEvent::TaskCancelled(c)] if c.by == "ops"));
}

/// Two joins of one account, created together: the second waits while the first runs, then
/// runs; the slot is free at the end.
#[test]
fn two_joins_of_one_account_run_one_at_a_time() {
    let mut world = World::<Retry>::default();
    for task_id in ["j1", "j2"] {
        let mut create = create("midas_join", JOIN);
        if let RetryCommand::CreateTask(c) = &mut create {
            c.task_id = task_id.into();
            c.idempotency_key = task_id.into();
        }
        world.send(create);
    }
    world.advance_to(T0);
    let status = |world: &World<Retry>, id: &str| world.state(id).task().map(|t| (t.status, t.attempts));
    assert_eq!(status(&world, "j1"), Some((Status::InProgress, 1)));
    assert_eq!(status(&world, "j2"), Some((Status::Pending, 0)), "deferred while j1 holds the account");
    let Entity::Slot(slot) = world.state(SLOT) else { panic!("the slot") };
    assert_eq!(slot.holder, "j1");
    // j1 ends; j2's deferred run then finds the slot free.
    world.send(RetryCommand::ReportAttempt(ReportAttempt {
        task_id: "j1".into(),
        ..match report(1, "success", "") {
            RetryCommand::ReportAttempt(r) => r,
            _ => unreachable!(),
        }
    }));
    world.advance_to(T0 + 21_000_000);
    assert_eq!(status(&world, "j1"), Some((Status::Success, 1)));
    assert_eq!(status(&world, "j2"), Some((Status::InProgress, 1)));
    let Entity::Slot(slot) = world.state(SLOT) else { panic!("the slot") };
    assert_eq!(slot.holder, "j2");
}

#[test]
fn a_grant_after_a_waiting_tasks_deadline_goes_back_and_the_deadline_fails_it() {
    let deadline = T0 + MINUTE;
    let poll = RetryEvent::WaitingForCallback(WaitingForCallback {
        task_id: "t1".into(),
        attempt: 1,
        deadline,
        poll_at: T0 + 30_000_000,
        ts: T0,
    });
    let history = [join_created(), asked(T0), started(1, T0, false), poll, asked(T0 + 30_000_000)];
    given::<Retry>(history.clone())
        .at(deadline)
        .when(granted(T0 + 30_000_000))
        .then([])
        .then_commands([release(T0 + 30_000_000, "", deadline)])
        .then_timer(Some((deadline, run(deadline))));
    let then = given::<Retry>(history).at(deadline).when(run(deadline));
    assert!(
        matches!(then.decision.events.last(), Some(RetryEvent::TaskFailed(f)) if f.error_class == "callback_deadline"),
        "{:?}",
        then.decision
    );
}
