//! Time-driven rules as scenarios: the ledger's clock (MaintainAccount) reaches accounts at
//! chosen times. Interest, capitalisation, deletion, purge, heartbeats and reminders.

mod world;

use clio_ledger::LedgerEvent as E;
use clio_ledger::messages::*;
use clio_ledger::rules;
use world::*;

fn updates(events: &[E]) -> Vec<AccountUpdate> {
    events
        .iter()
        .filter_map(|e| match e {
            E::AccountUpdate(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

fn statuses(events: &[E], creditor_id: i64) -> Vec<AccountStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            E::AccountStatus(s) if s.creditor_id == creditor_id => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn balanced(w: &World) -> bool {
    let mut audit = clio_ledger::audit::Audit::default();
    w.events.iter().for_each(|e| audit.record(e));
    audit.report().iter().all(|d| d.balanced())
}

fn schedule_for_deletion(w: &mut World, creditor_id: i64, seqnum: i32) -> Vec<E> {
    w.send(configure(creditor_id, w.now, seqnum, 0.0, rules::SCHEDULED_FOR_DELETION_FLAG, ""))
}

// --- the clock itself ----------------------------------------------------------------------

#[test]
fn a_tick_for_a_missing_account_does_nothing() {
    let mut w = World::new();
    assert!(w.tick(9, 30, 0.0).is_empty());
    assert!(!w.account(9).exists());
}

#[test]
fn a_tick_that_arrives_more_than_seven_days_late_is_ignored() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.now += 30 * DAY;
    assert!(w.send(maintain(1, w.now - 8 * DAY, 5.0)).is_empty());
    assert!(!w.send(maintain(1, w.now - 6 * DAY, 5.0)).is_empty());
}

#[test]
fn a_tick_with_a_rate_that_is_not_a_number_is_a_dead_letter() {
    let mut w = World::with_accounts(&[(1, 100)]);
    assert!(w.send(maintain(1, w.now, f64::NAN)).is_empty());
    assert_eq!(w.invalid, vec!["interest_rate must be a number".to_string()]);
}

// --- heartbeats and reminders -------------------------------------------------------------

#[test]
fn an_account_unchanged_for_a_week_gets_its_account_update_again_once_a_week() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.tick(1, 0, 0.0); // the first tick establishes the interest rate: a change
    let before = w.account(1).update.expect("exists");
    assert!(w.tick(1, 6, 0.0).iter().all(|e| !matches!(e, E::AccountUpdate(_))), "not yet a week");
    let [heartbeat] = updates(&w.tick(1, 1, 0.0)).try_into().expect("one heartbeat");
    assert_eq!(
        (heartbeat.last_change_ts, heartbeat.last_change_seqnum, heartbeat.principal),
        (before.last_change_ts, before.last_change_seqnum, 100),
        "a heartbeat changes nothing"
    );
    assert_eq!(heartbeat.ts, w.now);
    assert!(updates(&w.tick(1, 3, 0.0)).is_empty(), "the last heartbeat was 3 days ago");
    assert_eq!(updates(&w.tick(1, 4, 0.0)).len(), 1);
}

#[test]
fn a_recently_changed_account_gets_no_heartbeat() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    w.tick(1, 0, 0.0);
    w.now += 6 * DAY;
    w.transfer(1, 2, 10);
    assert!(updates(&w.tick(1, 2, 0.0)).is_empty(), "changed 2 days ago");
}

#[test]
fn a_transfer_left_open_for_a_week_is_announced_again_without_a_second_lock() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 30, 30)));
    assert!(w.tick(1, 6, 0.0).iter().all(|e| !matches!(e, E::PreparedTransfer(_))));
    let reminder = prepared(&w.tick(1, 1, 0.0));
    assert_eq!(reminder, PreparedTransfer { ts: w.now, ..p.clone() }, "the same transfer, a new ts");
    assert_eq!(w.account(1).total_locked_amount, 30);
    assert!(w.tick(1, 6, 0.0).iter().all(|e| !matches!(e, E::PreparedTransfer(_))), "reminded 6 days ago");
    prepared(&w.tick(1, 1, 0.0));
}

// --- interest ------------------------------------------------------------------------------

#[test]
fn the_interest_rate_follows_the_root_accounts_configuration() {
    let mut w = World::with_accounts(&[(1, 1000)]);
    let events = w.tick(1, 0, 5.0);
    let [u] = updates(&events).try_into().expect("one update");
    assert_eq!((u.interest_rate, u.last_interest_rate_change_ts), (5.0, w.now));
    assert!(statuses(&events, 1)[0].established_interest_rate);
    assert!(updates(&w.tick(1, 1, 5.0)).is_empty(), "the same rate changes nothing");
}

#[test]
fn the_interest_rate_changes_at_most_once_in_eight_days() {
    let mut w = World::with_accounts(&[(1, 1000)]);
    w.tick(1, 0, 5.0);
    let rate_changed = |events: &[E]| updates(events).iter().any(|u| u.interest_rate == 7.0);
    assert!(!rate_changed(&w.tick(1, 8, 7.0)), "exactly 8 days is not more than 8");
    let changed = updates(&w.tick(1, 1, 7.0));
    assert_eq!(changed[0].interest_rate, 7.0);
}

#[test]
fn rates_beyond_the_bounds_are_clamped() {
    let mut w = World::with_accounts(&[(1, 1000), (2, 1000)]);
    assert_eq!(updates(&w.tick(1, 0, 1e9))[0].interest_rate, rules::INTEREST_RATE_CEIL);
    assert_eq!(updates(&w.tick(2, 0, -99.0))[0].interest_rate, rules::INTEREST_RATE_FLOOR);
}

#[test]
fn the_root_account_has_no_interest_rate_and_accrues_nothing() {
    let mut w = World::with_accounts(&[(1, 1000)]);
    w.tick(0, 0, 50.0);
    w.tick(0, 365, 50.0);
    let root = w.account(0);
    assert_eq!(root.update.as_ref().map(|u| (u.interest_rate, u.interest)), Some((0.0, 0.0)));
    assert_eq!(root.interest_at(w.now + 365 * DAY), 0.0);
}

#[test]
fn interest_accrues_on_a_positive_balance_and_can_be_spent() {
    let mut w = World::with_accounts(&[(1, 1000), (2, 0)]);
    w.tick(1, 0, 10.0);
    w.now += 182 * DAY + DAY * 5 / 8; // half a year of 365.25 days
    let interest = w.account(1).interest_at(w.now);
    assert!((interest - 48.809).abs() < 1e-3, "1000 * (1.1^0.5 - 1): {interest}");
    // The whole available amount, interest included, can be locked.
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 0, 5000)));
    assert_eq!(p.locked_amount, 1048);
}

#[test]
fn a_negative_balance_accrues_no_interest() {
    let mut w = World::with_accounts(&[(1, 0)]);
    w.tick(1, 0, 10.0);
    assert_eq!(w.account(1).interest_at(w.now + 365 * DAY), 0.0);
}

#[test]
fn every_change_settles_the_interest_accrued_so_far() {
    let mut w = World::with_accounts(&[(1, 1000), (2, 0)]);
    w.tick(1, 0, 10.0);
    w.now += 100 * DAY;
    let accrued = w.account(1).interest_at(w.now);
    w.transfer(1, 2, 10);
    let u = w.account(1).update.expect("exists");
    assert_eq!((u.interest, u.principal, u.last_change_ts), (accrued, 990, w.now));
}

#[test]
fn a_rate_change_after_the_coordinators_limit_refuses_the_prepare_and_the_commit() {
    let mut w = World::with_accounts(&[(1, 1000), (2, 0)]);
    let limit = w.now;
    let mut request = prepare(1, 2, "direct", 1, 1, 10, 10);
    if let clio_ledger::LedgerCommand::PrepareTransfer(p) = &mut request {
        p.final_interest_rate_ts = limit;
    }
    let p = prepared(&w.send(request.clone()));
    w.tick(1, 1, 3.0); // the rate changes after `limit`
    assert_eq!(finalized(&w.send(finalize(&p, 10))).status_code, "NEWER_INTEREST_RATE");
    assert_eq!(w.account(1).total_locked_amount, 0, "the lock is released anyway");
    if let clio_ledger::LedgerCommand::PrepareTransfer(p) = &mut request {
        p.coordinator_request_id = 2;
    }
    assert_eq!(rejection(&w.send(request)), Some("NEWER_INTEREST_RATE"));
}

#[test]
fn accrued_interest_is_capitalised_as_a_payment_from_the_root_account() {
    let mut w = World::with_accounts(&[(1, 1000)]);
    w.tick(1, 0, 10.0);
    let events = w.tick(1, 365, 10.0);
    let account = w.account(1).update.expect("exists");
    assert_eq!(account.principal, 1099, "1000 * 1.1^(365 / 365.25), the whole part");
    assert!(account.interest.abs() < 1.0, "only the fraction stays: {}", account.interest);
    let t = events
        .iter()
        .find_map(|e| match e {
            E::AccountTransfer(t) => Some(t.clone()),
            _ => None,
        })
        .expect("an AccountTransfer");
    assert_eq!((t.coordinator_type.as_str(), t.sender.as_str(), t.recipient.as_str()), ("interest", "0", "1"));
    assert_eq!(w.principal(0), -account.principal, "the root account paid it");
    assert!(balanced(&w));
}

#[test]
fn interest_is_capitalised_at_most_once_in_thirty_days() {
    let mut w = World::with_accounts(&[(1, 1_000_000)]);
    w.tick(1, 0, 10.0);
    w.tick(1, 30, 10.0);
    let after_first = w.principal(1);
    assert!(after_first > 1_000_000);
    w.tick(1, 29, 10.0);
    assert_eq!(w.principal(1), after_first, "29 days later");
    w.tick(1, 1, 10.0);
    assert!(w.principal(1) > after_first);
}

#[test]
fn negative_interest_is_paid_to_the_root_account() {
    let mut w = World::with_accounts(&[(1, 1000)]);
    w.tick(1, 0, -20.0);
    w.tick(1, 365, -20.0);
    assert!((800..=801).contains(&w.principal(1)), "{}", w.principal(1));
    assert_eq!(w.principal(0), -w.principal(1));
    assert!(balanced(&w));
}

// --- deletion and purge ---------------------------------------------------------------------

#[test]
fn an_account_scheduled_for_deletion_with_a_negligible_balance_gives_it_to_the_root_and_is_deleted() {
    let mut w = World::with_accounts(&[(1, 2)]);
    schedule_for_deletion(&mut w, 1, 2);
    let events = w.tick(1, 1, 0.0);
    assert!(statuses(&events, 1).last().expect("a status").deleted);
    assert!(!w.account(1).exists());
    assert_eq!((w.principal(1), w.principal(0)), (0, 0), "the 2 went back to the root account");
    assert!(balanced(&w));
}

#[test]
fn an_account_with_more_than_a_negligible_balance_or_open_transfers_is_not_deleted() {
    let mut w = World::with_accounts(&[(1, 100), (2, 100), (3, 0)]);
    schedule_for_deletion(&mut w, 1, 2);
    w.tick(1, 1, 0.0);
    assert!(w.account(1).exists(), "100 is not negligible");
    w.send(configure(2, w.now, 2, 500.0, rules::SCHEDULED_FOR_DELETION_FLAG, ""));
    let p = prepared(&w.send(prepare(2, 3, "direct", 2, 7, 1, 1)));
    w.tick(2, 1, 0.0);
    assert!(w.account(2).exists(), "a transfer is still open");
    w.send(finalize(&p, 0));
    w.tick(2, 1, 0.0);
    assert!(!w.account(2).exists(), "within its own negligible amount of 500");
    assert_eq!(w.principal(0), -100, "of 200 issued, 100 came back");
    assert!(balanced(&w));
}

#[test]
fn an_account_scheduled_for_deletion_cannot_receive_transfers() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    schedule_for_deletion(&mut w, 2, 2);
    let events = w.send(prepare(1, 2, "direct", 1, 1, 10, 10));
    assert_eq!(rejection(&events), Some("RECIPIENT_IS_UNREACHABLE"));
}

#[test]
fn the_root_account_is_deleted_only_when_nothing_is_issued() {
    let mut w = World::with_accounts(&[(1, 2)]);
    w.send(configure(0, w.now, 2, 0.0, rules::SCHEDULED_FOR_DELETION_FLAG, ""));
    w.tick(0, 1, 0.0);
    assert!(w.account(0).exists(), "2 is still issued");
    schedule_for_deletion(&mut w, 1, 2);
    w.tick(1, 0, 0.0);
    w.tick(0, 0, 0.0);
    assert!(!w.account(0).exists());
}

#[test]
fn a_deleted_account_is_purged_after_the_delay_and_not_before() {
    let mut w = World::with_accounts(&[(1, 0)]);
    schedule_for_deletion(&mut w, 1, 2);
    w.tick(1, 0, 0.0);
    let delay_days = rules::PURGE_DELAY_MICROS / DAY;
    assert!(w.tick(1, delay_days - 1, 0.0).is_empty());
    let events = w.tick(1, 1, 0.0);
    let [E::AccountPurge(purge)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(purge.creation_date, rules::date_of(T0));
    assert!(w.account(1).update.is_none(), "forgotten");
}

#[test]
fn a_stale_configuration_cannot_bring_back_a_deleted_account_but_a_later_one_can() {
    let mut w = World::with_accounts(&[(1, 0)]);
    w.tick(1, 0, 5.0);
    let configured_at = w.now;
    schedule_for_deletion(&mut w, 1, 2);
    w.tick(1, 1, 5.0);
    assert!(w.send(configure(1, configured_at, 2, 0.0, 0, "")).is_empty(), "the same (ts, seqnum) again");
    let events = w.send(configure(1, w.now, 3, 0.0, 0, ""));
    let status = statuses(&events, 1).pop().expect("a status");
    assert!(!status.deleted && !status.established_interest_rate, "back, waiting for the rate again");
    assert!(w.account(1).exists());
}

#[test]
fn a_balance_change_for_a_deleted_account_brings_it_back_so_no_money_is_lost() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    schedule_for_deletion(&mut w, 2, 2);
    w.tick(2, 0, 0.0);
    assert!(!w.account(2).exists());
    w.send(finalize(&p, 40));
    assert!(w.account(2).exists());
    assert_eq!(w.principal(2), 40);
    assert!(balanced(&w));
}

// --- overflow -------------------------------------------------------------------------------

#[test]
fn the_overflow_flag_is_set_once_when_the_principal_is_clamped() {
    let mut w = World::with_accounts(&[(2, 0)]);
    let change = |id: i64| balance_change(2, 1, id, i64::MAX);
    assert!(statuses(&w.send(change(1)), 2).is_empty());
    assert!(statuses(&w.send(change(2)), 2)[0].overflown);
    assert!(statuses(&w.send(change(3)), 2).is_empty(), "already flagged");
    assert!(w.account(2).overflown);
}
