//! Stonegate's unmatched export (matching-harmonia-source.md §3, #217/#224): a payment still
//! pending at the first UTC midnight more than two days after its date goes to
//! `stonegate-unmatched`: Visa from the auth, Mastercard and Amex only once settled, the card
//! holder known; once per payment, and its late settlement is dropped with the reason.

mod support;

use clio_matching::entity::{Matching, bucket_key};
use clio_matching::export::export_task_id;
use clio_matching::messages::*;
use clio_testkit::scenario::{T0, World};
use support::*;

fn stonegate() -> World<Matching> {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "S1", "stonegate"));
    send(&mut world, onboard("mastercard", "PRIMARY", "S1", "stonegate"));
    world
}

fn mastercard(feed: &str, id: &str, amount: i64, offset: i64) -> PaymentTransaction {
    PaymentTransaction {
        provider: "mastercard".into(),
        settlement_key: format!("mc-{id}"),
        transaction_id: format!("{id}-{feed}"),
        ..visa(feed, id, "S1", amount, offset)
    }
}

fn due(events: &[MatchingEvent]) -> Vec<&UnmatchedExportDue> {
    events
        .iter()
        .filter_map(|e| match e {
            MatchingEvent::UnmatchedExportDue(u) => Some(u),
            _ => None,
        })
        .collect()
}

#[test]
fn a_visa_payment_goes_at_the_first_midnight_more_than_two_days_after_its_date() {
    let mut world = stonegate();
    // 10:00 on day 0: due at midnight starting day 3, as `date < today - 2 days` had it.
    let auth = visa("AUTH", "v1", "S1", 450, 10 * 3600 * SECOND);
    import_identified(&mut world, &auth, found(&auth));
    assert!(world.advance_to(T0 + 3 * DAY - 1).is_empty());
    let events = world.advance_to(T0 + 3 * DAY);
    assert_eq!(names(&events), ["UnmatchedExportDue", "ExportRequested"]);
    let [u] = due(&events)[..] else { unreachable!() };
    assert_eq!(
        (u.export_as.as_str(), u.feed.as_str(), u.scheme_account_id.as_str()),
        ("stonegate-unmatched", "AUTH", "42")
    );
    let task = world.foreign.iter().find(|f| f.key == export_task_id(&u.export_id)).expect("its export task");
    let task: CreateTask = apache_avro::from_value(&task.value).expect("a CreateTask");
    let params: serde_json::Value = serde_json::from_str(&task.params).expect("JSON");
    assert_eq!(
        (params["merchant"].as_str(), params["matching_type"].as_str()),
        (Some("stonegate-unmatched"), Some("UNMATCHED"))
    );

    // Exported once: nothing more, and its settlement is dropped with the reason; past its
    // window the payment retires, and its bucket has nothing of it left to close.
    assert!(world.advance_to(T0 + 10 * DAY).is_empty());
    let events = send(&mut world, import(&visa("SETTLED", "v1", "S1", 450, 0)));
    let dropped = events.iter().find_map(|e| match e {
        MatchingEvent::SettlementDropped(d) => Some(d.reason.as_str()),
        _ => None,
    });
    assert_eq!(dropped, Some("it was exported unmatched"));
    // A merchant row that comes later finds no payment to take.
    let events = send(&mut world, import_row(&row("stonegate", "r1", "S1", 450, 0)));
    assert!(matches(&events).is_empty());
    let mut later = names(&world.advance_to(T0 + 30 * DAY));
    later.sort_unstable();
    assert_eq!(later, ["PaymentRetired", "PendingClosed"], "the payment retires; the row closes");
}

#[test]
fn a_payment_dated_at_midnight_is_not_due_before_the_third_midnight() {
    let mut world = stonegate();
    let auth = visa("AUTH", "v1", "S1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    assert!(world.advance_to(T0 + 3 * DAY - 1).is_empty());
    assert_eq!(due(&world.advance_to(T0 + 3 * DAY)).len(), 1);
}

#[test]
fn a_mastercard_auth_waits_for_its_settlement_and_goes_as_soon_as_it_comes() {
    let mut world = stonegate();
    let auth = mastercard("AUTH", "m1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    assert!(world.advance_to(T0 + 5 * DAY).is_empty(), "an unsettled Mastercard payment does not go");
    send(&mut world, import(&mastercard("SETTLED", "m1", 450, 0)));
    let events = world.advance_to(T0 + 5 * DAY);
    let [u] = due(&events)[..] else { panic!("due once settled: {events:?}") };
    assert_eq!((u.feed.as_str(), u.payment_transaction_id.as_str()), ("SETTLED", "m1-SETTLED"));
}

#[test]
fn a_matched_payment_never_goes_unmatched_and_other_merchants_take_none() {
    let mut world = stonegate();
    send(&mut world, import_row(&row("stonegate", "r1", "S1", 450, 0)));
    let auth = visa("AUTH", "v1", "S1", 450, 0);
    assert_eq!(matches(&import_identified(&mut world, &auth, found(&auth))).len(), 1);
    assert!(due(&world.advance_to(T0 + 20 * DAY)).is_empty());

    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "M1", "costa"));
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    import_identified(&mut world, &auth, found(&auth));
    let mut closed = names(&world.advance_to(T0 + 20 * DAY));
    closed.sort_unstable();
    assert_eq!(closed, ["PaymentRetired", "PendingClosed"], "costa's pending payment only closes (and retires)");
    assert!(world.state(&bucket_key("costa", 450)) != Default::default());
}
