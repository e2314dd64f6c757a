//! Builders for the matching scenarios: a Costa MID, payments and merchant rows that match it,
//! and a world that answers identity look-ups as the retry domain would.

#![allow(dead_code)]

use clio_aggregate::{Aggregate as _, Cause, Context};
use clio_matching::entity::{Matching, identity_task_id, payment_key};
use clio_matching::messages::*;
use clio_matching::settlement::visa_settlement_key;
use clio_testkit::scenario::{T0, World};

pub const SECOND: i64 = 1_000_000;
pub const DAY: i64 = 86_400 * SECOND;

pub fn onboard(provider: &str, mid_type: &str, identifier: &str, merchant: &str) -> MatchingCommand {
    MatchingCommand::OnboardMid(OnboardMid {
        provider: provider.into(),
        mid_type: mid_type.into(),
        identifier: identifier.into(),
        merchant: merchant.into(),
        location: "1 High Street".into(),
        postcode: "AB1 2CD".into(),
        location_id: String::new(),
        merchant_internal_id: String::new(),
        by: "ops".into(),
        ts: T0,
    })
}

/// A Visa auth at MID `mid` of `amount` pence, `offset` after T0; its VIP id is `id`.
pub fn visa(feed: &str, id: &str, mid: &str, amount: i64, offset: i64) -> PaymentTransaction {
    PaymentTransaction {
        transaction_id: id.into(),
        feed: feed.into(),
        provider: "visa".into(),
        settlement_key: visa_settlement_key(id).expect("an id"),
        primary_mid: mid.into(),
        secondary_mid: String::new(),
        psimi: String::new(),
        amount,
        currency: "GBP".into(),
        at: T0 + offset,
        source_zone: "GMT".into(),
        has_time: true,
        card_token: format!("token-{id}"),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: String::new(),
        approval_code: String::new(),
        extra: String::new(),
    }
}

pub fn import(t: &PaymentTransaction) -> MatchingCommand {
    MatchingCommand::ImportPayment(ImportPayment { batch: "b1".into(), transaction: t.clone(), ts: T0 })
}

pub fn row(merchant: &str, id: &str, mid: &str, amount: i64, offset: i64) -> MerchantTransaction {
    MerchantTransaction {
        transaction_id: id.into(),
        merchant: merchant.into(),
        provider: "visa".into(),
        mids: vec![mid.into()],
        amount,
        currency: "GBP".into(),
        at: T0 + offset,
        source_zone: "Europe/London".into(),
        has_time: true,
        card_token: String::new(),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: String::new(),
        extra: String::new(),
    }
}

pub fn import_row(r: &MerchantTransaction) -> MatchingCommand {
    MatchingCommand::ImportMerchantTransaction(ImportMerchantTransaction {
        batch: "m1".into(),
        transaction: r.clone(),
        ts: T0,
    })
}

pub fn key_of(t: &PaymentTransaction) -> String {
    payment_key(&t.settlement_key)
}

/// The identity service's answer for a card holder with an account.
pub fn found(t: &PaymentTransaction) -> MatchingCommand {
    outcome(
        t,
        "SUCCESS",
        r#"{"scheme_account_id": 42, "user_id": "u1", "loyalty_id": "L-1", "first_six": "424242", "last_four": "4242"}"#,
    )
}

pub fn outcome(t: &PaymentTransaction, status: &str, result: &str) -> MatchingCommand {
    MatchingCommand::TaskOutcome(TaskOutcome {
        task_id: identity_task_id(&key_of(t)),
        idempotency_key: "cause".into(),
        status: status.into(),
        result: result.into(),
        error_class: if status == "SUCCESS" { String::new() } else { "http_4xx".into() },
        reason: if status == "SUCCESS" { String::new() } else { "404 Not Found".into() },
        attempts: 1,
        ts: T0,
    })
}

/// Sends a command and delivers everything it causes, as `World::send` does, checking that
/// each command was addressed to the entity its record names (the runtime routes by the
/// address, the aggregate decides by the record).
pub fn send(world: &mut World<Matching>, command: MatchingCommand) -> Vec<MatchingEvent> {
    world.in_flight.push_back(command);
    let mut out = Vec::new();
    while let Some(next) = world.in_flight.pop_front() {
        let state = world.state(&Matching::entity_key(&next));
        let context = Context { now_micros: world.now, cause: Cause::new("matching.commands", 0, world.offset + 1) };
        for (target, command) in Matching::decide(&state, &next, &context).commands {
            assert_eq!(target, Matching::entity_key(&command), "{command:?} is addressed to its entity");
        }
        out.extend(world.decide(next));
    }
    out
}

/// Imports a payment and answers its identity look-up (when one was asked) with `answer`.
pub fn import_identified(
    world: &mut World<Matching>,
    t: &PaymentTransaction,
    answer: MatchingCommand,
) -> Vec<MatchingEvent> {
    let asked_before = world.foreign.len();
    let mut events = send(world, import(t));
    if world.foreign.len() > asked_before {
        events.extend(send(world, answer));
    }
    events
}

pub fn matches(events: &[MatchingEvent]) -> Vec<&Matched> {
    events
        .iter()
        .filter_map(|e| match e {
            MatchingEvent::Matched(m) => Some(m),
            _ => None,
        })
        .collect()
}

pub fn names(events: &[MatchingEvent]) -> Vec<&'static str> {
    use clio_aggregate::RecordSet as _;
    events.iter().map(|e| e.record_name().trim_start_matches("clio.matching.")).collect()
}

pub fn entity_key(command: &MatchingCommand) -> String {
    Matching::entity_key(command)
}
