//! Invariants over random runs: whatever the worker reports, in whatever order, repeated or
//! late, attempts never exceed the maximum, every delay follows the policy, and every task
//! ends in exactly one terminal status, answered once.

use clio_retry::classify::ErrorClass;
use clio_retry::decide::{Entity, Retry};
use clio_retry::messages::*;
use clio_retry::policy::TaskTypes;
use clio_retry::task::{Status, Task};
use clio_testkit::scenario::{T0, World};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Let time pass until the task's next timer.
    Tick,
    /// The worker reports the current run.
    Report {
        outcome: u8,
        class: usize,
        retry_after: Option<i64>,
    },
    /// A report repeated, or about an earlier run.
    Stale,
    Callback {
        id: u8,
        ok: bool,
        join_error: bool,
    },
    Cancel,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Tick),
        6 => (0u8..3, 0..ErrorClass::ALL.len(), proptest::option::of(0i64..600_000)).prop_map(|(outcome, class, retry_after)| Step::Report { outcome, class, retry_after }),
        1 => Just(Step::Stale),
        2 => (0u8..4, any::<bool>(), any::<bool>()).prop_map(|(id, ok, join_error)| Step::Callback { id, ok, join_error }),
        1 => Just(Step::Cancel),
    ]
}

fn create(task_type: &str) -> RetryCommand {
    let params = if task_type == "http" {
        r#"{"method":"POST","url":"http://sandbox/x"}"#
    } else {
        r#"{"scheme":"s","scheme_account_id":1,"credentials":{}}"#
    };
    RetryCommand::CreateTask(CreateTask {
        task_id: "t".into(),
        task_type: task_type.into(),
        params: params.into(),
        idempotency_key: String::new(),
        reply_topic: "caller.commands".into(),
        reply_key: "k".into(),
        policy: String::new(),
        not_before: 0,
        ts: T0,
    })
}

fn report(attempt: i32, outcome: &str, class: ErrorClass, retry_after: Option<i64>, now: i64) -> RetryCommand {
    RetryCommand::ReportAttempt(ReportAttempt {
        task_id: "t".into(),
        attempt,
        outcome: outcome.into(),
        error_class: class.as_str().into(),
        message: String::new(),
        http_status: 0,
        body_excerpt: String::new(),
        retry_after_ms: retry_after.unwrap_or(-1),
        result: "{}".into(),
        ts: now,
    })
}

fn play(world: &mut World<Retry>, step: &Step) {
    let task = task_of(world);
    let now = world.now;
    match step {
        Step::Tick => {
            if let Some(due) = task.next_due {
                world.advance_to(due);
            }
        }
        Step::Report { outcome, class, retry_after } => {
            let outcome = ["success", "failed", "waiting"][usize::from(*outcome)];
            let attempt = i32::try_from(task.attempts).unwrap_or(0);
            world.send(report(attempt, outcome, ErrorClass::ALL[*class], *retry_after, now));
        }
        Step::Stale => {
            let attempt = i32::try_from(task.attempts).unwrap_or(0) - 1;
            world.send(report(attempt, "success", ErrorClass::Unknown, None, now));
        }
        Step::Callback { id, ok, join_error } => {
            let command = ReceiveCallback {
                task_id: "t".into(),
                callback_id: format!("cb{id}"),
                outcome: if *ok { "success" } else { "error" }.into(),
                error_code: if *join_error { "JOIN_ERROR" } else { "OTHER" }.into(),
                payload: "{}".into(),
                ts: now,
            };
            world.send(RetryCommand::ReceiveCallback(command));
        }
        Step::Cancel => {
            world.send(RetryCommand::CancelTask(CancelTask { task_id: "t".into(), by: String::new(), ts: now }));
        }
    }
}

fn task_of(world: &World<Retry>) -> Task {
    world.state("t").task().cloned().unwrap_or_default()
}

fn terminal(event: &RetryEvent) -> bool {
    matches!(event, RetryEvent::TaskSucceeded(_) | RetryEvent::TaskFailed(_) | RetryEvent::TaskCancelled(_))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn attempts_stay_within_the_maximum_delays_follow_the_policy_and_a_task_ends_once(
        midas in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        let task_type = if midas { "midas_join" } else { "http" };
        let policy = TaskTypes::builtin().0[task_type].policy.clone();
        let mut world = World::<Retry>::default();
        world.send(create(task_type));
        for step in &steps {
            play(&mut world, step);
            let task = task_of(&world);
            prop_assert!(task.attempts <= policy.max_attempts, "{} attempts: {task:?}", task.attempts);
        }
        // Then the worker fails every run until the task gives up.
        for _ in 0..50 {
            let task = task_of(&world);
            if task.status.is_final() {
                break;
            }
            let now = world.now;
            match task.status {
                Status::InProgress => {
                    let attempt = i32::try_from(task.attempts).unwrap_or(0);
                    world.send(report(attempt, "failed", ErrorClass::Unknown, None, now));
                }
                _ => play(&mut world, &Step::Tick),
            }
        }
        let task = task_of(&world);
        prop_assert!(task.status.is_final(), "the task ends: {task:?}");
        // A FAILED task may still be cancelled (the library's cancellable set): its last end is
        // the one that stands, and the requester hears of the first only.
        let last_end = world.events.iter().rev().find(|e| terminal(e));
        let ended_as = match last_end {
            Some(RetryEvent::TaskSucceeded(_)) => Status::Success,
            Some(RetryEvent::TaskFailed(_)) => Status::Failed,
            Some(RetryEvent::TaskCancelled(_)) => Status::Cancelled,
            _ => Status::Unknown,
        };
        prop_assert_eq!(ended_as, task.status, "the status is the last end: {:?}", world.events);
        let ends = world.events.iter().filter(|e| terminal(e)).count();
        prop_assert!(ends == 1 || (ends == 2 && task.status == Status::Cancelled), "{:?}", world.events);
        prop_assert_eq!(world.foreign.len(), 1, "the requester is answered once");
        // A join's slot (its scheme and account) is free once the task has ended.
        if let Entity::Slot(slot) = world.state(r#"exclusive:midas_join:["s",1]"#) {
            prop_assert!(slot.holder.is_empty(), "the slot is still held: {slot:?}");
        } else {
            let ran = world.events.iter().any(|e| matches!(e, RetryEvent::AttemptStarted(_)));
            prop_assert!(!midas || !ran, "a join that ran took its slot");
        }
        // Every retry after a failed run waits as its class's schedule (or Retry-After) says.
        for pair in world.events.windows(2) {
            if let [RetryEvent::AttemptFailed(failed), RetryEvent::RetryScheduled(retry)] = pair {
                let class = ErrorClass::parse(&failed.error_class);
                prop_assert!(policy.retry_on.contains(&class), "{class:?} is not retried");
                let schedule = policy.schedules.get(&class).unwrap_or(&policy.backoff);
                let longest = schedule.delay_micros(u32::try_from(retry.attempt).unwrap_or(0), 0.0);
                let shortest = (longest as f64 * (1.0 - schedule.jitter)) as i64;
                let cap = (policy.retry_after_cap_seconds * 1e6) as i64;
                let delay = retry.at - retry.ts;
                let by_schedule = (shortest - 1..=longest).contains(&delay);
                let by_retry_after = cap > 0 && retry.reason.contains("Retry-After") && delay <= cap;
                prop_assert!(by_schedule || by_retry_after, "delay {delay} for {retry:?}");
            }
        }
    }
}
