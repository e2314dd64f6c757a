//! Random command sequences across many accounts, with balance changes delivered late, out of
//! order and more than once, and the clock moving on (interest, capitalisation, deletion,
//! purge): money is never created or lost, and no effect happens twice.

mod world;

use std::collections::BTreeSet;

use clio_ledger::LedgerCommand as C;
use clio_ledger::LedgerEvent as E;
use proptest::prelude::*;
use world::*;

#[derive(Debug, Clone)]
enum Step {
    /// Prepare from one account to another, then finalize with a share of the lock
    /// (0 = dismiss, above 100 % = more than locked).
    Transfer { from: usize, to: usize, amount: i64, commit_percent: i64 },
    /// Deliver one command in flight; with `again`, leave it in flight to be delivered once more.
    Deliver { pick: usize, again: bool },
    /// Time passes (everything in flight arrives first: the protocol bounds a message's delay)
    /// and the clock reaches an account, with one of a few root interest rates.
    Tick { who: usize, days: i64, rate: usize },
    /// Reconfigure an account, scheduling it for deletion or not.
    Configure { who: usize, delete: bool },
}

const RATES: [f64; 4] = [0.0, 5.0, -30.0, 100.0];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..6, 0usize..6, 0i64..300, 0i64..130).prop_map(|(from, to, amount, commit_percent)| Step::Transfer {
            from,
            to,
            amount,
            commit_percent
        }),
        (0usize..100, any::<bool>()).prop_map(|(pick, again)| Step::Deliver { pick, again }),
        (0usize..6, 0i64..60, 0usize..RATES.len()).prop_map(|(who, days, rate)| Step::Tick { who, days, rate }),
        (0usize..6, any::<bool>()).prop_map(|(who, delete)| Step::Configure { who, delete }),
    ]
}

/// Sum of every principal plus the credits in flight not yet applied (each counted once).
fn total(w: &World, creditors: &[i64]) -> i128 {
    let principals: i128 = creditors.iter().map(|&c| i128::from(w.principal(c))).sum();
    let mut seen = BTreeSet::new();
    let in_flight: i128 = w
        .in_flight
        .iter()
        .filter_map(|c| match c {
            C::PendingBalanceChange(p) => Some(p),
            _ => None,
        })
        .filter(|p| !w.account(p.creditor_id).applied_changes.contains(&(p.other_creditor_id, p.change_id)))
        .filter(|p| seen.insert((p.creditor_id, p.other_creditor_id, p.change_id)))
        .map(|p| i128::from(p.principal_delta))
        .sum();
    principals + in_flight
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn money_is_conserved_and_every_commit_is_credited_exactly_once(steps in prop::collection::vec(step(), 1..80)) {
        let creditors: Vec<i64> = vec![0, 1, 2, 3, 4, 5];
        let mut w = World::with_accounts(&[(1, 500), (2, 500), (3, 0), (4, 100), (5, 0)]);
        prop_assert_eq!(total(&w, &creditors), 0);
        let mut request = 1_000;
        let mut seqnum = 10;
        for step in steps {
            match step {
                Step::Transfer { from, to, amount, commit_percent } => {
                    request += 1;
                    w.prepare_and_commit(creditors[from], creditors[to], request, amount, commit_percent);
                }
                Step::Deliver { pick, again } => {
                    if !w.in_flight.is_empty() {
                        let index = pick % w.in_flight.len();
                        let command = if again { w.in_flight[index].clone() } else { w.in_flight.remove(index).expect("picked") };
                        w.decide(command);
                    }
                }
                Step::Tick { who, days, rate } => {
                    while let Some(command) = w.in_flight.pop_front() {
                        w.decide(command);
                    }
                    w.now += days * DAY;
                    w.decide(maintain(creditors[who], w.now, RATES[rate]));
                }
                Step::Configure { who, delete } => {
                    seqnum += 1;
                    let flags = if delete { clio_ledger::rules::SCHEDULED_FOR_DELETION_FLAG } else { 0 };
                    w.decide(configure(creditors[who], w.now, seqnum, 0.0, flags, ""));
                }
            }
            prop_assert_eq!(total(&w, &creditors), 0, "conservation after every step");
            for &c in &creditors[1..] {
                // The principal may dip below zero when accrued interest was spent; the balance may not.
                let balance = w.principal(c) as f64 + w.account(c).interest_at(w.now);
                prop_assert!(balance > -1e-6, "only the root account goes below zero: {} has {}", c, balance);
                prop_assert!(w.account(c).total_locked_amount >= 0);
            }
        }
        while let Some(command) = w.in_flight.pop_front() {
            w.decide(command);
        }
        prop_assert_eq!(total(&w, &creditors), 0);
        // The audit, from the events alone, agrees.
        let mut audit = clio_ledger::audit::Audit::default();
        for event in &w.events {
            audit.record(event);
        }
        let report = audit.report();
        prop_assert_eq!(report.len(), 1);
        prop_assert!(report[0].balanced(), "{:?}", report);
        prop_assert_eq!(report[0].in_flight, 0, "everything was delivered");
        let commits: BTreeSet<(i64, i64)> = w.events.iter().filter_map(|e| match e {
            E::FinalizedTransfer(f) if f.committed_amount > 0 => Some((f.creditor_id, f.transfer_id)),
            E::BalanceChangeSent(s) => Some((s.creditor_id, s.change_id)),
            _ => None,
        }).collect();
        let credits: Vec<(i64, i64)> = w.events.iter().filter_map(|e| match e {
            E::BalanceChanged(b) => Some((b.other_creditor_id, b.change_id)),
            _ => None,
        }).collect();
        prop_assert_eq!(credits.len(), credits.iter().collect::<BTreeSet<_>>().len(), "no change applied twice");
        prop_assert_eq!(credits.into_iter().collect::<BTreeSet<_>>(), commits, "every commit credited once");
    }
}
