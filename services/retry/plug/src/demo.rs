//! Demo tasks (`clio seed`, and `clio up --demo`): joins against the sandbox's loyalty scheme
//! that succeed at once, succeed after two failures, wait for a callback, fail for good, and an
//! HTTP call the sandbox answers 429 with a Retry-After first. Each join reports its outcome
//! to a status endpoint in the sandbox, by a task of its own. Their ids are fixed, so seeding
//! again creates nothing more.

use clio_retry::messages::{CreateTask, RetryCommand};
use serde_json::json;

use crate::client::{RetryClient, now_micros};

/// Delays of seconds, not minutes, so the demo moves while you watch.
const DEMO_POLICY: &str = r#"{"backoff": {"base": 2.0, "unit_seconds": 5.0, "cap_seconds": 60.0, "jitter": 0.1}}"#;

/// The demo tasks: (task id, type, parameters).
pub fn tasks(sandbox_url: &str) -> Vec<(String, &'static str, serde_json::Value)> {
    // Each join's outcome is reported to a status endpoint the sandbox records (GET /echo-calls).
    let join = |account: i64, email: &str| {
        json!({"scheme": "demo-scheme", "scheme_account_id": account, "credentials": {"email": email},
               "status_url": format!("{sandbox_url}/echo/hermes/schemes/accounts/{account}/status")})
    };
    vec![
        ("demo-join-ok".into(), "midas_join", join(1, "ok@example.com")),
        ("demo-join-flaky".into(), "midas_join", join(2, "flaky-2@example.com")),
        ("demo-join-callback".into(), "midas_join", join(3, "callback@example.com")),
        ("demo-join-refused".into(), "midas_join", join(4, "exists@example.com")),
        ("demo-join-site-down".into(), "midas_join", join(5, "fail-500@example.com")),
        (
            "demo-http-limited".into(),
            "http",
            json!({"method": "POST", "url": format!("{sandbox_url}/echo/demo/limited"),
                   "headers": {"X-Sandbox-Fail-First": "1", "X-Sandbox-Retry-After": "3"}, "body": {"demo": true}}),
        ),
    ]
}

/// Creates the demo tasks; returns how many were sent.
pub async fn seed(client: &RetryClient, sandbox_url: &str) -> anyhow::Result<usize> {
    let tasks = tasks(sandbox_url);
    for (task_id, task_type, params) in &tasks {
        let command = RetryCommand::CreateTask(CreateTask {
            task_id: task_id.clone(),
            task_type: (*task_type).into(),
            params: params.to_string(),
            idempotency_key: String::new(),
            reply_topic: String::new(),
            reply_key: String::new(),
            policy: DEMO_POLICY.into(),
            not_before: 0,
            ts: now_micros(),
        });
        client.send(&command).await?;
    }
    Ok(tasks.len())
}
