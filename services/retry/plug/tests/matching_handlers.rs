//! The matching domain's handlers against the sandbox: `matching_identity` against its identity
//! service (Hermes' API) and `matching_export` against its merchants' APIs: what each answer
//! becomes, for the task type's policy and for the matching domain.

use clio_retry::classify::ErrorClass;
use clio_retry_plug::handlers::{Handlers, Outcome, Run};
use serde_json::json;

async fn sandbox() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    url
}

fn look_up(token: &str) -> Run {
    Run {
        handler: "matching_identity".into(),
        params: json!({"card_token": token, "merchant": "costa", "provider": "visa", "transaction_id": "v1"}),
        idempotency_key: format!("key-{token}"),
        callback_url: String::new(),
    }
}

fn class(outcome: &Outcome) -> Option<ErrorClass> {
    match outcome {
        Outcome::Failed { class, .. } => Some(*class),
        _ => None,
    }
}

#[tokio::test]
async fn a_holder_with_an_account_is_found_with_the_card_on_file() {
    let handlers = Handlers::new("unused").with_identity(&sandbox().await);
    let Outcome::Success { result } = handlers.perform(&look_up("tok-0001")).await else { panic!("found") };
    assert_eq!((result["first_six"].as_str(), result["last_four"].as_str()), (Some("424242"), Some("0001")));
    assert!(result["scheme_account_id"].as_u64().is_some(), "{result}");
    let Outcome::Success { result: again } = handlers.perform(&look_up("tok-0001")).await else { panic!("found") };
    assert_eq!(again, result, "the same holder every time");
}

#[tokio::test]
async fn no_account_is_a_final_empty_answer_and_failures_are_classified_for_the_policy() {
    let url = sandbox().await;
    let handlers = Handlers::new("unused").with_identity(&url);
    assert_eq!(handlers.perform(&look_up("none-1")).await, Outcome::Success { result: json!({}) });
    assert_eq!(class(&handlers.perform(&look_up("fail-503-1")).await), Some(ErrorClass::Http5xx));
    assert_eq!(class(&handlers.perform(&look_up("fail-400-1")).await), Some(ErrorClass::Http4xx));
    // Flaky: the first call fails, the retry finds the holder.
    assert_eq!(class(&handlers.perform(&look_up("flaky-1-x")).await), Some(ErrorClass::Http5xx));
    assert!(matches!(handlers.perform(&look_up("flaky-1-x")).await, Outcome::Success { .. }));
    // Nobody listening: a transport error, which the policy retries.
    let closed = Handlers::new("unused").with_identity("http://127.0.0.1:9");
    assert_eq!(class(&closed.perform(&look_up("tok-0001")).await), Some(ErrorClass::Transport));
    let unset = Handlers::new("unused");
    assert_eq!(class(&unset.perform(&look_up("tok-0001")).await), Some(ErrorClass::Unknown));
}

fn export(merchant: &str, match_id: &str, retry_on_messages: &[&str]) -> Run {
    Run {
        handler: "matching_export".into(),
        params: json!({"merchant": merchant, "match_id": match_id, "transaction_id": "r1", "amount": 450,
                       "currency": "GBP", "transaction_at": "2026-06-01T10:00:00+00:00", "retry_on_messages": retry_on_messages}),
        idempotency_key: "cause".into(),
        callback_url: String::new(),
    }
}

async fn fail_next(url: &str, merchant: &str, count: u32, status: u16, message: &str) {
    let script = json!({"count": count, "status": status, "message": message});
    let response = reqwest::Client::new()
        .post(format!("{url}/merchants/{merchant}/failures"))
        .json(&script)
        .send()
        .await
        .expect("the sandbox");
    assert!(response.status().is_success());
}

#[tokio::test]
async fn an_export_reaches_its_merchant_under_the_match_id_and_failures_are_classified_by_its_policy() {
    let url = sandbox().await;
    let handlers = Handlers::new("unused").with_merchants(&format!("{url}/merchants/{{merchant}}/transactions"));
    assert!(matches!(handlers.perform(&export("costa", "m-1", &[])).await, Outcome::Success { .. }));
    assert!(matches!(handlers.perform(&export("costa", "m-1", &[])).await, Outcome::Success { .. }));
    let received: serde_json::Value = reqwest::get(format!("{url}/merchants/costa/transactions"))
        .await
        .expect("the sandbox")
        .json()
        .await
        .expect("JSON");
    assert_eq!(received["by_id"]["m-1"], 2, "a repeat carries the same id for the merchant to ignore: {received}");
    assert_eq!(received["received"][0]["idempotency_key"], "m-1");
    assert_eq!(received["received"][0]["export"]["transaction_id"], "r1");

    // A merchant without a message list: 5xx and 4xx keep their classes.
    fail_next(&url, "costa", 2, 503, "down").await;
    assert_eq!(class(&handlers.perform(&export("costa", "m-2", &[])).await), Some(ErrorClass::Http5xx));
    fail_next(&url, "costa", 1, 400, "bad").await;
    assert_eq!(class(&handlers.perform(&export("costa", "m-2", &[])).await), Some(ErrorClass::Http4xx));
    // Stonegate retries only its listed messages: those are not_ready, the rest keep their class.
    let listed = ["Internal Error"];
    fail_next(&url, "stonegate", 1, 500, "Internal Error").await;
    assert_eq!(class(&handlers.perform(&export("stonegate", "m-3", &listed)).await), Some(ErrorClass::NotReady));
    fail_next(&url, "stonegate", 1, 500, "member not found").await;
    assert_eq!(class(&handlers.perform(&export("stonegate", "m-3", &listed)).await), Some(ErrorClass::Http5xx));
    let unset = Handlers::new("unused");
    assert_eq!(class(&unset.perform(&export("costa", "m-4", &[])).await), Some(ErrorClass::Unknown));
}

#[tokio::test]
async fn a_streamed_export_carries_the_purchase_id_and_says_which_feed_under_its_own_key() {
    let url = sandbox().await;
    let handlers = Handlers::new("unused").with_merchants(&format!("{url}/merchants/{{merchant}}/transactions"));
    for (stream_id, feed) in [("stream:p1:AUTH:v1", "AUTH"), ("stream:p1:SETTLED:v1", "SETTLED")] {
        let mut run = export("squaremeal", stream_id, &[]);
        run.params["id"] = json!("p1");
        run.params["feed"] = json!(feed);
        assert!(matches!(handlers.perform(&run).await, Outcome::Success { .. }));
    }
    let received: serde_json::Value = reqwest::get(format!("{url}/merchants/squaremeal/transactions"))
        .await
        .expect("the sandbox")
        .json()
        .await
        .expect("JSON");
    assert_eq!(received["by_id"]["p1"], 2, "one purchase id for the auth and the settlement: {received}");
    assert_eq!(received["by_idempotency_key"]["stream:p1:AUTH:v1"], 1);
    let settled = &received["received"][1]["export"];
    assert_eq!(
        (settled["feed"].as_str(), settled["auth"].as_bool(), settled["cleared"].as_bool()),
        (Some("SETTLED"), Some(false), Some(true))
    );
    assert_eq!(received["received"][0]["export"]["auth"], true);
}
