//! The protocol's rules as scenarios: a world of accounts, commands in, events out.

mod world;

use clio_ledger::LedgerEvent as E;
use clio_ledger::messages::*;
use clio_ledger::rules;
use world::*;

// --- configuration -------------------------------------------------------------------------

#[test]
fn configuring_a_missing_account_creates_it_and_answers_with_an_account_update() {
    let mut w = World::new();
    let events = w.configure(7, 1, "");
    let [E::AccountUpdate(u)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((u.creditor_id, u.principal, u.account_id.as_str()), (7, 0, "7"));
    assert_eq!(u.creation_date, rules::date_of(T0));
    assert_eq!(u.last_transfer_number, i64::from(u.creation_date) << 40);
    assert!(w.account(7).exists());
}

#[test]
fn a_configuration_older_than_seven_days_does_not_create_a_missing_account() {
    let mut w = World::new();
    assert!(w.send(configure(7, T0 - 8 * DAY, 1, 0.0, 0, "")).is_empty());
    assert!(!w.account(7).exists());
    assert_eq!(w.send(configure(7, T0 - 6 * DAY, 1, 0.0, 0, "")).len(), 1);
}

#[test]
fn an_existing_account_takes_only_a_later_ts_and_seqnum_pair() {
    let mut w = World::new();
    w.send(configure(7, T0, 5, 1.0, 0, ""));
    assert!(w.send(configure(7, T0, 5, 2.0, 0, "")).is_empty(), "the same pair again");
    assert!(w.send(configure(7, T0, 4, 2.0, 0, "")).is_empty(), "an older seqnum");
    assert!(w.send(configure(7, T0 - 1, 9, 2.0, 0, "")).is_empty(), "an older ts");
    let events = w.send(configure(7, T0, 6, 2.0, 0, ""));
    let [E::AccountUpdate(u)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((u.negligible_amount, u.last_config_seqnum), (2.0, 6));
}

#[test]
fn the_seqnum_wraps_around_at_32_bits() {
    let mut w = World::new();
    w.send(configure(7, T0, i32::MAX, 0.0, 0, ""));
    let events = w.send(configure(7, T0, i32::MIN, 3.0, 0, ""));
    assert_eq!(events.len(), 1, "i32::MIN follows i32::MAX");
    assert!(w.send(configure(7, T0, i32::MAX, 4.0, 0, "")).is_empty());
}

#[test]
fn last_change_ts_never_goes_backwards_and_the_change_seqnum_increases() {
    let mut w = World::new();
    w.configure(7, 1, "");
    let first = w.account(7).update.expect("exists");
    w.now -= DAY; // a command with an older timestamp
    w.send(configure(7, T0, 2, 1.0, 0, ""));
    let second = w.account(7).update.expect("exists");
    assert_eq!(second.last_change_ts, first.last_change_ts);
    assert_eq!(second.last_change_seqnum, first.last_change_seqnum + 1);
}

#[test]
fn an_invalid_configuration_is_rejected_with_invalid_configuration() {
    let mut w = World::new();
    for command in [
        configure(7, T0, 1, -1.0, 0, ""),
        configure(7, T0, 1, f64::NAN, 0, ""),
        configure(7, T0, 1, 0.0, 0, &"x".repeat(2001)),
        configure(0, T0, 1, 0.0, 0, r#"{"type":"NotRoot"}"#),
        configure(0, T0, 1, 0.0, 0, r#"{"type":"RootConfigData","limit":-5}"#),
    ] {
        let events = w.send(command);
        let [E::RejectedConfig(r)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(r.rejection_code, "INVALID_CONFIGURATION");
    }
    assert!(!w.account(7).exists() && !w.account(0).exists());
}

#[test]
fn the_root_accounts_debtor_info_is_published_in_its_account_update() {
    let mut w = World::new();
    let data = r#"{"type":"RootConfigData","info":{"type":"DebtorInfo","iri":"https://example.com/debtor","contentType":"text/html"}}"#;
    let events = w.configure(0, 1, data);
    let [E::AccountUpdate(u)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(
        (u.debtor_info_iri.as_str(), u.debtor_info_content_type.as_str()),
        ("https://example.com/debtor", "text/html")
    );
}

// --- prepare ------------------------------------------------------------------------------

#[test]
fn a_transfer_locks_the_amount_and_the_lock_is_released_when_it_is_committed() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 10, 30, 30)));
    assert_eq!((p.locked_amount, p.recipient.as_str()), (30, "2"));
    assert_eq!(w.account(1).total_locked_amount, 30);
    let events = w.send(finalize(&p, 30));
    let f = finalized(&events);
    assert_eq!((f.status_code.as_str(), f.committed_amount, f.total_locked_amount), ("OK", 30, 0));
    assert_eq!((w.principal(1), w.principal(2)), (70, 30), "the recipient was credited through its own command");
    assert_eq!(w.account(1).total_locked_amount, 0);
    assert!(w.account(1).prepared.is_empty());
}

#[test]
fn the_locked_amount_is_what_is_available_up_to_the_maximum() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 1, 0, 500))).locked_amount, 100);
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 2, 0, 500))).locked_amount, 0, "everything is locked");
}

#[test]
fn a_minimum_of_zero_always_succeeds_and_a_larger_one_needs_the_money() {
    let mut w = World::with_accounts(&[(1, 10), (2, 0)]);
    assert_eq!(rejection(&w.send(prepare(1, 2, "direct", 1, 1, 11, 20))), Some("INSUFFICIENT_AVAILABLE_AMOUNT"));
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 2, 0, 20))).locked_amount, 10);
}

#[test]
fn a_missing_sender_is_unreachable() {
    let mut w = World::with_accounts(&[(2, 0)]);
    assert_eq!(rejection(&w.send(prepare(1, 2, "direct", 1, 1, 0, 5))), Some("SENDER_IS_UNREACHABLE"));
}

#[test]
fn a_missing_recipient_is_unreachable_and_nothing_is_locked() {
    let mut w = World::with_accounts(&[(1, 50)]);
    let events = w.send(prepare(1, 9, "direct", 1, 1, 0, 5));
    assert_eq!(rejection(&events), Some("RECIPIENT_IS_UNREACHABLE"));
    assert_eq!(w.account(1).total_locked_amount, 0);
    let malformed = LedgerCommandExt::with_recipient(prepare(1, 9, "direct", 1, 2, 0, 5), "not-a-number");
    assert_eq!(rejection(&w.send(malformed)), Some("RECIPIENT_IS_UNREACHABLE"));
}

#[test]
fn an_agent_transfer_across_agent_subnets_is_unreachable() {
    let a = 0x0000_0100_0000_0001_i64;
    let b = 0x0000_0200_0000_0001_i64;
    let mut w = World::with_accounts(&[(a, 50), (b, 0), (a + 1, 0)]);
    assert_eq!(rejection(&w.send(prepare(a, b, "agent", 5, 1, 0, 5))), Some("RECIPIENT_IS_UNREACHABLE"));
    assert_eq!(prepared(&w.send(prepare(a, a + 1, "agent", 5, 2, 0, 5))).locked_amount, 5);
}

#[test]
fn a_transfer_to_oneself_is_refused() {
    let mut w = World::with_accounts(&[(1, 50)]);
    assert_eq!(rejection(&w.send(prepare(1, 1, "direct", 1, 1, 0, 5))), Some("RECIPIENT_SAME_AS_SENDER"));
}

#[test]
fn the_checks_come_in_the_protocols_order() {
    let mut w = World::with_accounts(&[(1, 5)]);
    // Same as sender AND insufficient: the same-account check comes first.
    assert_eq!(rejection(&w.send(prepare(1, 1, "direct", 1, 1, 100, 100))), Some("RECIPIENT_SAME_AS_SENDER"));
    // Newer interest rate AND insufficient: the interest check comes first.
    let mut account = w.account(1);
    account.update.as_mut().expect("exists").last_interest_rate_change_ts = T0 + 1;
    w.entities.insert(format!("{DEBTOR}/1"), account);
    let mut stale = prepare(1, 0, "direct", 1, 2, 100, 100);
    if let clio_ledger::LedgerCommand::PrepareTransfer(p) = &mut stale {
        p.final_interest_rate_ts = T0;
    }
    assert_eq!(rejection(&w.send(stale)), Some("NEWER_INTEREST_RATE"));
}

#[test]
fn a_repeated_prepare_gets_the_same_answer_and_locks_nothing_more() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let first = prepared(&w.send(prepare(1, 2, "direct", 1, 7, 10, 10)));
    w.now += 1;
    let again = prepared(&w.send(prepare(1, 2, "direct", 1, 7, 10, 10)));
    assert_eq!(again.transfer_id, first.transfer_id);
    assert_eq!(again.ts, first.ts + 1, "re-sent with a new ts");
    assert_eq!(w.account(1).total_locked_amount, 10);
}

#[test]
fn transfer_ids_increase_per_account_from_the_creation_day() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let a = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 1, 1)));
    let b = prepared(&w.send(prepare(1, 2, "direct", 1, 2, 1, 1)));
    assert_eq!(a.transfer_id, (i64::from(rules::date_of(T0)) << 40) + 1);
    assert_eq!(b.transfer_id, a.transfer_id + 1);
}

#[test]
fn the_deadline_is_the_earlier_of_the_commit_period_and_the_requested_delay() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let mut command = prepare(1, 2, "direct", 1, 1, 1, 1);
    if let clio_ledger::LedgerCommand::PrepareTransfer(p) = &mut command {
        p.max_commit_delay = 60;
    }
    assert_eq!(prepared(&w.send(command)).deadline, T0 + 60_000_000);
    let long = prepared(&w.send(prepare(1, 2, "direct", 1, 2, 1, 1)));
    assert_eq!(long.deadline, T0 + i64::from(rules::COMMIT_PERIOD_SECONDS) * 1_000_000);
}

#[test]
fn malformed_requests_become_dead_letters_with_a_reason() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    w.send(prepare(1, 2, "direct", 99, 1, 1, 1)); // direct, but coordinated by someone else
    w.send(prepare(1, 2, "direct", 1, 2, 5, 1)); // min > max
    w.send(prepare(1, 2, "issuing", DEBTOR, 3, 1, 1)); // issuing from a non-root account
    w.send(prepare(1, 2, "", 1, 4, 1, 1));
    assert_eq!(w.invalid.len(), 4, "{:?}", w.invalid);
    assert!(
        !w.events.iter().any(|e| matches!(e, E::PreparedTransfer(p) if p.creditor_id == 1)),
        "nothing was prepared"
    );
    assert_eq!(w.account(1).total_locked_amount, 0);
}

// --- finalize -----------------------------------------------------------------------------

#[test]
fn dismissing_a_transfer_releases_the_lock_and_moves_no_money() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    let f = finalized(&w.send(finalize(&p, 0)));
    assert_eq!((f.status_code.as_str(), f.committed_amount), ("OK", 0));
    assert_eq!((w.principal(1), w.principal(2), w.account(1).total_locked_amount), (100, 0, 0));
}

#[test]
fn a_commit_after_the_deadline_times_out_and_still_releases_the_lock() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    w.now = p.deadline + 1;
    let f = finalized(&w.send(finalize(&p, 40)));
    assert_eq!((f.status_code.as_str(), f.committed_amount), ("TIMEOUT", 0));
    assert_eq!((w.principal(1), w.account(1).total_locked_amount), (100, 0));
}

#[test]
fn committing_more_than_available_plus_locked_fails_and_releases_the_lock() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    let f = finalized(&w.send(finalize(&p, 101)));
    assert_eq!((f.status_code.as_str(), f.committed_amount), ("INSUFFICIENT_AVAILABLE_AMOUNT", 0));
    assert_eq!(w.account(1).total_locked_amount, 0);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 2, 40, 40)));
    assert_eq!(finalized(&w.send(finalize(&p, 100))).status_code, "OK", "up to available + locked is fine");
    assert_eq!((w.principal(1), w.principal(2)), (0, 100));
}

#[test]
fn a_finalize_that_matches_no_prepared_transfer_is_ignored() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    let wrong = PreparedTransfer { coordinator_request_id: 999, ..p.clone() };
    assert!(w.send(finalize(&wrong, 40)).is_empty());
    assert!(!w.send(finalize(&p, 40)).is_empty());
    assert!(w.send(finalize(&p, 40)).is_empty(), "finalized already: the repeat is ignored");
    assert_eq!((w.principal(1), w.principal(2)), (60, 40));
}

#[test]
fn a_committed_transfer_is_recorded_as_a_chain_of_account_transfers() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    w.transfer(1, 2, 10);
    w.transfer(1, 2, 20);
    let chain: Vec<AccountTransfer> = w
        .events
        .iter()
        .filter_map(|e| match e {
            E::AccountTransfer(t) if t.creditor_id == 2 => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].previous_transfer_number, chain[0].transfer_number);
    assert_eq!((chain[0].acquired_amount, chain[1].acquired_amount, chain[1].principal), (10, 20, 30));
    assert_eq!((chain[0].sender.as_str(), chain[0].recipient.as_str()), ("1", "2"));
    let sender_side: Vec<i64> = w
        .events
        .iter()
        .filter_map(|e| match e {
            E::AccountTransfer(t) if t.creditor_id == 1 && t.coordinator_type == "direct" => Some(t.acquired_amount),
            _ => None,
        })
        .collect();
    assert_eq!(sender_side, vec![-10, -20]);
}

#[test]
fn the_root_account_gets_no_account_transfers() {
    let w = World::with_accounts(&[(1, 100)]);
    assert!(!w.events.iter().any(|e| matches!(e, E::AccountTransfer(t) if t.creditor_id == 0)));
    assert_eq!(w.principal(0), -100, "the root account issued the money");
}

#[test]
fn a_negligible_credit_moves_money_but_sends_no_account_transfer() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.send(configure(2, T0, 1, 5.0, 0, ""));
    w.transfer(1, 2, 5);
    assert_eq!(w.principal(2), 5);
    assert!(!w.events.iter().any(|e| matches!(e, E::AccountTransfer(t) if t.creditor_id == 2)));
    w.transfer(1, 2, 6);
    let t = w.events.iter().rev().find_map(|e| match e {
        E::AccountTransfer(t) if t.creditor_id == 2 => Some(t.clone()),
        _ => None,
    });
    let t = t.expect("not negligible");
    assert_eq!(t.previous_transfer_number, 0, "the negligible one was never sent");
    assert_eq!(t.transfer_number, w.account(2).update.expect("exists").last_transfer_number);
}

#[test]
fn the_root_account_issues_only_up_to_its_limit() {
    let mut w = World::new();
    w.configure(0, 1, r#"{"type":"RootConfigData","limit":1000}"#);
    w.configure(1, 1, "");
    assert_eq!(prepared(&w.send(prepare(0, 1, "issuing", DEBTOR, 1, 0, 5000))).locked_amount, 1000);
    assert_eq!(rejection(&w.send(prepare(0, 1, "issuing", DEBTOR, 2, 1, 1))), Some("INSUFFICIENT_AVAILABLE_AMOUNT"));
}

// --- balance changes ----------------------------------------------------------------------

#[test]
fn a_balance_change_delivered_twice_is_applied_once() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    w.decide(finalize(&p, 40));
    let change = w.in_flight.pop_front().expect("a PendingBalanceChange for the recipient");
    assert!(matches!(change, clio_ledger::LedgerCommand::PendingBalanceChange(_)));
    assert!(!w.send(change.clone()).is_empty());
    assert!(w.send(change).is_empty(), "the second delivery has no effect");
    assert_eq!(w.principal(2), 40);
}

#[test]
fn a_balance_change_for_a_missing_account_creates_it_so_no_money_is_lost() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    w.entities.remove(&format!("{DEBTOR}/2")); // purged after the prepare
    w.send(finalize(&p, 40));
    assert_eq!(w.principal(2), 40);
}

#[test]
fn the_principal_is_clamped_instead_of_overflowing() {
    let mut w = World::with_accounts(&[(2, 0)]);
    let change = |id: i64| balance_change(2, 1, id, i64::MAX);
    w.send(change(1));
    w.send(change(2));
    assert_eq!(w.principal(2), i64::MAX);
}

/// Lets a test change the recipient of a PrepareTransfer.
trait LedgerCommandExt {
    fn with_recipient(self, recipient: &str) -> Self;
}

impl LedgerCommandExt for clio_ledger::LedgerCommand {
    fn with_recipient(mut self, recipient: &str) -> Self {
        if let clio_ledger::LedgerCommand::PrepareTransfer(p) = &mut self {
            p.recipient = recipient.into();
        }
        self
    }
}

// --- audit --------------------------------------------------------------------------------

#[test]
fn the_audit_sees_credits_in_flight_and_money_that_appears_from_nowhere() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    w.decide(finalize(&p, 40)); // the credit is still in flight
    let audit = |events: &[E]| {
        let mut audit = clio_ledger::audit::Audit::default();
        events.iter().for_each(|e| audit.record(e));
        audit.report()
    };
    let report = audit(&w.events);
    assert_eq!((report[0].principals, report[0].in_flight), (-40, 40));
    assert!(report[0].balanced());

    let mut forged = w.account(2).update.expect("exists");
    forged.principal += 1_000;
    let mut events = w.events.clone();
    events.push(E::AccountUpdate(forged));
    assert!(!audit(&events)[0].balanced(), "money created from nothing is caught");
}
