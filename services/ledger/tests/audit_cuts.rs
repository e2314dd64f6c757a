//! The audit on a live log: whatever cut of the log it reads (each account's outcomes up to
//! some point, as partitions read at different moments give), it balances once the credits
//! applied ahead of their commit are counted the other way, and each such credit's commit is
//! on the log after the cut. A credit no sender ever committed is still caught.

mod world;

use std::collections::{BTreeMap, BTreeSet};

use clio_ledger::LedgerEvent as E;
use clio_ledger::audit::{Audit, commit_of};
use proptest::prelude::*;
use world::*;

#[derive(Debug, Clone)]
enum Step {
    Transfer { from: usize, to: usize, amount: i64, commit_percent: i64 },
    Deliver { pick: usize },
    Tick { who: usize, days: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..5, 0usize..5, 1i64..300, 0i64..110).prop_map(|(from, to, amount, commit_percent)| Step::Transfer {
            from,
            to,
            amount,
            commit_percent
        }),
        (0usize..100).prop_map(|pick| Step::Deliver { pick }),
        (0usize..5, 0i64..40).prop_map(|(who, days)| Step::Tick { who, days }),
    ]
}

/// A world after `steps`, everything in flight delivered in a shuffled order at the end.
fn run(steps: Vec<Step>) -> World {
    let creditors = [0i64, 1, 2, 3, 4];
    let mut w = World::with_accounts(&[(1, 500), (2, 500), (3, 0), (4, 100)]);
    let mut request = 1_000;
    for step in steps {
        match step {
            Step::Transfer { from, to, amount, commit_percent } => {
                request += 1;
                w.prepare_and_commit(creditors[from], creditors[to], request, amount, commit_percent);
            }
            Step::Deliver { pick } => {
                if !w.in_flight.is_empty() {
                    let command = w.in_flight.remove(pick % w.in_flight.len()).expect("picked");
                    w.decide(command);
                }
            }
            Step::Tick { who, days } => {
                while let Some(command) = w.in_flight.pop_front() {
                    w.decide(command);
                }
                w.now += days * DAY;
                w.decide(maintain(creditors[who], w.now, 10.0));
            }
        }
    }
    while let Some(command) = w.in_flight.pop_back() {
        w.decide(command);
    }
    w
}

/// Each account's outcomes up to a point chosen by `cuts` (a share per account, in percent).
fn cut(w: &World, cuts: &[u8]) -> Vec<E> {
    let mut by_account: BTreeMap<&str, Vec<&Vec<E>>> = BTreeMap::new();
    for (account, events) in &w.outcomes {
        by_account.entry(account).or_default().push(events);
    }
    let mut seen = Vec::new();
    for (i, outcomes) in by_account.values().enumerate() {
        let share = usize::from(cuts[i % cuts.len()].min(100));
        let keep = outcomes.len() * share / 100;
        seen.extend(outcomes[..keep].iter().flat_map(|events| events.iter().cloned()));
    }
    seen
}

fn audit(events: &[E]) -> Audit {
    let mut audit = Audit::default();
    events.iter().for_each(|e| audit.record(e));
    audit
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_cut_of_the_log_balances_and_its_credits_ahead_are_committed_later(
        steps in prop::collection::vec(step(), 1..60),
        cuts in prop::collection::vec(0u8..=100, 1..8),
    ) {
        let w = run(steps);
        let full = audit(&w.events);
        prop_assert!(full.report().iter().all(|d| d.balanced() && d.ahead == 0 && d.in_flight == 0), "{:?}", full.report());

        let seen = cut(&w, &cuts);
        let partial = audit(&seen);
        prop_assert!(partial.report().iter().all(|d| d.balanced()), "{:?}", partial.report());
        let commits: BTreeSet<_> = w.events.iter().filter_map(commit_of).map(|(key, _)| key).collect();
        for (key, _) in partial.credits_ahead() {
            prop_assert!(commits.contains(&key), "credit {:?} ahead of a commit that never comes", key);
        }
    }
}

#[test]
fn a_credit_ahead_of_its_commit_balances_and_a_forged_one_has_no_commit() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    let sender_events = w.decide(finalize(&p, 40));
    let credit = w.in_flight.pop_front().expect("the credit");
    let recipient_events = w.decide(credit);

    // The recipient's outcome is in the cut, the sender's not yet.
    let before: Vec<E> = w.events.iter().filter(|e| !sender_events.contains(e)).cloned().collect();
    let report = audit(&before).report();
    assert_eq!((report[0].principals, report[0].in_flight, report[0].ahead), (40, 0, 40));
    assert!(report[0].balanced());
    assert_eq!(audit(&before).credits_ahead(), vec![((DEBTOR, 1, p.transfer_id), 40)]);
    assert!(audit(&w.events).credits_ahead().is_empty(), "the commit follows");

    // The same credit, forged: no account ever sent it.
    let forged = w.decide(balance_change(2, 77, 123, 1_000));
    assert!(forged.iter().any(|e| matches!(e, E::BalanceChanged(_))), "the ledger applies it");
    let all = audit(&w.events);
    assert!(all.report()[0].balanced(), "counted ahead, it balances in the cut");
    assert_eq!(all.credits_ahead(), vec![((DEBTOR, 77, 123), 1_000)], "but its commit never comes");
    assert!(!recipient_events.is_empty());
}
