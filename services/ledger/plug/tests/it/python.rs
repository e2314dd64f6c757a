//! Confluent's Python client (confluent-kafka and its Avro serializer) against Clio.

use std::path::PathBuf;

use clio_testkit::harness::TestEnv;
use serde_json::Value as Json;

use crate::cli::{CONFIGURE, clio, private_catalogue};

/// The Python with confluent-kafka[avro].
fn python() -> String {
    clio_testkit::tools::installed("CLIO_PYTHON", "infra/python-env.sh")
}

fn script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/confluent_client.py"))
}

async fn run_python(args: &[&str]) -> String {
    let output = tokio::process::Command::new(python()).arg(script()).args(args).output().await.expect("python runs");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn confluents_python_client_reads_what_clio_produced() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "py-read");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    assert!(clio(&env, &schemas, &["schemas", "register"], None).await.0);
    let (ok, _, err) = clio(
        &env,
        &schemas,
        &["produce", &topic, "--type", "clio.ledger.ConfigureAccount", "--key", "1/2"],
        Some(CONFIGURE),
    )
    .await;
    assert!(ok, "{err}");

    let out = run_python(&["consume", &env.kafka.brokers, &env.registry_url, &topic, "1"]).await;
    let line: Json = serde_json::from_str(out.trim()).expect("python printed JSON");
    let sent: Json = serde_json::from_str(CONFIGURE).expect("json");
    assert_eq!(line["key"], "1/2");
    assert_eq!(line["value"], sent);
}

#[tokio::test]
async fn clio_reads_what_confluents_python_client_registered_and_produced() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "py-write");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    let schema_file = clio_testkit::tools::repo_root().join("schemas/ledger/ConfigureAccount.avsc");
    let schema_file = schema_file.to_str().expect("a UTF-8 path");
    run_python(&["produce", &env.kafka.brokers, &env.registry_url, &topic, schema_file, "1/2", CONFIGURE]).await;

    let subjects: Json =
        reqwest::get(format!("{}/subjects", env.registry_url)).await.expect("registry").json().await.expect("json");
    let subject = format!("{topic}-clio.ledger.ConfigureAccount");
    assert!(subjects.as_array().expect("list").iter().any(|s| s == &subject), "python registered {subject}");
    let (ok, out, err) = clio(&env, &schemas, &["consume", &topic, "--values-only"], None).await;
    assert!(ok, "{err}");
    let consumed: Json = serde_json::from_str(out.trim()).expect("one JSON line");
    let sent: Json = serde_json::from_str(CONFIGURE).expect("json");
    assert_eq!(consumed, sent);
}
