//! `/console/` opened in headless Chromium as an operator does, on a `clio up` of its own with
//! keys: every panel is there and readable; a key that may only read sees a dead letter's
//! replay refused, and its row stays; an admin's click replays it, its row leaves the list,
//! and the replay is recorded under the key's name.

use std::path::PathBuf;

use clio_runtime::kafka::{self, Outgoing};
use clio_runtime::settings::KafkaSettings;
use clio_testkit::platform::{ClioUp, OwnBroker, stops_cleanly};
use clio_testkit::records::eventually;
use rdkafka::message::OwnedHeaders;
use serde_json::Value;

const PANELS: [&str; 9] = [
    "Topics",
    "Processors: lag",
    "Read models: lag",
    "Dead letters",
    "Ledger: audit per debtor (read model)",
    "Ledger: largest accounts",
    "Retry: tasks needing attention",
    "Matching: match rate per merchant",
    "Orders: failing syncs",
];

async fn create_key(up: &ClioUp, name: &str, scope: &str) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .args(["keys", "create", name, "--scope", scope])
        .env("CLIO_DATABASE_URL", &up.database_url)
        .output()
        .await
        .expect("clio runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// What the browser saw (see tests/node/console_browser.js).
async fn browse(url: &str, record: &str, key: &str) -> Value {
    let driver = PathBuf::from(crate::installed("CLIO_BROWSER_DRIVER", "infra/browser-driver.sh"));
    let output = tokio::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/console_browser.js"))
        .args([&crate::installed("CLIO_CHROMIUM", "infra/chromium.sh"), url, record])
        .env("NODE_PATH", driver.join("node_modules"))
        .env("CONSOLE_KEY", key)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the browser failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn entry(gateway: &str, key: &str, offset: i64) -> Option<Value> {
    let response = reqwest::Client::new()
        .get(format!("{gateway}/v1/dead-letters/ledger.commands/0/{offset}"))
        .bearer_auth(key)
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body["entries"].get(0).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_every_panel_and_replays_a_dead_letter_through_its_button() {
    let broker = OwnBroker::start("console").await;
    let up = ClioUp::new(&broker).await;
    let admin = create_key(&up, "ops", "*").await;
    let viewer = create_key(&up, "viewer", "read:platform").await;
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let gateway = up.gateway_url.clone();
    let console = format!("{gateway}/console/");
    assert_eq!(reqwest::get(&console).await.expect("an answer").status().as_u16(), 401, "the console needs a key");

    let producer = kafka::producer(&KafkaSettings::for_brokers(up.brokers.clone())).expect("a producer");
    let junk = Outgoing {
        topic: "ledger.commands".into(),
        partition: Some(0),
        key: Some(b"9/9".to_vec()),
        payload: Some(b"\x00\x00\x00\x7f\xffnot a schema we know".to_vec()),
        headers: OwnedHeaders::new(),
    };
    let offset = kafka::send_all(&producer, vec![junk]).await.expect("produced")[0];
    let record = format!("ledger.commands/0/{offset}");
    assert!(eventually(60, async || entry(&gateway, &admin, offset).await.is_some()).await, "parked");

    let seen = browse(&console, &record, &viewer).await;
    assert_eq!(seen["http"], 200, "{seen}");
    let titles: Vec<&str> =
        seen["panels"].as_array().expect("panels").iter().filter_map(|p| p["title"].as_str()).collect();
    assert_eq!(titles, PANELS, "{seen}");
    for panel in seen["panels"].as_array().expect("panels") {
        assert!(panel["error"].is_null(), "a panel failed: {panel}");
    }
    let rows_of =
        |title: &str| seen["panels"].as_array().unwrap().iter().find(|p| p["title"] == title).unwrap()["rows"].clone();
    assert!(rows_of("Topics").as_u64().is_some_and(|n| n >= 10), "{seen}");
    assert!(rows_of("Processors: lag").as_u64().is_some_and(|n| n >= 4), "{seen}");
    assert!(rows_of("Read models: lag").as_u64().is_some_and(|n| n >= 5), "{seen}");
    assert!(seen["records"].as_array().is_some_and(|r| r.iter().any(|r| r == &Value::from(record.clone()))), "{seen}");
    assert_eq!(seen["left"], false, "a key that may only read cannot replay: {seen}");
    assert!(seen["status"].as_str().is_some_and(|s| s.starts_with("403") && s.contains("admin:platform")), "{seen}");

    let seen = browse(&console, &record, &admin).await;
    assert_eq!(seen["left"], true, "the replayed row left the list: {seen}");
    let recorded = eventually(60, async || {
        entry(&gateway, &admin, offset).await.is_some_and(|e| e["replays"] == 1 && e["replayed_by"] == "ops")
    })
    .await;
    assert!(recorded, "the replay is recorded under the key's name: {:?}", entry(&gateway, &admin, offset).await);

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly");
    up.drop_database().await;
}
