//! A kept sandbox's marketplace and tracker outlive a restart: a second run numbers its orders
//! and issues on from the first's, as `make up` run twice needs.

use clio_sandbox::{Sandbox, kept, serve_sandbox};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Serves `sandbox` until the token is cancelled; its base URL.
async fn run(sandbox: Sandbox, stop: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve_sandbox(listener, sandbox, stop.clone()));
    url
}

/// Places an order and files its issue; the project id and the issue key they got.
async fn order_and_issue(http: &reqwest::Client, url: &str) -> (i64, String) {
    let order = json!({ "owner": { "name": "Ada", "email": "ada@example.org" }, "name": "Engines",
        "items": [{ "service": "Compute", "offer": "Standard" }] });
    let placed: Value = http
        .post(format!("{url}/marketplace/orders"))
        .json(&order)
        .send()
        .await
        .expect("order")
        .json()
        .await
        .expect("json");
    let issue =
        json!({ "fields": { "project": { "key": "EOSC" }, "issuetype": { "id": "10000" }, "summary": "Engines" } });
    let made = http
        .post(format!("{url}/tracker/rest/api/2/issue"))
        .basic_auth("clio", Some("token"))
        .json(&issue)
        .send()
        .await
        .expect("issue");
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.expect("json");
    (placed["project_id"].as_i64().expect("a project id"), made["key"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_kept_marketplace_and_tracker_number_on_after_a_restart() {
    let path = std::env::temp_dir().join(format!("clio-sandbox-kept-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let http = reqwest::Client::new();

    let first = CancellationToken::new();
    let url = run(kept::load(&path).expect("no file yet is an empty sandbox"), &first).await;
    assert_eq!(order_and_issue(&http, &url).await, (1, "EOSC-1".to_string()));
    first.cancel();

    let second = CancellationToken::new();
    let url = run(kept::load(&path).expect("the kept file loads"), &second).await;
    assert_eq!(order_and_issue(&http, &url).await, (2, "EOSC-2".to_string()), "numbered on, not from 1 again");
    let project: Value = http
        .get(format!("{url}/marketplace/api/v1/oms/1/projects/1"))
        .header("X-User-Token", "t")
        .send()
        .await
        .expect("project")
        .json()
        .await
        .expect("json");
    assert_eq!(project["id"], 1, "the first run's order is still there: {project}");
    second.cancel();

    // An in-memory sandbox keeps nothing.
    let memory = CancellationToken::new();
    let url = run(Sandbox::default(), &memory).await;
    assert_eq!(order_and_issue(&http, &url).await, (1, "EOSC-1".to_string()));
    memory.cancel();

    std::fs::write(&path, "{ not json").expect("write");
    let broken = kept::load(&path).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(broken.contains("does not parse"), "{broken}");
    let _ = std::fs::remove_file(&path);
}
