//! Force match: an operator pairs a pending payment with a pending merchant transaction of its
//! merchant; each side is consumed once, and a side that is not pending is refused with the
//! reason, leaving the other as it was.

mod support;

use clio_matching::entity::{Entity, Matching, bucket_key};
use clio_matching::messages::*;
use clio_testkit::scenario::World;
use support::*;

/// Costa with a payment of `paid` pence pending, and a merchant row of `rowed` pence an hour
/// later (too far for the rules) pending.
fn pending_pair(paid: i64, rowed: i64) -> (World<Matching>, PaymentTransaction) {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "M1", "costa"));
    let auth = visa("AUTH", "v1", "M1", paid, 0);
    import_identified(&mut world, &auth, found(&auth));
    send(&mut world, import_row(&row("costa", "r1", "M1", rowed, 3_600 * SECOND)));
    assert!(matches(&world.events).is_empty(), "the rules match nothing here");
    (world, auth)
}

fn force(payment: &PaymentTransaction, paid: i64, rowed: i64) -> MatchingCommand {
    MatchingCommand::ForceMatch(ForceMatch {
        bucket: bucket_key("costa", rowed),
        payment_key: key_of(payment),
        payment_bucket: bucket_key("costa", paid),
        merchant: "costa".into(),
        merchant_transaction_id: "r1".into(),
        by: "ops".into(),
        ts: 0,
    })
}

fn bucket(world: &World<Matching>, amount: i64) -> clio_matching::entity::BucketState {
    match world.state(&bucket_key("costa", amount)) {
        Entity::Bucket(state) => *state,
        other => panic!("a bucket, not {other:?}"),
    }
}

#[test]
fn a_force_match_in_one_bucket_matches_both_sides_as_forced_and_exports_it() {
    let (mut world, auth) = pending_pair(450, 450);
    let events = send(&mut world, force(&auth, 450, 450));
    assert_eq!(names(&events), ["Matched", "ExportRequested"]);
    let [matched] = matches(&events)[..] else { unreachable!() };
    assert_eq!((matched.matching_type.as_str(), matched.merchant_transaction_id.as_str()), ("FORCED", "r1"));
    let left = bucket(&world, 450);
    assert!(left.payments.is_empty() && left.rows.is_empty(), "both sides consumed");
}

#[test]
fn a_force_match_across_amounts_reserves_the_row_and_matches_in_the_payments_bucket() {
    let (mut world, auth) = pending_pair(450, 500);
    let events = send(&mut world, force(&auth, 450, 500));
    assert_eq!(names(&events), ["MerchantTransactionReserved", "Matched", "ExportRequested"]);
    let [matched] = matches(&events)[..] else { unreachable!() };
    assert_eq!((matched.amount, matched.payment_transaction_id.as_str()), (500, "v1"), "the row's amount");
    assert!(bucket(&world, 500).rows.is_empty(), "the row is consumed");
    assert!(bucket(&world, 450).payments.is_empty(), "the payment is consumed");
    assert_eq!(bucket(&world, 450).key, bucket_key("costa", 450), "the payment's bucket keeps its key");
    // Asked again: the row is no longer pending.
    let again = send(&mut world, force(&auth, 450, 500));
    let [MatchingEvent::ForceMatchRefused(refused)] = &again[..] else { panic!("{again:?}") };
    assert_eq!(refused.reason, "merchant transaction r1 is not pending");
}

#[test]
fn a_payment_no_longer_pending_refuses_the_force_match_and_its_row_is_pending_again() {
    let (mut world, auth) = pending_pair(450, 500);
    // The payment matches another row of its own amount first.
    send(&mut world, import_row(&row("costa", "r0", "M1", 450, 10 * SECOND)));
    assert_eq!(matches(&world.events).len(), 1);
    let events = send(&mut world, force(&auth, 450, 500));
    assert_eq!(names(&events), ["MerchantTransactionReserved", "ForceMatchRefused", "MerchantTransactionReleased"]);
    let MatchingEvent::ForceMatchRefused(refused) = &events[1] else { unreachable!() };
    assert_eq!(refused.reason, format!("payment {} is not pending", key_of(&auth)));
    assert!(bucket(&world, 500).rows.contains_key("r1"), "the row is pending again");
}
