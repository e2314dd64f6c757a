//! A payment's journey through the matching entities (docs/matching.md, Keys), decided as the
//! runtime decides: import under its settlement key, identification at its MIDs, the card
//! holder's identity, its bucket, a match; and what the seed got wrong on the way.

mod support;

use clio_matching::entity::payment::PaymentState;
use clio_matching::entity::{Entity, Matching, bucket_key, identity_task_id};
use clio_matching::messages::*;
use clio_matching::settlement::sha256_hex;
use clio_testkit::scenario::{T0, World};
use support::*;

fn costa() -> World<Matching> {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "M1", "costa"));
    world
}

#[test]
fn an_auth_is_identified_looked_up_offered_and_matched_with_the_merchant_row() {
    let mut world = costa();
    send(&mut world, import_row(&row("costa", "r1", "M1", 450, 20 * SECOND)));
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = send(&mut world, import(&auth));
    assert_eq!(names(&events), ["TransactionImported", "TransactionIdentified", "IdentityRequested"]);
    // The identity look-up is a retry task that answers to the payment.
    let [asked] = world.foreign.as_slice() else { panic!("one identity task: {:?}", world.foreign) };
    assert_eq!(
        (asked.topic.as_str(), asked.key.as_str()),
        ("retry.commands", identity_task_id(&key_of(&auth)).as_str())
    );
    assert_eq!(asked.record, "clio.retry.CreateTask");
    let task: CreateTask = apache_avro::from_value(&asked.value).expect("a CreateTask");
    assert_eq!((task.task_type.as_str(), task.reply_topic.as_str()), ("matching_identity", "matching.commands"));
    assert_eq!(task.reply_key, key_of(&auth), "the answer comes back to the payment");

    let events = send(&mut world, found(&auth));
    assert_eq!(names(&events), ["IdentityFound", "RoutedToMatching", "Matched", "ExportRequested"]);
    let [matched] = matches(&events)[..] else { unreachable!() };
    assert_eq!(matched.match_id, sha256_hex(&auth.settlement_key), "the id a merchant dedupes on");
    assert_eq!((matched.matching_type.as_str(), matched.merchant_transaction_id.as_str()), ("LOYALTY", "r1"));
    assert_eq!(
        (matched.at, matched.scheme_account_id.as_str()),
        (T0 + 20 * SECOND, "42"),
        "the row's time, the holder's account"
    );
    // Both sides are gone from the bucket: nothing is left to match or to close.
    let Entity::Bucket(bucket) = world.state(&bucket_key("costa", 450)) else { panic!("a bucket") };
    assert!(bucket.payments.is_empty() && bucket.rows.is_empty());
}

#[test]
fn a_pending_payment_matches_when_a_later_merchant_batch_brings_its_mid_and_amount() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = import_identified(&mut world, &auth, found(&auth));
    let pending = events.iter().find_map(|e| match e {
        MatchingEvent::PaymentPending(p) => Some(p),
        _ => None,
    });
    assert_eq!(pending.expect("pending").reason, "no pending merchant transaction fits");
    // Another amount's row is another bucket; the right one matches.
    assert!(matches(&send(&mut world, import_row(&row("costa", "r0", "M1", 451, 0)))).is_empty());
    let events = send(&mut world, import_row(&row("costa", "r1", "M1", 450, 30 * SECOND)));
    assert_eq!(names(&events), ["MerchantTransactionImported", "Matched", "ExportRequested"]);
}

#[test]
fn a_merchant_row_is_consumed_once_when_two_payments_race_for_it() {
    let mut world = costa();
    send(&mut world, import_row(&row("costa", "r1", "M1", 450, 0)));
    let first = visa("AUTH", "v1", "M1", 450, 10 * SECOND);
    let second = visa("AUTH", "v2", "M1", 450, -10 * SECOND);
    // Both are identified before either is offered: their offers reach the bucket in turn.
    send(&mut world, import(&first));
    send(&mut world, import(&second));
    let mut events = send(&mut world, found(&first));
    events.extend(send(&mut world, found(&second)));
    let all = matches(&events);
    assert_eq!(all.len(), 1, "one row, one match: {all:?}");
    assert_eq!(all[0].payment_transaction_id, "v1");
    assert!(events.iter().any(|e| matches!(e, MatchingEvent::PaymentPending(p) if p.payment.transaction_id == "v2")));
}

#[test]
fn an_unknown_mid_leaves_the_payment_unidentified_until_the_mid_is_onboarded() {
    let mut world = World::default();
    let auth = visa("AUTH", "v1", "M9", 450, 0);
    let events = send(&mut world, import(&auth));
    assert_eq!(names(&events), ["TransactionImported", "PaymentAwaitingMid", "TransactionUnidentified"]);
    // Onboarding the MID sends the payment to be identified again: the seed dropped it.
    let events = send(&mut world, onboard("visa", "PRIMARY", "M9", "costa"));
    assert_eq!(names(&events), ["MidOnboarded", "TransactionIdentified", "IdentityRequested"]);
}

#[test]
fn a_transaction_re_sent_after_its_mid_was_onboarded_is_identified() {
    let mut world = World::default();
    let old = visa("AUTH", "v1", "M9", 450, 0);
    send(&mut world, import(&old));
    // A MID remembers its waiting payments for the look-back only: a later one pushes v1 out.
    world.now = T0 + 15 * DAY;
    send(&mut world, import(&visa("AUTH", "v2", "M9", 450, 15 * DAY)));
    let events = send(&mut world, onboard("visa", "PRIMARY", "M9", "costa"));
    assert_eq!(names(&events), ["MidOnboarded", "TransactionIdentified", "IdentityRequested"], "v2 only");
    assert!(matches!(world.state(&key_of(&old)), Entity::Payment(p) if p.unidentified));
    // Re-sending v1 looks it up again (the seed logged it as a duplicate and never matched it).
    let events = send(&mut world, import(&old));
    assert_eq!(names(&events), ["DuplicateIgnored", "TransactionIdentified", "IdentityRequested"]);
    assert_eq!(names(&send(&mut world, import(&old))), ["DuplicateIgnored"], "identified now: a plain duplicate");
}

#[test]
fn the_best_typed_mid_identifies_and_a_value_under_another_type_does_not() {
    let mut world = World::default();
    send(&mut world, onboard("visa", "SECONDARY", "S1", "costa"));
    send(&mut world, onboard("visa", "PRIMARY", "S2", "itsu"));
    let mut auth = visa("AUTH", "v1", "X", 450, 0);
    auth.secondary_mid = "S1".into();
    auth.psimi = "S2".into();
    let events = send(&mut world, import(&auth));
    let identified = events.iter().find_map(|e| match e {
        MatchingEvent::TransactionIdentified(i) => Some(i),
        _ => None,
    });
    let identified = identified.expect("identified by its SECONDARY");
    assert_eq!((identified.merchant.as_str(), identified.mid_type.as_str()), ("costa", "SECONDARY"));
    // S2 is a PRIMARY: as a PSIMI value it names nothing.
    let mut other = visa("AUTH", "v2", "X", 450, 0);
    other.psimi = "S2".into();
    assert!(names(&send(&mut world, import(&other))).contains(&"TransactionUnidentified"));
}

#[test]
fn a_settlement_over_a_pending_auth_merges_and_matches_again() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    // The row carries the auth code only the settlement brings: the code rule needs it.
    let mut coded = row("costa", "r1", "M1", 450, 3_600 * SECOND);
    coded.auth_code = "A1".into();
    assert!(matches(&send(&mut world, import_row(&coded))).is_empty(), "an hour apart, no code yet");
    let mut settled = visa("SETTLED", "v1", "M1", 450, 60 * SECOND);
    settled.transaction_id = "v1-settled".into();
    settled.auth_code = "A1".into();
    let events = send(&mut world, import(&settled));
    assert_eq!(names(&events), ["TransactionImported", "PaymentMerged", "Matched", "ExportRequested"]);
    assert_eq!(matches(&events)[0].payment_transaction_id, "v1-settled");
}

#[test]
fn a_settlement_that_changes_the_amount_moves_the_payment_to_that_amounts_bucket() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    send(&mut world, import_row(&row("costa", "r1", "M1", 500, 0)));
    let mut settled = visa("SETTLED", "v1", "M1", 500, 0);
    settled.transaction_id = "v1-settled".into();
    let events = send(&mut world, import(&settled));
    assert_eq!(names(&events), ["TransactionImported", "PaymentMerged", "PaymentMoved", "Matched", "ExportRequested"]);
    let Entity::Bucket(old) = world.state(&bucket_key("costa", 450)) else { panic!("a bucket") };
    assert!(old.payments.is_empty(), "not pending twice");
}

#[test]
fn a_settlement_after_the_match_is_dropped_visibly_and_an_auth_after_a_payment_is_skipped() {
    let mut world = costa();
    send(&mut world, import_row(&row("costa", "r1", "M1", 450, 0)));
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    let mut settled = visa("SETTLED", "v1", "M1", 450, 0);
    settled.transaction_id = "v1-settled".into();
    let events = send(&mut world, import(&settled));
    assert_eq!(names(&events), ["TransactionImported", "PaymentMerged", "SettlementDropped"]);
    let mut late_auth = auth.clone();
    late_auth.transaction_id = "v1-again".into();
    assert_eq!(names(&send(&mut world, import(&late_auth))), ["TransactionImported", "AuthSkipped"]);
}

#[test]
fn a_spotted_merchants_payment_is_a_match_by_itself_and_its_settlement_is_dropped() {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "V1", "bpl-viator"));
    let auth = visa("AUTH", "v1", "V1", 1_200, 0);
    let events = import_identified(&mut world, &auth, found(&auth));
    let [spotted] = matches(&events)[..] else { panic!("{events:?}") };
    assert_eq!((spotted.matching_type.as_str(), spotted.amount), ("SPOTTED", 1_200), "the auth's amount");
    let mut settled = visa("SETTLED", "v1", "V1", 1_250, 0);
    settled.transaction_id = "v1-settled".into();
    let events = send(&mut world, import(&settled));
    let dropped = events.iter().find_map(|e| match e {
        MatchingEvent::SettlementDropped(d) => Some(d),
        _ => None,
    });
    assert_eq!(dropped.expect("dropped").reason, "it is already matched (SPOTTED)");
}

#[test]
fn a_card_holder_without_an_account_is_final_and_visible() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = import_identified(&mut world, &auth, outcome(&auth, "SUCCESS", "{}"));
    let not_found = events.iter().find_map(|e| match e {
        MatchingEvent::IdentityNotFound(n) => Some(n),
        _ => None,
    });
    assert_eq!(not_found.expect("not found").reason, "the card holder has no loyalty account");
    assert!(matches(&events).is_empty() && !names(&events).contains(&"RoutedToMatching"));
    // A failed look-up (the retry domain's final outcome) says how it ended.
    let other = visa("AUTH", "v2", "M1", 450, 0);
    let events = import_identified(&mut world, &other, outcome(&other, "FAILED", ""));
    assert!(events.iter().any(|e| matches!(e, MatchingEvent::IdentityNotFound(n)
        if n.reason == "the identity look-up ended FAILED (http_4xx): 404 Not Found")));
}

#[test]
fn refunds_and_merchants_without_rules_for_a_scheme_are_not_matchable_without_a_look_up() {
    let mut world = costa();
    send(&mut world, onboard("amex", "PRIMARY", "A1", "itsu"));
    let mut refund = visa("REFUND", "v1", "M1", -450, 0);
    refund.provider = "visa".into();
    let events = send(&mut world, import(&refund));
    assert_eq!(names(&events), ["TransactionImported", "TransactionIdentified", "NotMatchable"]);
    let mut amex = visa("SETTLED", "x1", "A1", 450, 0);
    amex.provider = "amex".into();
    amex.settlement_key = "x1".into();
    let events = send(&mut world, import(&amex));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MatchingEvent::NotMatchable(n) if n.reason == "itsu does not match amex payments"))
    );
    assert!(world.foreign.is_empty(), "no identity look-up for what cannot match");
}

#[test]
fn a_repeated_import_changes_nothing_on_either_side() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    assert_eq!(names(&send(&mut world, import(&auth))), ["DuplicateIgnored"]);
    let r = row("costa", "r1", "M1", 999, 0);
    send(&mut world, import_row(&r));
    assert_eq!(names(&send(&mut world, import_row(&r))), ["DuplicateIgnored"]);
    // A repeated identity answer is not a second look-up's answer.
    assert!(send(&mut world, found(&auth)).is_empty());
}

#[test]
fn what_can_no_longer_match_is_closed_and_leaves_the_state() {
    let mut world = costa();
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    send(&mut world, import_row(&row("costa", "r1", "M1", 450, 5 * DAY)));
    let mut closed = names(&world.advance_to(T0 + 16 * DAY + 1));
    closed.sort_unstable();
    assert_eq!(closed, ["PaymentRetired", "PendingClosed"], "the payment, 16 days after its date, in both entities");
    let closed = world.advance_to(T0 + 21 * DAY + 1);
    assert_eq!(names(&closed), ["PendingClosed"], "the row, 16 days after its own");
    let Entity::Bucket(bucket) = world.state(&bucket_key("costa", 450)) else { panic!("a bucket") };
    assert!(bucket.payments.is_empty() && bucket.rows.is_empty());
    assert!(clio_matching::entity::BucketState::timer(&bucket).is_none());
    let Entity::Payment(payment) = world.state(&key_of(&auth)) else { panic!("a payment") };
    assert!(payment.retired() && payment.payment.is_none(), "the payment entity no longer holds its transaction");
    assert!(payment.timer().is_none());
}

#[test]
fn a_payment_past_its_window_keeps_only_what_answers_a_later_transaction_under_its_key() {
    let mut world = costa();
    send(&mut world, import_row(&row("costa", "r1", "M1", 450, 20 * SECOND)));
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    assert_eq!(matches(&import_identified(&mut world, &auth, found(&auth))).len(), 1);
    let Entity::Payment(before) = world.state(&key_of(&auth)) else { panic!("a payment") };
    let Some(timer) = before.timer() else { panic!("a matched payment still holds its transaction") };
    assert_eq!(timer.due_micros, T0 + 16 * DAY, "its window closes when its bucket's would");
    assert!(names(&world.advance_to(T0 + 16 * DAY - 1)).is_empty(), "not before");
    assert_eq!(names(&world.advance_to(T0 + 16 * DAY)), ["PaymentRetired"]);
    let Entity::Payment(after) = world.state(&key_of(&auth)) else { panic!("a payment") };
    assert!(after.payment.is_none() && after.held.is_empty() && after.timer().is_none());
    let size = |state: &PaymentState| serde_json::to_vec(state).map(|v| v.len()).unwrap_or_default();
    assert!(size(&after) < size(&before), "{} bytes held, then {}", size(&before), size(&after));

    // What comes later under its key: a repeat is a duplicate, a settlement is dropped (and
    // not held again), a repeated retirement does nothing.
    assert_eq!(names(&send(&mut world, import(&auth))), ["DuplicateIgnored"]);
    let events = send(&mut world, import(&visa("SETTLED", "v1", "M1", 450, 0)));
    assert_eq!(names(&events), ["TransactionImported", "SettlementDropped"]);
    let dropped = events.iter().find_map(|e| match e {
        MatchingEvent::SettlementDropped(d) => Some(d.reason.as_str()),
        _ => None,
    });
    assert_eq!(dropped, Some("its matching window closed"));
    let Entity::Payment(last) = world.state(&key_of(&auth)) else { panic!("a payment") };
    assert!(last.payment.is_none() && last.held.is_empty());
    let retire = RetirePayment { payment_key: key_of(&auth), due: T0 + 17 * DAY, ts: T0 + 17 * DAY };
    assert!(send(&mut world, MatchingCommand::RetirePayment(retire)).is_empty());
}

#[test]
fn a_malformed_transaction_is_a_dead_letter_with_the_reason() {
    let mut world: World<Matching> = World::default();
    let mut bad = visa("CAPTURE", "v1", "M1", 450, 0);
    send(&mut world, import(&bad));
    bad.feed = "AUTH".into();
    bad.provider = "discover".into();
    send(&mut world, import(&bad));
    let mut r = row("costa", "", "M1", 450, 0);
    send(&mut world, import_row(&r));
    r.transaction_id = "r1".into();
    r.provider = "jcb".into();
    send(&mut world, import_row(&r));
    assert_eq!(
        world.invalid,
        [
            "feed \"CAPTURE\" is not AUTH, SETTLED or REFUND",
            "provider \"discover\" is not visa, mastercard or amex",
            "a merchant transaction needs its transaction id and merchant",
            "provider \"jcb\" is not visa, mastercard or amex",
        ]
    );
    assert!(world.events.is_empty());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// One row of one of the feed files, or none (a purchase without a settlement or a row).
    enum Arrival {
        Payment(PaymentTransaction),
        Row(MerchantTransaction),
        Nothing,
    }

    /// A payment or a merchant row at MID M1, of one of two amounts, some seconds after T0.
    fn arrival() -> impl Strategy<Value = (bool, i64, i64)> {
        (any::<bool>(), prop_oneof![Just(450_i64), Just(500)], 0_i64..200)
    }

    proptest! {
        /// Whatever the order of arrivals: no merchant row and no payment is matched twice,
        /// and every payment ends in exactly one place, matched or pending in its bucket.
        #[test]
        fn no_row_is_matched_twice_and_every_payment_ends_in_one_place(arrivals in prop::collection::vec(arrival(), 1..24)) {
            let mut world = costa();
            let mut payments = Vec::new();
            for (i, &(is_payment, amount, second)) in arrivals.iter().enumerate() {
                if is_payment {
                    let auth = visa("AUTH", &format!("v{i}"), "M1", amount, second * SECOND);
                    import_identified(&mut world, &auth, found(&auth));
                    payments.push(auth);
                } else {
                    send(&mut world, import_row(&row("costa", &format!("r{i}"), "M1", amount, second * SECOND)));
                }
            }
            let all = matches(&world.events);
            let rows: BTreeSet<&str> = all.iter().map(|m| m.merchant_transaction_id.as_str()).collect();
            let paid: BTreeSet<&str> = all.iter().map(|m| m.payment_key.as_str()).collect();
            prop_assert_eq!(rows.len(), all.len(), "a row matched twice");
            prop_assert_eq!(paid.len(), all.len(), "a payment matched twice");
            for payment in &payments {
                let key = key_of(payment);
                let Entity::Bucket(bucket) = world.state(&bucket_key("costa", payment.amount)) else {
                    panic!("every payment reached its bucket");
                };
                let pending = bucket.payments.contains_key(&key);
                prop_assert!(pending != paid.contains(key.as_str()), "{} is matched or pending, not both or neither", key);
            }
        }

        /// The rows of an auth feed, a settlement feed and a merchant feed, imported in any
        /// order (the files one after another in any order, or their rows interleaved): the
        /// same matches, and each exported once.
        #[test]
        fn any_permutation_of_the_same_feed_rows_gives_the_same_matches(
            (purchases, order) in prop::collection::vec((prop_oneof![Just(450_i64), Just(500)], 0_i64..200, any::<bool>(), any::<bool>()), 1..8)
                .prop_flat_map(|purchases| {
                    let rows = purchases.len() * 3;
                    (Just(purchases), Just((0..rows).collect::<Vec<usize>>()).prop_shuffle())
                }),
        ) {
            // Every purchase has its auth; some a settlement, some a merchant row with its code.
            let mut commands = Vec::new();
            let mut expected = BTreeSet::new();
            for (i, &(amount, second, settled, has_row)) in purchases.iter().enumerate() {
                let mut auth = visa("AUTH", &format!("v{i}"), "M1", amount, second * SECOND);
                auth.auth_code = format!("C{i}");
                let mut settlement = auth.clone();
                settlement.feed = "SETTLED".into();
                settlement.transaction_id = format!("v{i}-settled");
                let mut merchant_row = row("costa", &format!("r{i}"), "M1", amount, (second + 10) * SECOND);
                merchant_row.auth_code = format!("C{i}");
                commands.push(Arrival::Payment(auth.clone()));
                commands.push(if settled { Arrival::Payment(settlement) } else { Arrival::Nothing });
                commands.push(if has_row { Arrival::Row(merchant_row) } else { Arrival::Nothing });
                if has_row {
                    expected.insert((sha256_hex(&auth.settlement_key), format!("r{i}")));
                }
            }
            let mut world = costa();
            for index in order {
                match &commands[index] {
                    Arrival::Payment(payment) => {
                        import_identified(&mut world, payment, found(payment));
                    }
                    Arrival::Row(merchant_row) => {
                        send(&mut world, import_row(merchant_row));
                    }
                    Arrival::Nothing => {}
                }
            }
            let all = matches(&world.events);
            let found: BTreeSet<(String, String)> =
                all.iter().map(|m| (m.match_id.clone(), m.merchant_transaction_id.clone())).collect();
            prop_assert_eq!(&found, &expected);
            prop_assert_eq!(all.len(), expected.len(), "nothing matched twice");
            let exports = world.foreign.iter().filter(|f| f.key.starts_with("export:")).count();
            prop_assert_eq!(exports, expected.len(), "each match exported once");
        }
    }
}
