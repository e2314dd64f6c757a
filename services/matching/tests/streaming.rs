//! Streaming (matching-harmonia-source.md §1): a merchant's streamed feeds go to it as they
//! come, unmatched, once the card holder is known: SquareMeal every auth, settlement and
//! refund; the spotted bpl-* merchants and The Works their refunds. An Amex auth is never
//! streamed, and a spotted Amex purchase is spotted by its settlement.

mod support;

use clio_matching::export::export_task_id;
use clio_matching::messages::*;
use clio_matching::settlement::sha256_hex;
use clio_testkit::scenario::World;
use support::*;

use clio_matching::entity::Matching;

fn at(merchant: &str) -> World<Matching> {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "M1", merchant));
    send(&mut world, onboard("amex", "PRIMARY", "M1", merchant));
    world
}

fn streamed(events: &[MatchingEvent]) -> Vec<&Streamed> {
    events
        .iter()
        .filter_map(|e| match e {
            MatchingEvent::Streamed(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// The export task asked for `export_id`, as its params.
fn export_params(world: &World<Matching>, export_id: &str) -> serde_json::Value {
    let task = world.foreign.iter().find(|f| f.key == export_task_id(export_id)).expect("the export's task");
    let task: CreateTask = apache_avro::from_value(&task.value).expect("a CreateTask");
    serde_json::from_str(&task.params).expect("JSON")
}

fn amex(feed: &str, id: &str, amount: i64) -> PaymentTransaction {
    PaymentTransaction { provider: "amex".into(), settlement_key: id.into(), ..visa(feed, id, "M1", amount, 0) }
}

#[test]
fn squaremeal_takes_the_auth_and_the_settlement_of_one_purchase_under_one_id_and_matches_nothing() {
    let mut world = at("squaremeal");
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = import_identified(&mut world, &auth, found(&auth));
    assert_eq!(
        names(&events),
        [
            "TransactionImported",
            "TransactionIdentified",
            "IdentityRequested",
            "IdentityFound",
            "Streamed",
            "ExportRequested"
        ]
    );
    let settlement = visa("SETTLED", "v1", "M1", 475, 0);
    let events = send(&mut world, import(&settlement));
    assert_eq!(names(&events), ["TransactionImported", "Streamed", "ExportRequested"], "no merge, no drop");
    let [auth_stream, settled_stream] = [&streamed(&world.events)[0], &streamed(&world.events)[1]];
    let purchase = sha256_hex(&auth.settlement_key);
    assert_eq!(
        (auth_stream.purchase_id.as_str(), settled_stream.purchase_id.as_str()),
        (purchase.as_str(), purchase.as_str())
    );
    assert_ne!(auth_stream.stream_id, settled_stream.stream_id, "two exports, two tasks");
    assert_eq!((auth_stream.amount, settled_stream.amount), (450, 475), "each as it came");
    assert_eq!(auth_stream.scheme_account_id, "42");
    let params = export_params(&world, &settled_stream.stream_id);
    assert_eq!((params["id"].as_str(), params["feed"].as_str()), (Some(purchase.as_str()), Some("SETTLED")));
    assert_eq!((params["merchant"].as_str(), params["matching_type"].as_str()), (Some("squaremeal"), Some("STREAMED")));
    assert!(matches(&world.events).is_empty(), "squaremeal matches nothing");
    assert_eq!(names(&send(&mut world, import(&settlement))), ["DuplicateIgnored"], "a repeat streams nothing");
}

#[test]
fn what_comes_before_the_card_holder_is_known_is_streamed_when_it_is() {
    let mut world = at("squaremeal");
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    send(&mut world, import(&auth));
    send(&mut world, import(&visa("SETTLED", "v1", "M1", 450, 0)));
    assert!(streamed(&world.events).is_empty(), "not before the card holder is known");
    let events = send(&mut world, found(&auth));
    let feeds: Vec<&str> = streamed(&events).iter().map(|s| s.feed.as_str()).collect();
    assert_eq!(feeds, ["AUTH", "SETTLED"]);
}

#[test]
fn without_a_card_holder_nothing_is_streamed() {
    let mut world = at("squaremeal");
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = import_identified(&mut world, &auth, outcome(&auth, "SUCCESS", "{}"));
    assert_eq!(names(&events).last(), Some(&"IdentityNotFound"));
    send(&mut world, import(&visa("SETTLED", "v1", "M1", 450, 0)));
    assert!(streamed(&world.events).is_empty());
}

#[test]
fn the_works_spots_its_purchases_and_streams_only_its_refunds() {
    let mut world = at("the-works");
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let events = import_identified(&mut world, &auth, found(&auth));
    assert_eq!(matches(&events).len(), 1, "spotted");
    assert!(streamed(&events).is_empty(), "an auth is not streamed at The Works");
    let mut refund = visa("REFUND", "r1", "M1", -450, DAY);
    refund.transaction_id = "r1".into();
    let events = import_identified(&mut world, &refund, found(&refund));
    let [s] = streamed(&events)[..] else { panic!("the refund streamed: {events:?}") };
    assert_eq!((s.feed.as_str(), s.amount, s.merchant.as_str()), ("REFUND", -450, "the-works"));
    assert_eq!(matches(&events).len(), 0, "a refund is never matched");
    assert_eq!(export_params(&world, &s.stream_id)["feed"], "REFUND");
}

#[test]
fn a_loyalty_merchants_refund_is_not_matchable_and_asks_nobody() {
    let mut world = at("costa");
    let refund = visa("REFUND", "r1", "M1", -450, 0);
    let events = send(&mut world, import(&refund));
    assert_eq!(names(&events), ["TransactionImported", "TransactionIdentified", "NotMatchable"]);
    assert!(world.foreign.is_empty(), "no identity look-up for what goes nowhere");
}

#[test]
fn an_amex_auth_is_never_streamed_and_a_spotted_amex_purchase_is_spotted_by_its_settlement() {
    let mut world = at("squaremeal");
    let auth = amex("AUTH", "AX-1", 450);
    import_identified(&mut world, &auth, found(&auth));
    assert!(streamed(&world.events).is_empty());
    send(&mut world, import(&amex("SETTLED", "AX-1", 460)));
    let feeds: Vec<&str> = streamed(&world.events).iter().map(|s| s.feed.as_str()).collect();
    assert_eq!(feeds, ["SETTLED"]);

    let mut world = at("bpl-viator");
    let auth = amex("AUTH", "AX-2", 450);
    let events = import_identified(&mut world, &auth, found(&auth));
    assert!(matches(&events).is_empty(), "the auth waits: {events:?}");
    let events = send(&mut world, import(&amex("SETTLED", "AX-2", 460)));
    let [spotted] = matches(&events)[..] else { panic!("spotted by the settlement: {events:?}") };
    assert_eq!((spotted.matching_type.as_str(), spotted.amount), ("SPOTTED", 460));
    let again = send(
        &mut world,
        import(&PaymentTransaction { transaction_id: "AX-2b".into(), ..amex("SETTLED", "AX-2", 460) }),
    );
    assert!(matches(&again).is_empty(), "spotted once: {again:?}");
}
