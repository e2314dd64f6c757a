//! The platform SIGKILLed in the middle of a sync, as a crash or an OOM kill would stop it:
//! `clio up` (every domain, the projectors, the registry, the gateway) on a broker of its own,
//! the sandbox's marketplace and tracker in this process (they outlive the kills, as the
//! outside world does, and call Clio again when it is down, as theirs do). A dozen orders go
//! to the tracker, slowed as a busy one is; `clio up` is killed once the first issues are
//! linked. A provider then works every order in the tracker; `clio up` is killed again once the
//! first of that reaches the marketplace. After it all: every issue made once, every message
//! mirrored once, every provider comment posted once and every status sent.

use std::collections::BTreeMap;
use std::time::Duration;

use clio_orders_plug::demo::work_issue;
use clio_testkit::platform::{ClioUp, OwnBroker, begun, crash_and_restart, stops_cleanly};
use clio_testkit::records::eventually;
use serde_json::{Value, json};

const ORDERS: usize = 12;
const SECRET: &str = "crash-webhook-secret";

async fn get_json(http: &reqwest::Client, url: String) -> Value {
    match http.get(url).send().await {
        Ok(answer) => answer.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_killed_mid_sync_makes_every_issue_comment_and_message_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let broker = OwnBroker::start("orderscrash").await;
    let up = ClioUp::new(&broker)
        .await
        .with("CLIO_RETRY_MARKETPLACE_URL", &format!("{sandbox}/marketplace"))
        .with("CLIO_RETRY_TRACKER_URL", &format!("{sandbox}/tracker"))
        .with("CLIO_ORDERS_WEBHOOK_SECRET", SECRET)
        .with("CLIO_SESSION_TIMEOUT_MS", "6000");
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let pool = up.pool().await;
    let count = async |sql: &str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap_or(-1);
    let http = reqwest::Client::new();
    let gateway = up.gateway_url.clone();

    clio_orders_plug::demo::wire(&http, &sandbox, &gateway, SECRET).await.expect("the sandbox wired");
    http.post(format!("{sandbox}/tracker/latency")).json(&json!({"ms": 100})).send().await.expect("latency");

    // A dozen orders of two items each, and a customer's question on every first item.
    for n in 1..=ORDERS {
        let items = json!([{"service": "Cloud", "offer": "Standard"}, {"service": "Storage", "offer": "Standard"}]);
        let owner = json!({"name": format!("Customer {n}"), "email": format!("customer{n}@example.org")});
        let placed = json!({"owner": owner, "name": format!("Project {n}"), "items": items});
        let answer = http.post(format!("{sandbox}/marketplace/orders")).json(&placed).send().await.expect("order");
        assert_eq!(answer.status(), 201);
        let question = json!({"content": format!("Question {n}"), "project_item_id": 1});
        http.post(format!("{sandbox}/marketplace/projects/{n}/messages")).json(&question).send().await.expect("msg");
    }

    // Killed while the issues are being made.
    let linked = "SELECT count(*) FROM orders.items WHERE tracker_key IS NOT NULL";
    assert!(begun(&pool, linked).await, "the first item issues were linked");
    let first_kill = count(linked).await;
    crash_and_restart(&up, &mut platform).await;
    assert!(up.ready(200, 180).await, "clio up came back");

    let tracker = async || get_json(&http, format!("{sandbox}/tracker/issues")).await;
    let comments_of = |issue: &Value| issue["comments"].as_array().map_or(0, Vec::len);
    let synced = eventually(300, async || {
        let all = tracker().await;
        let issues = all["issues"].as_array().map_or(0, Vec::len);
        let comments: usize = list(&all["issues"]).map(comments_of).sum();
        issues >= 3 * ORDERS && comments >= ORDERS
    })
    .await;
    let all = tracker().await;
    assert!(synced, "the orders did not all reach the tracker (killed at {first_kill} linked): {all}");
    let by_label = all["by_label"].as_object().expect("labels");
    assert_eq!(by_label.len(), 3 * ORDERS, "an epic and two item issues per order");
    assert!(by_label.values().all(|n| n == 1), "an issue made twice: {by_label:?}");
    let first_items: Vec<Value> = (1..=ORDERS)
        .map(|n| {
            let label = format!("clio-order-{n}-item-1");
            list(&all["issues"]).find(|i| i["fields"]["labels"][0] == label.as_str()).cloned().unwrap_or_default()
        })
        .collect();
    assert!(first_items.iter().all(|i| comments_of(i) == 1), "each question mirrored once: {first_items:?}");

    // A provider works every order: in progress, and an answer.
    for issue in &first_items {
        let key = issue["key"].as_str().expect("a key");
        work_issue(&http, &sandbox, key, &format!("Answer on {key}")).await.expect("the provider works the issue");
    }
    // Killed while that goes to the marketplace.
    let answered = "SELECT count(*) FROM orders.messages WHERE origin = 'tracker' AND state = 'synced'";
    assert!(begun(&pool, answered).await, "the first answers reached the marketplace");
    let second_kill = count(answered).await;
    crash_and_restart(&up, &mut platform).await;
    assert!(up.ready(200, 180).await, "clio up came back");

    let market = async || get_json(&http, format!("{sandbox}/marketplace/received")).await;
    let provider_messages = |m: &Value| list(&m["messages"]).filter(|x| x["author"]["role"] == "provider").count();
    let in_progress = |m: &Value| list(&m["items"]).filter(|i| i["status"]["type"] == "in_progress").count();
    let back = eventually(300, async || {
        let m = market().await;
        provider_messages(&m) >= ORDERS && in_progress(&m) == ORDERS
    })
    .await;
    let m = market().await;
    assert!(back, "the provider's work did not all reach the marketplace (killed at {second_kill} sent): {m}");

    // Settle, then: nothing twice, no echo.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let m = market().await;
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for message in list(&m["messages"]).filter(|x| x["author"]["role"] == "provider") {
        *answers.entry(message["content"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(answers.len(), ORDERS, "{answers:?}");
    assert!(answers.values().all(|n| *n == 1), "an answer posted twice: {answers:?}");
    let all = tracker().await;
    let comments: usize = list(&all["issues"]).map(comments_of).sum();
    assert_eq!(comments, 2 * ORDERS, "each question and each answer once, nothing echoed: {all}");
    assert_eq!(all["by_label"].as_object().map(|l| l.len()), Some(3 * ORDERS), "no issue made after");
    eprintln!(
        "clio up killed at {first_kill} of {} item issues linked, then at {second_kill} of {ORDERS} answers sent",
        2 * ORDERS
    );

    // An operator's view: `clio orders ...` against the running platform.
    let clio = |args: &[&str]| {
        std::process::Command::new(clio_testkit::tools::clio_binary())
            .args(args)
            .env("CLIO_BROKERS", &up.brokers)
            .env("CLIO_REGISTRY_URL", &up.registry_url)
            .env("CLIO_DATABASE_URL", &up.database_url)
            .output()
            .expect("clio runs")
    };
    let listed = clio(&["orders", "list"]);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(listed_text.lines().count(), 1 + 2 * ORDERS, "a header and a line per item: {listed_text}");
    assert_eq!(listed_text.lines().filter(|l| l.contains("in_progress")).count(), ORDERS, "{listed_text}");
    let epic_column = listed_text.lines().next().and_then(|header| header.find("epic"));
    assert!(listed_text.lines().skip(1).all(|l| l.find("EOSC-") == epic_column), "columns line up: {listed_text}");
    let shown = clio(&["orders", "show", "3"]);
    let order: Value = serde_json::from_slice(&shown.stdout).expect("one order as JSON");
    assert_eq!(order["messages"].as_array().map(Vec::len), Some(2), "the question and the answer: {order}");
    let unknown = clio(&["orders", "show", "999"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has not seen project 999"), "{unknown:?}");
    let failures = clio(&["orders", "failures", "--project", "1"]);
    assert!(failures.status.success(), "{failures:?}");
    let reads = "SELECT reads FROM orders.feed";
    let before = count(reads).await;
    let synced = clio(&["orders", "sync"]);
    assert!(synced.status.success(), "{synced:?}");
    assert!(eventually(30, async || count(reads).await > before).await, "clio orders sync read the marketplace");

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly on SIGTERM");
    pool.close().await;
    up.drop_database().await;
}
