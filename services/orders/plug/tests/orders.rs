//! Orders end to end, with the retry domain beside it as `clio up` runs them: the sandbox's
//! marketplace calls the trigger, the orders processor reads its events (each delivered three
//! times), the retry worker makes the issues and comments in the sandbox's tracker (failing
//! at first, an issue made behind a lost answer), and a provider's work in the tracker comes
//! back to the marketplace through the webhook, with no echo either way.

use clio_orders_plug::OrdersPlug;
use clio_orders_plug::demo::work_issue;
use clio_plug::Home;
use clio_retry_plug::RetryPlug;
use clio_testkit::records::eventually;
use clio_testkit::stack::DomainStack;
use serde_json::{Value, json};

const SECRET: &str = "test-webhook-secret";

async fn stacks() -> (String, DomainStack, DomainStack) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let schemas = clio_testkit::tools::repo_root().join("schemas");
    let mut retry = DomainStack::start("retry", &RetryPlug::default(), &schemas).await.expect("the retry stack");
    let (marketplace, tracker) = (format!("{sandbox}/marketplace"), format!("{sandbox}/tracker"));
    let callback_base = retry.gateway_url.clone();
    let worker = [
        "--retry-marketplace-url",
        &marketplace,
        "--retry-tracker-url",
        &tracker,
        "--retry-callback-base",
        &callback_base,
    ];
    retry.spawn_workers(&worker).expect("worker");
    let retry_commands = retry.topics.commands.clone();
    let plug = OrdersPlug::living_at(Home::production("orders"), SECRET);
    let orders = DomainStack::start_with("orders", &plug, &schemas, |mut config| {
        config.foreign_topics.insert("retry.commands".into(), retry_commands);
        config
    })
    .await
    .expect("the orders stack");
    (sandbox, retry, orders)
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_sync_both_ways_once_each_through_failures_repeats_and_echoes() {
    let (sandbox, _retry, orders) = stacks().await;
    let http = reqwest::Client::new();
    let gateway = orders.gateway_url.clone();

    // The marketplace calls our trigger; the tracker our webhook.
    clio_orders_plug::demo::wire(&http, &sandbox, &gateway, SECRET).await.expect("the sandbox wired");
    // Every event listed three times; the tracker's first calls fail, a create's answer lost
    // after the issue was made, then 503s with a Retry-After.
    http.post(format!("{sandbox}/marketplace/repeat")).json(&json!({"times": 3})).send().await.expect("repeat");
    http.post(format!("{sandbox}/tracker/failures"))
        .json(&json!({"count": 2, "status": 504, "after_effect": true}))
        .send()
        .await
        .expect("fail");

    let order = |owner: &str, services: &[&str]| {
        let items: Vec<Value> =
            services.iter().map(|s| json!({"service": s, "offer": "Standard", "order_type": "orderable"})).collect();
        json!({"owner": {"name": owner, "email": format!("{}@example.org", owner.to_lowercase())}, "name": format!("{owner}'s project"), "items": items})
    };
    for placed in [order("Ada", &["Cloud", "Storage"]), order("Alan", &["Notebooks"])] {
        let answer = http.post(format!("{sandbox}/marketplace/orders")).json(&placed).send().await.expect("order");
        assert_eq!(answer.status(), 201);
    }
    http.post(format!("{sandbox}/tracker/failures"))
        .json(&json!({"count": 3, "status": 503, "retry_after": 1}))
        .send()
        .await
        .expect("fail");
    let customer = json!({"content": "When can we start?", "project_item_id": 1});
    http.post(format!("{sandbox}/marketplace/projects/1/messages")).json(&customer).send().await.expect("message");

    // Every issue made exactly once, items linked to their epics, the message on item 1's issue.
    let issues = async || json_of(http.get(format!("{sandbox}/tracker/issues")).send().await.expect("issues")).await;
    let synced = eventually(120, async || {
        let all = issues().await;
        let commented =
            all["issues"].as_array().into_iter().flatten().any(|i| !i["comments"].as_array().is_none_or(Vec::is_empty));
        all["issues"].as_array().is_some_and(|i| i.len() >= 5) && commented
    })
    .await;
    let all = issues().await;
    assert!(synced, "the orders did not reach the tracker: {all}");
    let by_label = all["by_label"].as_object().expect("labels");
    assert_eq!(by_label.len(), 5, "two epics and three item issues: {by_label:?}");
    assert!(by_label.values().all(|count| count == 1), "an issue made twice: {by_label:?}");
    let issue = |label: &str| -> Value {
        all["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["fields"]["labels"][0] == label)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let epic = issue("clio-order-1");
    let item = issue("clio-order-1-item-1");
    assert_eq!(item["fields"]["customfield_10003"], epic["key"], "the item's issue links its project's epic");
    assert_eq!(item["comments"].as_array().map(Vec::len), Some(1), "{item}");
    assert!(item["comments"][0]["body"].as_str().unwrap_or_default().contains("When can we start?"));
    assert_eq!(epic["comments"].as_array().map(Vec::len), Some(0), "the item's message is not on the epic");

    // A provider works item 1 in the tracker: in progress, a comment, an internal note.
    let key = item["key"].as_str().expect("a key").to_string();
    work_issue(&http, &sandbox, &key, "Your VMs are ready tomorrow").await.expect("the provider works the issue");
    let as_provider = |request: reqwest::RequestBuilder| request.basic_auth("provider", Some("x"));
    as_provider(http.post(format!("{sandbox}/tracker/rest/api/2/issue/{key}/comment")))
        .json(&json!({"body": "internal: check quota", "visibility": {"type": "role", "value": "Developers"}}))
        .send()
        .await
        .expect("internal comment");
    let market =
        async || json_of(http.get(format!("{sandbox}/marketplace/received")).send().await.expect("received")).await;
    let back = eventually(90, async || {
        let m = market().await;
        let status = m["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["project_id"] == 1 && i["id"] == 1 && i["status"]["type"] == "in_progress");
        let messages = m["messages"].as_array().map_or(0, Vec::len);
        status && messages >= 2
    })
    .await;
    let m = market().await;
    assert!(back, "the provider's work did not reach the marketplace: {m}");
    let patch =
        m["received"].as_array().into_iter().flatten().find(|r| r["method"] == "PATCH").cloned().unwrap_or_default();
    assert_eq!(patch["path"], "projects/1/project_items/1", "marketplace ids only");
    assert_eq!(patch["body"], json!({"status": {"value": "In Progress", "type": "in_progress"}}));

    // Settle, then: no echo either way, nothing internal leaked, nothing twice.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let m = market().await;
    let messages = m["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 2, "the customer's, and the provider's once: {messages:?}");
    assert_eq!(messages[1]["author"]["role"], "provider");
    assert_eq!(messages[1]["content"], "Your VMs are ready tomorrow");
    let all = issues().await;
    let item =
        all["issues"].as_array().into_iter().flatten().find(|i| i["key"] == key.as_str()).cloned().unwrap_or_default();
    assert_eq!(
        item["comments"].as_array().map(Vec::len),
        Some(3),
        "the mirror, the provider's and the note: nothing echoed back: {item}"
    );

    // The marketplace's own people mark item 2 ready: its issue moves to Ready (7); the
    // tracker's webhook for that move, and the marketplace's event for the adapter's own PATCH
    // of item 1, move nothing back.
    let ready = json!({"type": "ready", "value": "Ready"});
    let set = http.post(format!("{sandbox}/marketplace/projects/1/items/2/status")).json(&ready).send().await;
    assert_eq!(set.expect("status").status(), 200);
    let status_of = |all: &Value, label: &str| -> Value {
        let issues = all["issues"].as_array().into_iter().flatten();
        issues
            .filter(|i| i["fields"]["labels"][0] == label)
            .map(|i| i["fields"]["status"]["id"].clone())
            .next()
            .unwrap_or_default()
    };
    let moved = eventually(60, async || status_of(&issues().await, "clio-order-1-item-2") == "7").await;
    assert!(moved, "item 2's issue did not move to Ready: {}", issues().await);
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let all = issues().await;
    assert_eq!(status_of(&all, "clio-order-1-item-1"), "2", "item 1 stays where the provider put it");
    let m = market().await;
    let patches: Vec<&Value> =
        m["received"].as_array().into_iter().flatten().filter(|r| r["method"] == "PATCH").collect();
    assert_eq!(patches.len(), 1, "the provider's one status change, nothing echoed: {patches:?}");

    // The webhook's refusals.
    let url = |query: &str| format!("{gateway}/v1/orders/webhooks/tracker?{query}");
    let body = json!({"webhookEvent": "jira:issue_updated", "changelog": {"id": 1, "items": []}});
    let post = async |query: &str, body: String| {
        http.post(url(query)).body(body).send().await.expect("webhook").status().as_u16()
    };
    assert_eq!(post("secret=wrong&issue_id=1", body.to_string()).await, 401);
    assert_eq!(post("issue_id=1", body.to_string()).await, 401);
    assert_eq!(post(&format!("secret={SECRET}&issue_id=abc"), body.to_string()).await, 400);
    assert_eq!(post(&format!("secret={SECRET}&issue_id=1"), "{not json".into()).await, 400);
    assert_eq!(post(&format!("secret={SECRET}&issue_id=99999"), body.to_string()).await, 204);
    let failures =
        async || json_of(http.get(format!("{gateway}/v1/orders/sync-failures")).send().await.expect("failures")).await;
    let recorded = eventually(30, async || failures().await.to_string().contains("not one the adapter made")).await;
    assert!(recorded, "the unknown issue is recorded as ignored: {}", failures().await);
    let f = failures().await.to_string();
    assert!(f.contains("stays internal") && f.contains("written by the adapter itself"), "{f}");
    let not_mirrored = async || {
        let all = failures().await;
        let found = all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["reason"].as_str().unwrap_or_default().contains("not mirrored back"));
        found.map(|f| f["item_iid"].clone())
    };
    let item_of_echo = eventually(30, async || not_mirrored().await.is_some()).await;
    assert!(item_of_echo, "the adapter's own message is recorded as not mirrored back: {f}");
    assert_eq!(not_mirrored().await, Some(json!(1)), "recorded against the item whose message it is");

    // The read model: the order with its items, tracker keys and messages.
    let one = json_of(http.get(format!("{gateway}/v1/orders/1")).send().await.expect("order")).await;
    assert_eq!(one["epic_key"], epic["key"]);
    assert_eq!(one["items"][0]["tracker_key"], key.as_str());
    assert_eq!(one["items"][0]["last_synced_status"], "in_progress");
    assert_eq!(one["items"][0]["tracker_status_id"], "2");
    assert_eq!(one["items"][1]["tracker_status_id"], "7", "{one}");
    let page = json_of(http.get(format!("{gateway}/v1/orders")).send().await.expect("orders")).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_down_for_a_minute_then_back_gets_every_issue_and_comment_once() {
    let (sandbox, _retry, orders) = stacks().await;
    let http = reqwest::Client::new();
    let gateway = orders.gateway_url.clone();
    clio_orders_plug::demo::wire(&http, &sandbox, &gateway, "").await.expect("the sandbox wired");
    // Down for a minute from now: every call answers 503 until then.
    http.post(format!("{sandbox}/tracker/failures"))
        .json(&json!({"for_seconds": 60, "status": 503}))
        .send()
        .await
        .expect("fail");
    let down = std::time::Instant::now();
    for (owner, services) in
        [("Grace", vec!["Cloud", "HPC"]), ("Edsger", vec!["Storage"]), ("Barbara", vec!["Notebooks"])]
    {
        let items: Vec<Value> = services.iter().map(|s| json!({"service": s, "offer": "Standard"})).collect();
        let placed = json!({"owner": {"name": owner, "email": format!("{}@example.org", owner.to_lowercase())}, "name": owner, "items": items});
        http.post(format!("{sandbox}/marketplace/orders")).json(&placed).send().await.expect("order");
    }
    let customer = json!({"content": "Is the HPC quota enough?", "project_item_id": 2});
    http.post(format!("{sandbox}/marketplace/projects/1/messages")).json(&customer).send().await.expect("message");

    let issues = async || json_of(http.get(format!("{sandbox}/tracker/issues")).send().await.expect("issues")).await;
    let synced = eventually(240, async || {
        let all = issues().await;
        let commented = all["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["comments"].as_array().is_some_and(|c| !c.is_empty()));
        all["by_label"].as_object().is_some_and(|labels| labels.len() == 7) && commented
    })
    .await;
    let all = issues().await;
    assert!(synced, "the orders did not reach the tracker after its outage: {all}");
    assert!(down.elapsed().as_secs() >= 60, "nothing got through while the tracker was down");
    let by_label = all["by_label"].as_object().expect("labels");
    assert!(by_label.values().all(|count| count == 1), "an issue made twice: {by_label:?}");
    let comments: usize =
        all["issues"].as_array().into_iter().flatten().map(|i| i["comments"].as_array().map_or(0, Vec::len)).sum();
    assert_eq!(comments, 1, "the customer's message once: {all}");
    let failures =
        json_of(http.get(format!("{gateway}/v1/orders/sync-failures")).send().await.expect("failures")).await;
    assert!(!failures.to_string().contains("tracker_issue"), "no call gave up: {failures}");
}
