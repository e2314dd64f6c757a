//! Every match is exported as a retry task of the merchant's export type, under the match id,
//! with the merchant's export policy; the task's answer ends the export once.

mod support;

use clio_matching::export::export_task_id;
use clio_matching::messages::*;
use clio_matching::settlement::sha256_hex;
use clio_testkit::scenario::{T0, World};
use support::*;

use clio_matching::entity::Matching;

/// A match at `merchant`: its MID onboarded, its row imported, the auth identified and found.
fn matched_at(merchant: &str) -> (World<Matching>, PaymentTransaction) {
    let mut world = World::default();
    send(&mut world, onboard("visa", "PRIMARY", "M1", merchant));
    let mut merchant_row = row(merchant, "r1", "M1", 450, 20 * SECOND);
    merchant_row.auth_code = "A1".into();
    send(&mut world, import_row(&merchant_row));
    let mut auth = visa("AUTH", "v1", "M1", 450, 0);
    auth.auth_code = "A1".into();
    let events = import_identified(&mut world, &auth, found(&auth));
    assert_eq!(matches(&events).len(), 1, "{events:?}");
    (world, auth)
}

fn export_task(world: &World<Matching>) -> CreateTask {
    let exports: Vec<&clio_aggregate::ForeignCommand> =
        world.foreign.iter().filter(|f| f.key.starts_with("export:")).collect();
    let [task] = exports[..] else { panic!("one export task: {:?}", world.foreign) };
    assert_eq!((task.topic.as_str(), task.record.as_str()), ("retry.commands", "clio.retry.CreateTask"));
    apache_avro::from_value(&task.value).expect("a CreateTask")
}

fn answer(match_id: &str, status: &str, class: &str, reason: &str, attempts: i32) -> MatchingCommand {
    MatchingCommand::TaskOutcome(TaskOutcome {
        task_id: export_task_id(match_id),
        idempotency_key: "cause".into(),
        status: status.into(),
        result: String::new(),
        error_class: class.into(),
        reason: reason.into(),
        attempts,
        ts: T0,
    })
}

#[test]
fn a_match_is_exported_under_its_match_id_with_the_seeds_default_policy_and_sent_once() {
    let (mut world, auth) = matched_at("costa");
    let match_id = sha256_hex(&auth.settlement_key);
    let task = export_task(&world);
    assert_eq!(task.task_id, export_task_id(&match_id));
    assert_eq!((task.task_type.as_str(), task.reply_topic.as_str()), ("matching_export", "matching.commands"));
    assert_eq!(task.not_before, 0, "costa takes its exports at once");
    let policy: serde_json::Value = serde_json::from_str(&task.policy).expect("JSON");
    assert_eq!((policy["max_attempts"].as_i64(), policy["backoff"]["unit_seconds"].as_f64()), (Some(5), Some(1200.0)));
    let params: serde_json::Value = serde_json::from_str(&task.params).expect("JSON");
    assert_eq!((params["match_id"].as_str(), params["transaction_id"].as_str()), (Some(match_id.as_str()), Some("r1")));
    assert_eq!(params["amount"], 450);

    let events = send(&mut world, answer(&match_id, "SUCCESS", "", "", 2));
    assert_eq!(names(&events), ["ExportSent"]);
    assert!(send(&mut world, answer(&match_id, "SUCCESS", "", "", 2)).is_empty(), "a repeated answer changes nothing");
    assert!(
        send(&mut world, answer(&match_id, "FAILED", "http_5xx", "late", 3)).is_empty(),
        "an ended export stays ended"
    );
}

#[test]
fn stonegate_holds_its_exports_until_half_past_ten_london_and_retries_31_times_on_listed_messages() {
    let (mut world, auth) = matched_at("stonegate");
    let task = export_task(&world);
    // T0 is midnight in November: London is on UTC, and the first send waits for 10:30.
    assert_eq!(task.not_before, T0 + (10 * 3600 + 1800) * SECOND);
    let policy: serde_json::Value = serde_json::from_str(&task.policy).expect("JSON");
    assert_eq!(policy["max_attempts"], 32);
    let params: serde_json::Value = serde_json::from_str(&task.params).expect("JSON");
    assert_eq!(params["retry_on_messages"][0], "Internal Error");

    let match_id = sha256_hex(&auth.settlement_key);
    let events =
        send(&mut world, answer(&match_id, "FAILED", "http_4xx", "stonegate answered HTTP 400: member not found", 1));
    let [MatchingEvent::ExportFailed(failed)] = &events[..] else { panic!("{events:?}") };
    assert_eq!((failed.error_class.as_str(), failed.attempts), ("http_4xx", 1));
}

#[test]
fn an_export_cancelled_by_an_operator_is_abandoned() {
    let (mut world, auth) = matched_at("costa");
    let match_id = sha256_hex(&auth.settlement_key);
    let events = send(&mut world, answer(&match_id, "CANCELLED", "", "cancelled", 0));
    assert_eq!(names(&events), ["ExportAbandoned"]);
}

#[test]
fn a_delayed_merchants_export_waits_a_day_after_the_match() {
    let (world, _) = matched_at("tgi-fridays");
    assert_eq!(export_task(&world).not_before, T0 + 86_400 * SECOND);
}
