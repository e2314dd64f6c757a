//! The MID registry, one MID per entity (matching-harmonia-source.md §1, §5), as
//! given/when/then scenarios.

mod support;

use clio_matching::entity::Matching;
use clio_matching::entity::mid::recast;
use clio_matching::messages::*;
use clio_testkit::scenario::{T0, given};
use support::*;

fn onboarded(merchant: &str) -> MatchingEvent {
    let MatchingCommand::OnboardMid(c) = onboard("visa", "PRIMARY", "M1", merchant) else { unreachable!() };
    MatchingEvent::MidOnboarded(recast(&c))
}

fn refused(action: &str, reason: &str) -> MatchingEvent {
    MatchingEvent::MidRefused(MidRefused {
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        identifier: "M1".into(),
        action: action.into(),
        reason: reason.into(),
        by: "ops".into(),
        ts: T0,
    })
}

fn update(merchant: &str, location_id: &str) -> MatchingCommand {
    let MatchingCommand::OnboardMid(c) = onboard("visa", "PRIMARY", "M1", merchant) else { unreachable!() };
    MatchingCommand::UpdateMid(recast(&OnboardMid { location_id: location_id.into(), ..c }))
}

fn remove() -> MatchingCommand {
    MatchingCommand::RemoveMid(RemoveMid {
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        identifier: "M1".into(),
        by: "ops".into(),
        ts: T0,
    })
}

#[test]
fn onboarding_again_is_a_no_op_and_another_merchant_is_refused_with_the_owner_named() {
    given::<Matching>([]).when(onboard("visa", "PRIMARY", "M1", "costa")).then([onboarded("costa")]);
    given::<Matching>([onboarded("costa")]).when(onboard("visa", "PRIMARY", "M1", "costa")).then([]);
    given::<Matching>([onboarded("costa")])
        .when(onboard("visa", "PRIMARY", "M1", "itsu"))
        .then([refused("onboard", "visa PRIMARY MID M1 is already onboarded for costa")]);
}

#[test]
fn a_mid_without_its_details_or_of_an_unknown_kind_is_refused_with_the_reason() {
    let MatchingCommand::OnboardMid(good) = onboard("visa", "PRIMARY", "M1", "costa") else { unreachable!() };
    let no_postcode = OnboardMid { postcode: " ".into(), ..good.clone() };
    given::<Matching>([])
        .when(MatchingCommand::OnboardMid(no_postcode))
        .then([refused("onboard", "a MID needs a postcode")]);
    let bad_type = MatchingCommand::OnboardMid(OnboardMid { mid_type: "TERTIARY".into(), ..good });
    let then = given::<Matching>([]).when(bad_type);
    assert!(matches!(&then.decision.events[..], [MatchingEvent::MidRefused(r)]
        if r.reason == "\"TERTIARY\" is not a MID type (PRIMARY, SECONDARY or PSIMI)"));
}

#[test]
fn an_update_replaces_the_details_and_needs_the_mid_onboarded() {
    let then = given::<Matching>([onboarded("costa")]).when(update("costa", "loc-9"));
    assert!(matches!(&then.decision.events[..], [MatchingEvent::MidUpdated(u)] if u.location_id == "loc-9"));
    given::<Matching>([onboarded("costa")]).when(update("costa", "")).then([]);
    given::<Matching>([])
        .when(update("costa", "loc-9"))
        .then([refused("update", "visa PRIMARY MID M1 is not onboarded")]);
}

#[test]
fn a_removed_mid_names_its_merchant_and_identifies_nothing_after() {
    let then = given::<Matching>([onboarded("costa")]).when(remove());
    let [MatchingEvent::MidRemoved(removed)] = &then.decision.events[..] else { panic!("{:?}", then.decision) };
    assert_eq!(removed.merchant, "costa");
    let gone = [onboarded("costa"), then.decision.events[0].clone()];
    given::<Matching>(gone.clone()).when(remove()).then([refused("remove", "visa PRIMARY MID M1 is not onboarded")]);
    let auth = visa("AUTH", "v1", "M1", 450, 0);
    let step = IdentifyPayment {
        payment_key: key_of(&auth),
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        primary_mid: "M1".into(),
        secondary_mid: String::new(),
        psimi: String::new(),
        ts: T0,
    };
    let then = given::<Matching>(gone).when(MatchingCommand::IdentifyPayment(step));
    then.then_commands([(
        key_of(&auth),
        MatchingCommand::PaymentUnidentified(PaymentUnidentified { payment_key: key_of(&auth), ts: T0 }),
    )]);
}

#[test]
fn the_mid_records_carry_the_same_fields_so_one_becomes_another() {
    let MatchingCommand::OnboardMid(c) = onboard("visa", "PRIMARY", "M1", "costa") else { unreachable!() };
    let MatchingEvent::MidOnboarded(e) = onboarded("costa") else { unreachable!() };
    let MidOnboarded {
        provider,
        mid_type,
        identifier,
        merchant,
        location,
        postcode,
        location_id,
        merchant_internal_id,
        by,
        ts,
    } = e.clone();
    let by_hand = OnboardMid {
        provider,
        mid_type,
        identifier,
        merchant,
        location,
        postcode,
        location_id,
        merchant_internal_id,
        by,
        ts,
    };
    assert_eq!(by_hand, c, "field for field");
    let back: OnboardMid = recast(&recast::<_, MidUpdated>(&e));
    assert_eq!(back, c);
}
