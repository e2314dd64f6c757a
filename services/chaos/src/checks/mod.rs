//! The checks after the workload stopped and the platform caught up: each one passes or
//! fails with what it found.
//!
//! - [`log`]: the log itself: no event twice, no outcome left partial, the ledger's money
//!   conserved (`clio ledger audit`), and each command the workload produced with its outcome;
//! - [`models`]: every read model equal to a rebuild from the log, retry tasks settled, dead
//!   letters only for the records made bad on purpose;
//! - [`effects`]: what the sandbox's servers saw: each effect under one idempotency key, and
//!   none twice.

pub mod effects;
pub mod log;
pub mod models;

use std::time::{Duration, Instant};

use crate::workload::{Produced, Target};

/// One check's result.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl Check {
    pub fn new(name: &str, passed: bool, detail: impl Into<String>) -> Self {
        Self { name: name.into(), passed, detail: detail.into() }
    }

    /// A check that could not be carried out counts as failed, with the reason.
    pub fn from_result(name: &str, result: anyhow::Result<(bool, String)>) -> Self {
        match result {
            Ok((passed, detail)) => Self::new(name, passed, detail),
            Err(error) => Self::new(name, false, format!("could not check: {error:#}")),
        }
    }
}

/// How a check that waits for the platform asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// While there is time: everything done.
    Done,
    /// At the deadline: done, or scheduled for later (a retry task's next attempt, which the
    /// domain's own policy puts minutes away: an effect to come, not one lost).
    DoneOrScheduled,
}

/// Polls `probe` with [`Ask::Done`] until it passes or `deadline`, then asks once more with
/// [`Ask::DoneOrScheduled`]; its last answer.
pub async fn settled(
    deadline: Instant,
    mut probe: impl AsyncFnMut(Ask) -> anyhow::Result<(bool, String)>,
) -> anyhow::Result<(bool, String)> {
    loop {
        let answer = probe(Ask::Done).await;
        if matches!(answer, Ok((true, _))) {
            return answer;
        }
        if Instant::now() >= deadline {
            return probe(Ask::DoneOrScheduled).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Every check, in order; `settle` bounds how long the ones that wait for the platform to
/// catch up wait, all together.
pub async fn run(target: &Target, produced: &Produced, settle: Duration) -> Vec<Check> {
    let deadline = Instant::now() + settle;
    let mut checks = Vec::new();
    let mut record = |check: Check| {
        eprintln!("chaos: check {}: {} ({})", check.name, if check.passed { "passed" } else { "FAILED" }, check.detail);
        checks.push(check);
    };
    record(Check::from_result(
        "read models caught up",
        settled(deadline, async |_| models::caught_up(target).await).await,
    ));
    record(Check::from_result(
        "matching: every match made",
        settled(deadline, async |_| effects::matched(target, &produced.matching).await).await,
    ));
    record(Check::from_result(
        "retry: no task stuck",
        settled(deadline, async |ask| models::retry_tasks(target, &produced.retry, ask).await).await,
    ));
    record(Check::from_result(
        "orders: both ways, once",
        settled(deadline, async |_| effects::orders_synced(target).await).await,
    ));
    record(Check::from_result(
        "matching: exports, once each",
        settled(deadline, async |ask| effects::exports(target, &produced.matching, ask).await).await,
    ));
    record(Check::from_result("retry: joins and calls, once each", effects::retry(target, &produced.retry).await));
    record(Check::from_result("ledger audit", log::audit(target).await));
    record(Check::from_result("ledger: each transfer's outcome", log::ledger_outcomes(target, &produced.ledger).await));
    record(Check::from_result("log: no outcome partial, no event id with two contents", log::integrity(target).await));
    record(Check::from_result("log: each task and match decided once", log::decided_once(target, produced).await));
    record(Check::from_result("dead letters: only the bad records", models::dead_letters(target, &produced.bad).await));
    record(Check::from_result("read models equal a rebuild", models::equal_to_rebuild(target).await));
    checks
}
