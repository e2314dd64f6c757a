//! The `clio` binary as a user runs it: topics, schemas, produce and consume.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use clio_testkit::harness::TestEnv;
use serde_json::{Value as Json, json};
use tokio::io::AsyncWriteExt;

/// A catalogue like the real one, with topic names unique to this test.
pub fn private_catalogue(env: &TestEnv, name: &str) -> (PathBuf, String) {
    let topic = env.unique(name);
    let dir = std::env::temp_dir().join(format!("clio-{topic}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // The ledger's records, without its catalogue.toml (its topics are not this test's).
    let records = dir.join("ledger");
    std::fs::create_dir_all(&records).expect("records dir");
    for record in ["ConfigureAccount", "PrepareTransfer"] {
        let link = records.join(format!("{record}.avsc"));
        let file = clio_testkit::tools::repo_root().join(format!("schemas/ledger/{record}.avsc"));
        if !link.exists() {
            std::os::unix::fs::symlink(&file, &link).expect("link a schema");
        }
    }
    let catalogue = format!(
        r#"[[topic]]
name = "{topic}"
description = "test commands"
partitions = 3
cleanup_policy = "delete"
key = "the account"
format = "avro"
values = ["clio.ledger.ConfigureAccount", "clio.ledger.PrepareTransfer"]
producers = ["tests"]
consumers = ["tests"]
"#
    );
    std::fs::write(dir.join("catalogue.toml"), catalogue).expect("catalogue");
    (dir, topic)
}

pub async fn clio(env: &TestEnv, schemas: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = tokio::process::Command::new(clio_testkit::tools::clio_binary())
        .args(args)
        .env("CLIO_BROKERS", &env.kafka.brokers)
        .env("CLIO_REGISTRY_URL", &env.registry_url)
        .env("CLIO_SCHEMAS_DIR", schemas)
        .env("CLIO_DATABASE_URL", clio_testkit::harness::test_database_url())
        .env("RUST_LOG", "warn")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clio runs");
    if let Some(text) = stdin {
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(text.as_bytes()).await.expect("write stdin");
    }
    let output = child.wait_with_output().await.expect("clio finishes");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub const CONFIGURE: &str = r#"{"debtor_id": 1, "creditor_id": 2, "ts": "2026-11-22T10:00:00Z", "seqnum": 1, "negligible_amount": 0.5, "config_flags": 0, "config_data": ""}"#;

#[tokio::test]
async fn topics_are_created_once_and_creating_them_again_is_harmless() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "topics");
    let (ok, out, err) = clio(&env, &schemas, &["topics", "create"], None).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("created  {topic}")), "{out}");
    let (ok, out, err) = clio(&env, &schemas, &["topics", "create"], None).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("exists   {topic}")), "{out}");
    let (ok, out, _) = clio(&env, &schemas, &["topics", "list"], None).await;
    assert!(ok && out.contains("partitions=3") && out.contains("clio.ledger.ConfigureAccount"), "{out}");
}

#[tokio::test]
async fn a_json_record_produced_with_the_cli_is_consumed_back_unchanged() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "produce");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    let (ok, out, err) = clio(&env, &schemas, &["schemas", "register"], None).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{topic}-clio.ledger.ConfigureAccount")), "{out}");

    let (ok, out, err) = clio(
        &env,
        &schemas,
        &["produce", &topic, "--type", "clio.ledger.ConfigureAccount", "--key", "1/2"],
        Some(CONFIGURE),
    )
    .await;
    assert!(ok, "{err}");
    let receipt: Json = serde_json::from_str(out.trim()).expect("a JSON receipt");
    assert_eq!(receipt["offset"], 0);

    let (ok, out, err) = clio(&env, &schemas, &["consume", &topic, "--values-only"], None).await;
    assert!(ok, "{err}");
    let consumed: Json = serde_json::from_str(out.trim()).expect("one JSON line");
    let sent: Json = serde_json::from_str(CONFIGURE).expect("json");
    assert_eq!(consumed, sent);

    let (ok, out, _) = clio(&env, &schemas, &["consume", &topic], None).await;
    assert!(ok);
    let full: Json = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(full["key"], json!("1/2"));
    assert_eq!(full["type"], json!("clio.ledger.ConfigureAccount"));
}

#[tokio::test]
async fn a_record_that_does_not_fit_its_schema_is_refused_with_the_field_and_nothing_is_produced() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "refused");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    assert!(clio(&env, &schemas, &["schemas", "register"], None).await.0);
    let bad = CONFIGURE.replace(r#""seqnum": 1"#, r#""seqnum": "one""#);
    let (ok, _, err) =
        clio(&env, &schemas, &["produce", &topic, "--type", "clio.ledger.ConfigureAccount"], Some(&bad)).await;
    assert!(!ok);
    assert!(err.contains("$.seqnum") && err.contains("expected a whole number"), "{err}");
    let (ok, _, err) = clio(&env, &schemas, &["produce", &topic], Some(CONFIGURE)).await;
    assert!(!ok && err.contains("--type"), "a topic with several records needs --type: {err}");
    let (ok, out, _) = clio(&env, &schemas, &["consume", &topic], None).await;
    assert!(ok);
    assert!(out.trim().is_empty(), "nothing was produced: {out}");
}

#[tokio::test]
async fn consume_last_prints_only_the_newest_records_of_the_topic() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "last");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    assert!(clio(&env, &schemas, &["schemas", "register"], None).await.0);
    let batch = |seqnums: std::ops::RangeInclusive<i32>| {
        seqnums
            .map(|n| CONFIGURE.replace(r#""seqnum": 1"#, &format!(r#""seqnum": {n}"#)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let produce = ["produce", &topic, "--type", "clio.ledger.ConfigureAccount"];
    // Keys spread the records over the partitions; the second batch is newer than the first.
    for (key, seqnums) in [("1/2", 1..=3), ("7/8", 4..=6)] {
        let args = [&produce[..], &["--key", key]].concat();
        assert!(clio(&env, &schemas, &args, Some(&batch(seqnums))).await.0);
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let args = [&produce[..], &["--key", "3/4"]].concat();
    assert!(clio(&env, &schemas, &args, Some(&batch(7..=10))).await.0);

    let (ok, out, err) = clio(&env, &schemas, &["consume", &topic, "--last", "4", "--values-only"], None).await;
    assert!(ok, "{err}");
    let seqnums: Vec<i64> = out
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).expect("JSON")["seqnum"].as_i64().expect("n"))
        .collect();
    assert_eq!(seqnums, vec![7, 8, 9, 10], "the four newest, oldest first: {out}");

    let (ok, out, _) = clio(&env, &schemas, &["consume", &topic, "--last", "100"], None).await;
    assert!(ok);
    assert_eq!(out.lines().count(), 10, "no more than there is: {out}");
}

/// The README's quick tour runs on a platform whose topics grow all the time: every `clio
/// consume` in it reads a bounded number of records.
#[test]
fn the_readme_consumes_bounded_reads() {
    let readme = std::fs::read_to_string(clio_testkit::tools::repo_root().join("README.md")).expect("README");
    let consumes: Vec<&str> =
        readme.lines().filter(|line| line.trim_start().starts_with("clio consume ledger")).collect();
    assert!(!consumes.is_empty(), "the tour shows consume");
    for line in consumes {
        assert!(line.contains("--last ") || line.contains("--max "), "unbounded read in the README: {line}");
    }
}
