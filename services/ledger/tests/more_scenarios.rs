//! More of the protocol's rules, one scenario each: edges of reachability, amounts, the
//! finalize, the balance change, the chain, and the clock's idempotency.

mod world;

use clio_ledger::LedgerCommand as C;
use clio_ledger::LedgerEvent as E;
use clio_ledger::messages::*;
use world::*;

fn chain(w: &World, creditor_id: i64) -> Vec<AccountTransfer> {
    w.events
        .iter()
        .filter_map(|e| match e {
            E::AccountTransfer(t) if t.creditor_id == creditor_id => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn with_prepare(mut command: C, change: impl FnOnce(&mut PrepareTransfer)) -> C {
    if let C::PrepareTransfer(p) = &mut command {
        change(p);
    }
    command
}

fn with_finalize(mut command: C, change: impl FnOnce(&mut FinalizeTransfer)) -> C {
    if let C::FinalizeTransfer(f) = &mut command {
        change(f);
    }
    command
}

// --- reachability ---------------------------------------------------------------------------

#[test]
fn a_recipient_that_is_not_an_unsigned_decimal_is_unreachable() {
    let mut w = World::with_accounts(&[(1, 100)]);
    for (request, recipient) in ["abc", "-2", "", "18446744073709551616"].into_iter().enumerate() {
        let command =
            with_prepare(prepare(1, 2, "direct", 1, request as i64, 1, 1), |p| p.recipient = recipient.into());
        assert_eq!(rejection(&w.send(command)), Some("RECIPIENT_IS_UNREACHABLE"), "{recipient:?}");
    }
    assert_eq!(w.account(1).total_locked_amount, 0);
}

#[test]
fn the_root_account_is_reachable_and_receives_money_back() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.transfer(1, 0, 30);
    assert_eq!((w.principal(1), w.principal(0)), (70, -70));
}

#[test]
fn an_agent_transfer_inside_its_subnet_is_allowed_and_never_negligible() {
    let subnet = 0x0000_0100_0000_0000_i64;
    let (a, b) = (subnet + 1, subnet + 2);
    let mut w = World::with_accounts(&[(a, 100)]);
    w.send(configure(b, w.now, 1, 50.0, 0, ""));
    let p = prepared(&w.send(prepare(a, b, "agent", 77, 1, 5, 5)));
    w.send(finalize(&p, 5));
    assert_eq!(w.principal(b), 5);
    assert_eq!(chain(&w, b).len(), 1, "5 is within b's negligible amount, but agent transfers are always shown");
}

#[test]
fn a_deleted_account_cannot_send() {
    let mut w = World::with_accounts(&[(1, 0), (2, 0)]);
    w.send(configure(1, w.now, 2, 0.0, clio_ledger::rules::SCHEDULED_FOR_DELETION_FLAG, ""));
    w.tick(1, 0, 0.0);
    assert_eq!(rejection(&w.send(prepare(1, 2, "direct", 1, 1, 0, 0))), Some("SENDER_IS_UNREACHABLE"));
}

// --- amounts --------------------------------------------------------------------------------

#[test]
fn a_rejection_reports_the_amount_already_locked() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    prepared(&w.send(prepare(1, 2, "direct", 1, 1, 60, 60)));
    let events = w.send(prepare(1, 2, "direct", 1, 2, 50, 50));
    let [E::RejectedTransfer(r)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((r.status_code.as_str(), r.total_locked_amount), ("INSUFFICIENT_AVAILABLE_AMOUNT", 60));
}

#[test]
fn a_smaller_retry_succeeds_after_an_insufficient_amount() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    assert_eq!(rejection(&w.send(prepare(1, 2, "direct", 1, 1, 101, 200))), Some("INSUFFICIENT_AVAILABLE_AMOUNT"));
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 2, 100, 200))).locked_amount, 100);
}

#[test]
fn committing_less_than_locked_moves_only_that_and_releases_the_rest() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 60, 60)));
    let f = finalized(&w.send(finalize(&p, 25)));
    assert_eq!((f.committed_amount, f.total_locked_amount), (25, 0));
    assert_eq!((w.principal(1), w.principal(2), w.account(1).total_locked_amount), (75, 25, 0));
}

#[test]
fn committing_more_than_locked_succeeds_within_the_available_amount() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 10, 10)));
    assert_eq!(finalized(&w.send(finalize(&p, 100))).status_code, "OK", "locked 10 + available 90");
    assert_eq!(w.principal(2), 100);
}

#[test]
fn a_commit_that_fails_credits_nobody() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 10, 10)));
    w.decide(finalize(&p, 500));
    assert!(w.in_flight.is_empty(), "no balance change was sent");
    assert_eq!((w.principal(1), w.principal(2)), (100, 0));
}

#[test]
fn a_lowered_issuing_limit_stops_further_issuing() {
    let mut w = World::new();
    w.configure(0, 1, r#"{"type":"RootConfigData","limit":1000}"#);
    w.configure(1, 1, "");
    w.transfer(0, 1, 600);
    w.send(configure(0, w.now, 2, 0.0, 0, r#"{"type":"RootConfigData","limit":700}"#));
    assert_eq!(prepared(&w.send(prepare(0, 1, "issuing", DEBTOR, 9, 0, 500))).locked_amount, 100);
}

// --- finalize -------------------------------------------------------------------------------

#[test]
fn a_finalize_for_another_transfer_id_or_coordinator_type_is_ignored() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 10, 10)));
    assert!(w.send(with_finalize(finalize(&p, 10), |f| f.transfer_id += 1)).is_empty());
    assert!(w.send(with_finalize(finalize(&p, 10), |f| f.coordinator_type = "agent".into())).is_empty());
    assert!(w.send(with_finalize(finalize(&p, 10), |f| f.coordinator_id = 2)).is_empty());
    assert_eq!(w.account(1).total_locked_amount, 10, "still prepared");
}

#[test]
fn a_zero_commit_delay_times_out_any_later_commit() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let command = with_prepare(prepare(1, 2, "direct", 1, 1, 10, 10), |p| {
        p.max_commit_delay = 0;
        p.ts = T0;
    });
    let p = prepared(&w.send(command));
    assert_eq!(p.deadline, T0);
    w.now = T0 + 1;
    assert_eq!(finalized(&w.send(finalize(&p, 10))).status_code, "TIMEOUT");
    assert_eq!(w.account(1).total_locked_amount, 0);
}

#[test]
fn notes_and_amounts_outside_the_protocol_are_dead_letters() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 10, 10)));
    w.send(with_finalize(finalize(&p, 10), |f| f.transfer_note = "x".repeat(501)));
    w.send(with_finalize(finalize(&p, 10), |f| f.transfer_note_format = "not valid".into()));
    w.send(with_finalize(finalize(&p, 10), |f| f.committed_amount = -1));
    assert_eq!(w.invalid.len(), 3, "{:?}", w.invalid);
    assert_eq!(w.account(1).total_locked_amount, 10, "the transfer is still open");
    let ok = w.send(with_finalize(finalize(&p, 10), |f| f.transfer_note = "é".repeat(250)));
    assert_eq!(finalized(&ok).status_code, "OK", "500 bytes exactly");
}

// --- balance changes and the chain ----------------------------------------------------------

#[test]
fn the_sender_is_debited_at_once_and_the_recipient_when_the_change_arrives() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 40, 40)));
    w.decide(finalize(&p, 40));
    assert_eq!((w.principal(1), w.principal(2)), (60, 0));
    let change = w.in_flight.pop_front().expect("in flight");
    w.send(change);
    assert_eq!(w.principal(2), 40);
}

#[test]
fn balance_changes_arriving_out_of_order_are_each_applied_once() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    for request in 1..=3 {
        let p = prepared(&w.send(prepare(1, 2, "direct", 1, request, 10, 10)));
        w.decide(finalize(&p, 10));
    }
    let mut changes: Vec<C> = w.in_flight.drain(..).collect();
    changes.reverse();
    for change in changes.iter().chain(changes.iter()) {
        w.decide(change.clone());
    }
    assert_eq!(w.principal(2), 30);
    let numbers: Vec<(i64, i64)> =
        chain(&w, 2).iter().map(|t| (t.previous_transfer_number, t.transfer_number)).collect();
    assert_eq!(numbers.len(), 3);
    assert!(numbers.windows(2).all(|pair| pair[1].0 == pair[0].1), "each names the one before: {numbers:?}");
}

#[test]
fn a_debit_through_a_balance_change_is_recorded_with_a_negative_amount() {
    let mut w = World::with_accounts(&[(2, 50)]);
    w.send(balance_change(2, 9, 1, -20));
    assert_eq!(w.principal(2), 30);
    assert_eq!(chain(&w, 2).last().map(|t| t.acquired_amount), Some(-20));
}

#[test]
fn capitalised_interest_continues_the_accounts_chain() {
    let mut w = World::with_accounts(&[(1, 1_000), (2, 0)]);
    w.tick(1, 0, 10.0);
    w.transfer(1, 2, 100);
    w.tick(1, 365, 10.0);
    let numbers: Vec<(i64, i64, String)> = chain(&w, 1)
        .iter()
        .map(|t| (t.previous_transfer_number, t.transfer_number, t.coordinator_type.clone()))
        .collect();
    assert_eq!(numbers.last().map(|n| n.2.as_str()), Some("interest"));
    assert!(numbers.windows(2).all(|pair| pair[1].0 == pair[0].1), "{numbers:?}");
}

// --- time -----------------------------------------------------------------------------------

#[test]
fn last_change_ts_stays_put_when_a_command_comes_with_an_older_clock() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let before = w.account(1).update.expect("exists").last_change_ts;
    w.now -= 60 * DAY;
    w.transfer(1, 2, 10);
    let after = w.account(1).update.expect("exists");
    assert_eq!(after.last_change_ts, before, "never backwards");
    assert_eq!(after.principal, 90);
}

#[test]
fn the_same_tick_delivered_twice_has_no_second_effect() {
    let mut w = World::with_accounts(&[(1, 1_000), (2, 0)]);
    w.tick(1, 0, 10.0);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 10, 10)));
    w.now += 365 * DAY;
    let tick = maintain(1, w.now, 10.0);
    let first = w.send(tick.clone());
    assert!(first.iter().any(|e| matches!(e, E::BalanceChangeSent(_))), "capitalised");
    assert!(first.iter().any(|e| matches!(e, E::PreparedTransfer(r) if r.transfer_id == p.transfer_id)), "reminded");
    assert!(w.send(tick).is_empty(), "nothing is due a second time");
}

#[test]
fn a_rate_change_settles_the_interest_accrued_at_the_old_rate() {
    let mut w = World::with_accounts(&[(1, 1_000)]);
    w.tick(1, 0, 10.0);
    w.now += 100 * DAY;
    let accrued = w.account(1).interest_at(w.now);
    w.tick(1, 0, 0.0);
    let update = w.account(1).update.expect("exists");
    let balance = update.principal as f64 + update.interest;
    assert!((balance - (1_000.0 + accrued)).abs() < 1e-9, "settled (and its whole part capitalised): {balance}");
    assert_eq!(update.interest_rate, 0.0);
    assert_eq!(w.account(1).interest_at(w.now + 365 * DAY), update.interest, "no more accrual at 0 %");
}

// --- details of the answers -----------------------------------------------------------------

#[test]
fn config_data_of_2000_bytes_is_accepted_and_of_2001_refused() {
    let mut w = World::new();
    assert!(matches!(w.send(configure(1, w.now, 1, 0.0, 0, &"x".repeat(2_000))).as_slice(), [E::AccountUpdate(_)]));
    let events = w.send(configure(1, w.now, 2, 0.0, 0, &"x".repeat(2_001)));
    assert!(matches!(events.as_slice(), [E::RejectedConfig(r)] if r.rejection_code == "INVALID_CONFIGURATION"));
}

#[test]
fn the_available_amount_leaves_out_what_other_open_transfers_locked() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 1, 0, 70))).locked_amount, 70);
    assert_eq!(prepared(&w.send(prepare(1, 2, "direct", 1, 2, 0, 70))).locked_amount, 30);
    assert_eq!(rejection(&w.send(prepare(1, 2, "direct", 1, 3, 1, 1))), Some("INSUFFICIENT_AVAILABLE_AMOUNT"));
}

#[test]
fn a_prepared_transfer_carries_the_demurrage_rate_and_the_coordinators_limit() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(with_prepare(prepare(1, 2, "direct", 1, 1, 5, 5), |p| p.final_interest_rate_ts = T0 + 9)));
    assert_eq!(
        (p.demurrage_rate, p.final_interest_rate_ts, p.prepared_at),
        (clio_ledger::rules::DEMURRAGE_RATE, T0 + 9, w.now)
    );
    assert_eq!(p.recipient, "2");
}

#[test]
fn a_finalization_reports_when_it_was_prepared_and_what_stays_locked() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let first = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 30, 30)));
    w.send(prepare(1, 2, "direct", 1, 2, 20, 20));
    w.now += DAY;
    let f = finalized(&w.send(finalize(&first, 30)));
    assert_eq!((f.prepared_at, f.total_locked_amount, f.ts), (first.prepared_at, 20, w.now));
}

#[test]
fn a_reminder_keeps_the_original_deadline_and_lock() {
    let mut w = World::with_accounts(&[(1, 100), (2, 0)]);
    let p = prepared(&w.send(prepare(1, 2, "direct", 1, 1, 30, 30)));
    let reminder = prepared(&w.tick(1, 8, 0.0));
    assert_eq!((reminder.deadline, reminder.locked_amount, reminder.transfer_id), (p.deadline, 30, p.transfer_id));
}

#[test]
fn a_heartbeat_repeats_the_configuration_and_counters() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.send(configure(1, w.now, 2, 3.0, 0, "{\"mine\":1}"));
    w.tick(1, 0, 0.0);
    let before = w.account(1).update.expect("exists");
    let events = w.tick(1, 7, 0.0);
    let [E::AccountUpdate(heartbeat)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(AccountUpdate { ts: before.ts, ..heartbeat.clone() }, before, "only ts differs");
}

#[test]
fn an_account_created_by_a_balance_change_starts_unconfigured_and_reachable() {
    let mut w = World::with_accounts(&[(1, 100)]);
    w.send(balance_change(5, 1, 1, 10));
    let account = w.account(5);
    let update = account.update.as_ref().expect("created");
    assert_eq!((update.principal, update.last_config_seqnum, update.config_flags), (10, 0, 0));
    assert!(account.reachable());
}

#[test]
fn an_account_purged_and_credited_again_starts_a_new_life_on_a_later_day() {
    let mut w = World::with_accounts(&[(1, 0)]);
    let first_day = w.account(1).update.expect("exists").creation_date;
    w.send(configure(1, w.now, 2, 0.0, clio_ledger::rules::SCHEDULED_FOR_DELETION_FLAG, ""));
    w.tick(1, 0, 0.0);
    w.tick(1, clio_ledger::rules::PURGE_DELAY_MICROS / DAY, 0.0);
    assert!(w.account(1).update.is_none(), "purged");
    w.send(balance_change(1, 9, 77, 5));
    let again = w.account(1).update.expect("created again");
    assert!(again.creation_date > first_day + clio_ledger::rules::PURGE_MIN_AGE_DAYS);
    assert_eq!(again.last_transfer_number, (i64::from(again.creation_date) << 40) + 1, "numbers from the new day");
}
