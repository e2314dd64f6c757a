//! The echo's scripted troubles, as the retry domain and the chaos workload meet them: a first
//! call refused with the status and Retry-After asked for, and a first call answered late
//! after acting, so that a caller that gave up calls again for an effect already made.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, CancellationToken::new()));
    url
}

async fn calls_of(url: &str, key: &str) -> Value {
    let calls: Value = reqwest::get(format!("{url}/echo-calls")).await.expect("calls").json().await.expect("json");
    calls["calls"].as_array().into_iter().flatten().find(|c| c["idempotency_key"] == key).cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_first_call_fails_with_the_status_asked_for_then_the_next_succeeds() {
    let url = serve().await;
    let http = reqwest::Client::new();
    let call = || {
        http.post(format!("{url}/echo/limited"))
            .header("Idempotency-Key", "k-429")
            .header("X-Sandbox-Fail-First", "1")
            .header("X-Sandbox-Fail-Status", "429")
            .header("X-Sandbox-Retry-After", "2")
            .send()
    };
    let first = call().await.expect("the echo");
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "2");
    assert_eq!(call().await.expect("the echo").status(), 200);
    let recorded = calls_of(&url, "k-429").await;
    assert_eq!((recorded["count"].as_u64(), recorded["succeeded"].as_u64()), (Some(2), Some(1)));
}

#[tokio::test]
async fn a_slow_first_call_acts_after_its_caller_gave_up_and_the_retry_is_answered_at_once() {
    let url = serve().await;
    let http = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().expect("a client");
    let call = || {
        http.post(format!("{url}/echo/slow"))
            .header("Idempotency-Key", "k-slow")
            .header("X-Sandbox-Slow-First", "1")
            .header("X-Sandbox-Slow-Ms", "600")
            .send()
    };
    let first = call().await;
    assert!(first.as_ref().is_err_and(reqwest::Error::is_timeout), "the first call times out: {first:?}");
    assert_eq!(call().await.expect("the echo").status(), 200, "the second is not slowed");
    // The first call acted before its caller gave up: its effect counts too.
    let recorded = calls_of(&url, "k-slow").await;
    assert_eq!((recorded["count"].as_u64(), recorded["succeeded"].as_u64()), (Some(2), Some(2)));
}
