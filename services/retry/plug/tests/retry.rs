//! The retry domain end to end: tasks created on the log and through the gateway, decided by
//! the processor, their runs performed by the worker against the sandbox, their state in the
//! read model and the routes.

use clio_retry::messages::{CreateTask, RetryCommand};
use clio_retry_plug::RetryPlug;
use clio_testkit::records::{eventually, produce};
use clio_testkit::stack::DomainStack;
use serde_json::{Value, json};

/// Delays short enough for a test: 0.2 s, 0.4 s, ... at most 1 s.
const FAST: &str = r#"{"backoff": {"base": 2.0, "unit_seconds": 0.2, "cap_seconds": 1.0, "jitter": 0.0}}"#;

struct Retry {
    stack: DomainStack,
    sandbox: String,
    http: reqwest::Client,
}

async fn start() -> Retry {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let schemas = clio_testkit::tools::repo_root().join("schemas");
    let mut stack = DomainStack::start("retry", &RetryPlug::default(), &schemas).await.expect("the retry stack");
    let scheme_url = format!("{sandbox}/schemes/{{scheme}}");
    let workers = stack
        .spawn_workers(&["--retry-scheme-url", &scheme_url, "--retry-callback-base", &stack.gateway_url.clone()])
        .expect("the worker");
    assert_eq!(workers, ["retry worker"]);
    Retry { stack, sandbox, http: reqwest::Client::new() }
}

impl Retry {
    async fn create(&self, task_id: &str, task_type: &str, params: Value, policy: &str) {
        let command = RetryCommand::CreateTask(CreateTask {
            task_id: task_id.into(),
            task_type: task_type.into(),
            params: params.to_string(),
            idempotency_key: String::new(),
            reply_topic: String::new(),
            reply_key: String::new(),
            policy: policy.into(),
            not_before: 0,
            ts: chrono::Utc::now().timestamp_micros(),
        });
        let stack = &self.stack;
        produce(&stack.env.kafka, &stack.codec, &stack.topics.commands, &[(task_id.to_string(), command)]).await;
    }

    async fn task(&self, task_id: &str) -> Value {
        let url = format!("{}/v1/retry/tasks/{task_id}", self.stack.gateway_url);
        match self.http.get(url).send().await {
            Ok(answer) if answer.status() == 200 => answer.json().await.unwrap_or_default(),
            _ => Value::Null,
        }
    }

    /// The task once its status is `status` (within 60 s).
    async fn until(&self, task_id: &str, status: &str) -> Value {
        let mut seen = Value::Null;
        let reached = eventually(60, async || {
            seen = self.task(task_id).await;
            seen["status"] == status
        })
        .await;
        assert!(reached, "{task_id} never became {status}: {seen}");
        seen
    }

    /// What the sandbox says at `path`.
    async fn sandbox(&self, path: &str) -> Value {
        let answer = self.http.get(format!("{}{path}", self.sandbox)).send().await.expect("sandbox");
        answer.json().await.expect("json")
    }

    async fn joins(&self, scheme: &str) -> Vec<Value> {
        let answer = self.sandbox(&format!("/schemes/{scheme}/joins")).await;
        answer["joins"].as_array().cloned().unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_that_fails_twice_is_retried_by_its_schedule_and_joins_once() {
    let retry = start().await;
    let scheme = retry.stack.env.unique("flaky");
    let params = json!({"scheme": scheme, "scheme_account_id": 41, "credentials": {"email": "flaky-2@example.com"}});
    retry.create("join-41", "midas_join", params, FAST).await;
    let task = retry.until("join-41", "SUCCESS").await;
    assert_eq!(task["attempts"], 3, "{task}");
    let audit = task["attempts_audit"].as_array().expect("the audit");
    assert_eq!(audit.len(), 2, "one audit entry per failed run: {task}");
    assert!(audit.iter().all(|a| a["error_class"] == "not_sent" && a["http_status"] == 503), "{task}");
    let joins = retry.joins(&scheme).await;
    assert_eq!(joins.len(), 1, "one idempotency key for every attempt: {joins:?}");
    assert_eq!(joins[0]["calls"], 3);
    assert!(joins[0]["card_number"].is_string(), "one account made: {joins:?}");
    retry.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_through_the_gateway_waits_for_the_schemes_callback_and_a_refused_one_fails_at_once() {
    let retry = start().await;
    let (gateway, http) = (&retry.stack.gateway_url, &retry.http);
    let scheme = retry.stack.env.unique("cb");
    let join = |account: i64, email: &str| {
        http.post(format!("{gateway}/v1/retry/join/{scheme}"))
            .json(&json!({"scheme_account_id": account, "credentials": {"email": email}}))
            .send()
    };
    let answer: Value = join(7, "callback@example.com").await.expect("answers").json().await.expect("json");
    assert_eq!(answer["message"], "success");
    let task_id = answer["task_id"].as_str().expect("a task id").to_string();
    let task = retry.until(&task_id, "SUCCESS").await;
    assert_eq!(
        (task["attempts"].clone(), task["callbacks"][0]["outcome"].clone()),
        (json!(1), json!("success")),
        "{task}"
    );

    let answer: Value = join(8, "exists@example.com").await.expect("answers").json().await.expect("json");
    let task_id = answer["task_id"].as_str().expect("a task id").to_string();
    let task = retry.until(&task_id, "FAILED").await;
    assert_eq!(task["last_error_class"], "account_already_exists", "not retried: {task}");
    assert_eq!(task["attempts"], 1);

    let missing = http
        .post(format!("{gateway}/v1/retry/callbacks/{scheme}?task_id=nobody"))
        .json(&json!({"callback_id": "x"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404);
    let late = http
        .post(format!("{gateway}/v1/retry/callbacks/{scheme}?task_id={task_id}"))
        .json(&json!({"callback_id": "late"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(late.status(), 409, "a FAILED task takes no callback");
    let cancel = http.post(format!("{gateway}/v1/retry/tasks/{task_id}/cancel")).send().await.expect("answers");
    assert_eq!(cancel.status(), 202, "a FAILED task may be cancelled");
    retry.until(&task_id, "CANCELLED").await;
    let requeue = http
        .post(format!("{gateway}/v1/retry/tasks/{task_id}/requeue"))
        .json(&json!({"new_task_id": format!("{task_id}-again")}))
        .send()
        .await
        .expect("answers");
    assert_eq!(requeue.status(), 202);
    retry.until(&task_id, "REQUEUED").await;
    retry.until(&format!("{task_id}-again"), "FAILED").await;
    retry.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_task_honours_retry_after_and_an_unknown_type_is_rejected() {
    let retry = start().await;
    let url = format!("{}/echo/orders/1", retry.sandbox);
    // The first call fails with a Retry-After of 2 s, longer than the policy's 0.4 s.
    let headers = json!({"X-Sandbox-Fail-First": "1", "X-Sandbox-Retry-After": "2"});
    let params = json!({"method": "POST", "url": url, "headers": headers, "body": {"n": 1}});
    retry.create("http-1", "http", params, FAST).await;
    let task = retry.until("http-1", "SUCCESS").await;
    assert_eq!(task["attempts"], 2, "{task}");
    assert_eq!(task["attempts_audit"][0]["error_class"], "http_5xx", "{task}");
    let time = |field: &Value| chrono::DateTime::parse_from_rfc3339(field.as_str().expect("a time")).expect("RFC 3339");
    let waited = time(&task["updated_at"]) - time(&task["attempts_audit"][0]["failed_at"]);
    // Both times are the records' (the log's clock, not the decisions'): a little slack.
    assert!(
        waited >= chrono::Duration::milliseconds(1_500),
        "the second run waited for the Retry-After (2 s, not the 0.4 s backoff): {waited}"
    );

    retry.create("nope-1", "no_such_type", json!({}), "").await;
    let rejections =
        format!("SELECT reason FROM \"{}\".rejections WHERE task_id = 'nope-1'", retry.stack.home().schema());
    let mut reasons: Vec<String> = Vec::new();
    let recorded = eventually(60, async || {
        reasons = sqlx::query_scalar(&rejections).fetch_all(&retry.stack.env.pool).await.unwrap_or_default();
        !reasons.is_empty()
    })
    .await;
    assert!(recorded, "the rejection reached the read model");
    assert!(reasons[0].contains("unknown task type \"no_such_type\""), "{reasons:?}");
    assert!(retry.task("nope-1").await.is_null(), "a rejected task is not a task");
    retry.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_of_one_account_run_one_at_a_time_and_each_reports_its_status_by_a_task_of_its_own() {
    let retry = start().await;
    let (gateway, http, sandbox) = (&retry.stack.gateway_url, &retry.http, &retry.sandbox);
    let scheme = retry.stack.env.unique("one");
    let mut task_ids = Vec::new();
    for (uid, email) in
        [("m1", "delay-1500@example.com"), ("m2", "delay-1500@example.com"), ("m3", "exists@example.com")]
    {
        let body = json!({"scheme_account_id": 51, "credentials": {"email": email}, "message_uid": format!("{scheme}-{uid}"),
                          "status_url": format!("{sandbox}/echo/hermes/51/status")});
        let answer: Value = http
            .post(format!("{gateway}/v1/retry/join/{scheme}"))
            .json(&body)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        task_ids.push(answer["task_id"].as_str().expect("a task id").to_string());
    }
    let bad = http
        .post(format!("{gateway}/v1/retry/join/{scheme}"))
        .json(&json!({"scheme_account_id": 51, "status_url": "ftp://nowhere"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status(), 400);
    let (first, second) = (retry.until(&task_ids[0], "SUCCESS").await, retry.until(&task_ids[1], "SUCCESS").await);
    let refused = retry.until(&task_ids[2], "FAILED").await;
    let most = retry.sandbox(&format!("/schemes/{scheme}/joins")).await;
    assert_eq!(most["most_at_once"]["51"], 1, "one call for the account at a time: {most}");
    let deferred = [&first, &second, &refused].iter().filter(|task| !task["deferred_by"].is_null()).count();
    assert!(deferred >= 1, "a join waited for another: {first} {second} {refused}");
    // Each join's outcome went to the caller's status endpoint, once, by its own task.
    for task_id in &task_ids {
        retry.until(&format!("{task_id}:status"), "SUCCESS").await;
    }
    let calls = retry.sandbox("/echo-calls").await;
    let status_of = |uid: &str| {
        let key = format!("{scheme}-{uid}:status");
        let call = calls["calls"].as_array().into_iter().flatten().find(|c| c["idempotency_key"] == key.as_str());
        call.map(|c| (c["succeeded"].clone(), c["body"]["status"].clone()))
    };
    assert_eq!(status_of("m1"), Some((json!(1), json!(1))), "{calls}");
    assert_eq!(status_of("m2"), Some((json!(1), json!(1))), "{calls}");
    assert_eq!(status_of("m3"), Some((json!(1), json!(445))), "{calls}");
    // The slot is free at the end, and the operator who cancels is on record.
    let slots = format!("SELECT count(*) FROM \"{}\".slots WHERE holder IS NOT NULL", retry.stack.home().schema());
    let held: i64 = sqlx::query_scalar(&slots).fetch_one(&retry.stack.env.pool).await.expect("slots");
    assert_eq!(held, 0);
    let cancel = http
        .post(format!("{gateway}/v1/retry/tasks/{}/cancel", task_ids[2]))
        .header("X-Clio-Operator", "ana")
        .send()
        .await
        .expect("answers");
    assert_eq!(cancel.status(), 202);
    let cancelled = retry.until(&task_ids[2], "CANCELLED").await;
    assert_eq!(cancelled["cancelled_by"], "ana");
    retry.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_run_s_event_on_the_log_is_not_performed_a_second_time() {
    use rdkafka::Message as _;
    use rdkafka::message::Headers as _;

    let retry = start().await;
    let url = format!("{}/echo/copies/{}", retry.sandbox, retry.stack.env.unique("run"));
    let params = json!({"method": "POST", "url": url, "body": {"n": 1}});
    retry.create("copy-1", "http", params, FAST).await;
    retry.until("copy-1", "SUCCESS").await;

    // Two processor instances can write one outcome (docs/delivery.md): a copy of the event
    // that started the run, same bytes, same headers, later on the same partition.
    let events = clio_testkit::records::read_all(&retry.stack.env.kafka, &retry.stack.topics.events).await;
    let started = events
        .iter()
        .find(|m| {
            m.key() == Some(b"copy-1".as_slice())
                && clio_runtime::headers::get(*m, clio_runtime::headers::RECORD_TYPE)
                    .is_some_and(|r| r.ends_with("AttemptStarted"))
        })
        .expect("the run's event");
    let headers: Vec<(String, String)> = started
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    clio_testkit::records::produce_raw(
        &retry.stack.env.kafka,
        &retry.stack.topics.events,
        Some(started.partition()),
        Some("copy-1"),
        started.payload().expect("a payload"),
        &headers,
    )
    .await;
    // A marker task on the copy's partition, behind it: once it has run, the worker has read
    // the copy.
    let (kafka, topic) = (retry.stack.env.kafka.clone(), retry.stack.topics.commands.clone());
    let partitions = tokio::task::spawn_blocking(move || {
        clio_runtime::kafka::partition_count(&clio_runtime::kafka::reader(&kafka).expect("a reader"), &topic)
    })
    .await
    .expect("ran")
    .expect("the commands topic's partitions");
    let marker = (0..)
        .map(|n| format!("copy-2-{n}"))
        .find(|key| clio_aggregate::partition_for_key(key.as_bytes(), partitions) == started.partition())
        .expect("a key on the copy's partition");
    retry.create(&marker, "http", json!({"method": "POST", "url": format!("{url}-after")}), FAST).await;
    retry.until(&marker, "SUCCESS").await;
    let calls = retry.sandbox("/echo-calls").await;
    let ours: Vec<&Value> = calls["calls"]
        .as_array()
        .expect("the calls")
        .iter()
        .filter(|c| c["path"].as_str().is_some_and(|p| url.ends_with(p)))
        .collect();
    assert_eq!(ours.len(), 1, "{calls}");
    assert_eq!(ours[0]["count"], 1, "the copy was performed again: {calls}");
    retry.stack.stop().await;
}
