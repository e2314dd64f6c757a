//! The worker killed with SIGKILL at random moments, again and again, while tasks run: every
//! task still ends as the sandbox's script says it must, and each success was made once, under
//! the one idempotency key of its task, however many times the call was repeated.

use std::time::Duration;

use clio_retry::messages::{CreateTask, RetryCommand};
use clio_retry_plug::RetryPlug;
use clio_testkit::records::{eventually, produce};
use clio_testkit::stack::DomainStack;
use rand::Rng as _;
use serde_json::{Value, json};

/// Short delays. A run's timeout (10 s) outlasts a restart (the killed member's session, 2 s,
/// then a rebalance), so the next worker performs again what the killed one had not reported,
/// within the run's deadline, and no run times out: the outcomes are a clean run's.
const POLICY: &str = r#"{"backoff": {"base": 2.0, "unit_seconds": 0.2, "cap_seconds": 1.0, "jitter": 0.0},
                         "attempt_timeout_seconds": 10.0, "max_attempts": 6}"#;

/// (email script, the status it must end in)
/// (`delay-700`: the scheme joins 0.7 s into the call, so a kill can fall after it acted and
/// before the worker heard.)
const SCRIPTS: [(&str, &str); 6] = [
    ("ok", "SUCCESS"),
    ("flaky-2", "SUCCESS"),
    ("delay-700", "SUCCESS"),
    ("callback", "SUCCESS"),
    ("exists", "FAILED"),
    ("fail-404", "FAILED"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_at_random_moments_changes_no_outcome_and_repeats_no_effect() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let schemas = clio_testkit::tools::repo_root().join("schemas");
    let stack = DomainStack::start("retry-crash", &RetryPlug::default(), &schemas).await.expect("the stack");
    let scheme = stack.env.unique("crash");
    let now = chrono::Utc::now().timestamp_micros();
    let mut expected = Vec::new();
    let mut commands = Vec::new();
    for n in 0..48_i64 {
        let (script, status) = SCRIPTS[n as usize % SCRIPTS.len()];
        let task_id = format!("crash-{n}");
        let params = json!({"scheme": scheme, "scheme_account_id": n, "credentials": {"email": format!("{script}@example.com")}});
        commands.push((
            task_id.clone(),
            RetryCommand::CreateTask(CreateTask {
                task_id: task_id.clone(),
                task_type: "midas_join".into(),
                params: params.to_string(),
                idempotency_key: String::new(),
                reply_topic: String::new(),
                reply_key: String::new(),
                policy: POLICY.into(),
                not_before: 0,
                ts: now,
            }),
        ));
        expected.push((task_id, status));
    }
    produce(&stack.env.kafka, &stack.codec, &stack.topics.commands, &commands).await;

    let spawn = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_retry-worker"))
            .env("CLIO_BROKERS", &stack.env.kafka.brokers)
            .env("CLIO_REGISTRY_URL", &stack.env.registry_url)
            .env("CLIO_SESSION_TIMEOUT_MS", "2000")
            .env("RETRY_PREFIX", stack.home().prefix())
            .env("CLIO_RETRY_SCHEME_URL", format!("{sandbox}/schemes/{{scheme}}"))
            .env("CLIO_RETRY_CALLBACK_BASE", &stack.gateway_url)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("the worker starts")
    };
    let statuses =
        format!("SELECT task_id, status FROM \"{}\".tasks WHERE task_id LIKE 'crash-%'", stack.home().schema());
    let finished = |rows: &[(String, String)]| {
        rows.len() == expected.len() && rows.iter().all(|(_, status)| ["SUCCESS", "FAILED"].contains(&status.as_str()))
    };
    let mut kills = 0;
    let mut worker = spawn();
    for _ in 0..12 {
        let pause = Duration::from_millis(rand::rng().random_range(300..2_500));
        tokio::time::sleep(pause).await;
        let rows: Vec<(String, String)> =
            sqlx::query_as(&statuses).fetch_all(&stack.env.pool).await.unwrap_or_default();
        if finished(&rows) {
            break;
        }
        worker.start_kill().expect("SIGKILL");
        let _ = worker.wait().await;
        kills += 1;
        worker = spawn();
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    let done = eventually(120, async || {
        rows = sqlx::query_as(&statuses).fetch_all(&stack.env.pool).await.unwrap_or_default();
        finished(&rows)
    })
    .await;
    assert!(done, "every task ended ({kills} kills): {rows:?}");
    assert!(kills >= 2, "the worker was killed while tasks ran ({kills} kills)");
    rows.sort();
    let mut want: Vec<(String, String)> =
        expected.iter().map(|(id, status)| (id.clone(), (*status).to_string())).collect();
    want.sort();
    if rows != want {
        let details: Vec<(String, String, serde_json::Value)> = sqlx::query_as(&format!(
            "SELECT task_id, status, json_build_object('attempts', attempts, 'class', last_error_class, 'error', last_error)
               FROM \"{}\".tasks WHERE task_id LIKE 'crash-%' ORDER BY task_id",
            stack.home().schema()
        ))
        .fetch_all(&stack.env.pool)
        .await
        .unwrap_or_default();
        let wrong: Vec<_> = details.iter().filter(|d| !want.contains(&(d.0.clone(), d.1.clone()))).collect();
        panic!("not the outcomes of a clean run ({kills} kills): {wrong:?}");
    }

    let joins: Value =
        reqwest::get(format!("{sandbox}/schemes/{scheme}/joins")).await.expect("sandbox").json().await.expect("json");
    let joins = joins["joins"].as_array().cloned().unwrap_or_default();
    for (task_id, status) in &expected {
        let under_key: Vec<&Value> = joins.iter().filter(|j| j["idempotency_key"] == *task_id).collect();
        assert_eq!(under_key.len(), 1, "{task_id} called under its one key: {under_key:?}");
        let joined = under_key[0]["card_number"].is_string();
        assert_eq!(joined, *status == "SUCCESS", "{task_id}: one account made for a success, none for a failure");
    }
    let repeated =
        joins.iter().filter(|j| j["calls"].as_u64().unwrap_or(0) > 1 && j["card_number"].is_string()).count();
    eprintln!("{kills} kills; {repeated} successful joins were called more than once and made one account");
    worker.start_kill().ok();
    stack.stop().await;
}
