//! Retry tasks against outside servers that fail: joins through the gateway (Midas's journey;
//! the scheme is the sandbox's, scripted by the email), and HTTP calls produced as commands to
//! the sandbox's echo, which fails each key's first call with a Retry-After.

use std::time::Duration;

use anyhow::Context as _;
use clio_retry::messages::{CreateTask, RetryCommand};
use clio_retry_plug::client::{RetryClient, now_micros};
use clio_runtime::codec::Codec;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Target, patiently};

/// The scheme the joins go to.
pub const SCHEME: &str = "chaos-scheme";
/// Joins in turn: at once; joined after 300 ms (a kill can come while the scheme acts); refused
/// for good (409). None fails first: the scheme's schedule retries minutes later, and the
/// retry log would still be moving when the checks compare its read model with a rebuild; the
/// HTTP tasks fail first instead.
const EMAILS: [&str; 3] = ["ok", "delay-300", "exists"];
/// What the echo does to the first call of HTTP task `n`, in turn: 503 with a Retry-After, 429
/// with a Retry-After, an answer after 3 s (the task's timeout is 1 s; the echo acted anyway).
fn trouble(n: i64) -> serde_json::Value {
    match n % 3 {
        0 => json!({"X-Sandbox-Fail-First": "1", "X-Sandbox-Retry-After": "1"}),
        1 => json!({"X-Sandbox-Fail-First": "1", "X-Sandbox-Fail-Status": "429", "X-Sandbox-Retry-After": "1"}),
        _ => json!({"X-Sandbox-Slow-First": "1", "X-Sandbox-Slow-Ms": "3000"}),
    }
}
/// HTTP tasks retry within seconds, so that they finish within a run.
const HTTP_POLICY: &str = r#"{"max_attempts": 8, "backoff": {"base": 2.0, "unit_seconds": 1.0, "cap_seconds": 5.0, "jitter": 0.1}, "schedules": {}, "retry_after_cap_seconds": 5.0}"#;
const PACE: Duration = Duration::from_millis(400);

/// What the gateway and the broker acknowledged.
#[derive(Debug, Default)]
pub struct Sent {
    /// (scheme account, email, task id) of each join the gateway accepted.
    pub joins: Vec<(i64, String, String)>,
    /// The id (and echo path) of each HTTP task.
    pub http: Vec<String>,
}

pub async fn run(target: &Target, stop: CancellationToken) -> anyhow::Result<Sent> {
    let client = RetryClient {
        producer: clio_runtime::kafka::producer(&target.kafka).context("the retry workload's producer")?,
        codec: Codec::new(&target.registry),
        commands_topic: "retry.commands".into(),
    };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let mut sent = Sent::default();
    let mut n: i64 = 0;
    while !stop.is_cancelled() {
        n += 1;
        if n % 3 == 0 {
            let task_id = format!("chaos-http-{n}");
            let command = RetryCommand::CreateTask(CreateTask {
                task_id: task_id.clone(),
                task_type: "http".into(),
                params: json!({"method": "POST", "url": format!("{}/echo/chaos/{task_id}", target.sandbox),
                               "headers": trouble(n / 3),
                               "timeout_ms": 1000, "body": {"n": n}})
                .to_string(),
                idempotency_key: String::new(),
                reply_topic: String::new(),
                reply_key: String::new(),
                policy: HTTP_POLICY.into(),
                not_before: 0,
                ts: now_micros(),
            });
            patiently(Duration::from_secs(600), async || client.send(&command).await).await?;
            sent.http.push(task_id);
        } else {
            let email = EMAILS[sent.joins.len() % EMAILS.len()];
            let task_id = join(&http, target, n, email).await?;
            sent.joins.push((n, email.to_string(), task_id));
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(PACE) => {}
        }
    }
    Ok(sent)
}

/// One join, sent again (the same message) until the gateway accepts it; its task id.
async fn join(http: &reqwest::Client, target: &Target, account: i64, email: &str) -> anyhow::Result<String> {
    let url = format!("{}/v1/retry/join/{SCHEME}", target.gateway);
    let body = json!({"scheme_account_id": account, "message_uid": format!("m{account}"),
                      "credentials": {"email": format!("{email}@example.com")}});
    // A refusal (4xx) is the workload's bug or the platform's, and stops the run; anything
    // else (refused connections while clio up restarts, 503 while it starts) is tried again.
    let refusal = patiently(Duration::from_secs(600), async || {
        let answer = http.post(&url).json(&body).send().await?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if status.is_client_error() {
            return Ok(Some(format!("{status}: {text}")));
        }
        anyhow::ensure!(status.is_success(), "the gateway answered {status}: {text}");
        Ok(None)
    })
    .await
    .with_context(|| format!("join {account}"))?;
    if let Some(refusal) = refusal {
        anyhow::bail!("the gateway refused join {account}: {refusal}");
    }
    Ok(format!("join-{SCHEME}-{account}-m{account}"))
}
