//! kafkajs, the most used Node.js client, against Clio: it has no LZ4 codec of its own, so this
//! proves the events topics are compressed with a codec every client reads.

use std::path::PathBuf;
use std::time::Duration;

use clio_ledger::LedgerEvent;
use clio_runtime::codec::json::avro_to_json;
use clio_testkit::records::{eventually, produce, read_all};
use rdkafka::Message as _;
use serde_json::Value as Json;

use crate::ledger::{configure, ledger_events};

/// Where kafkajs and @kafkajs/confluent-schema-registry are installed.
fn node_client() -> PathBuf {
    PathBuf::from(clio_testkit::tools::installed("CLIO_NODE_CLIENT", "infra/node-client.sh"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkajs_reads_and_decodes_the_ledger_events_the_processor_wrote() {
    let stack = crate::ledger::start().await;
    let (env, topics, codec) = (&stack.env, &stack.topics, &stack.codec);
    let now = chrono::Utc::now().timestamp_micros();
    produce(&env.kafka, codec, &topics.commands, &[configure(0, now), configure(1, now), configure(2, now)]).await;
    let mut events = Vec::new();
    assert!(
        eventually(60, async || {
            events = ledger_events(env, codec, &topics.events).await;
            events.iter().filter(|e| matches!(e, LedgerEvent::AccountUpdate(_))).count() >= 3
        })
        .await,
        "the processor answered: {events:?}"
    );
    let records = read_all(&env.kafka, &topics.events).await;

    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/kafkajs_consumer.js"))
            .args([&env.kafka.brokers, &env.registry_url, &topics.events, &records.len().to_string()])
            .env("NODE_PATH", node_client().join("node_modules"))
            .output(),
    )
    .await
    .expect("kafkajs finishes")
    .expect("node runs");
    assert!(output.status.success(), "kafkajs failed: {}", String::from_utf8_lossy(&output.stderr));
    let read: std::collections::BTreeMap<(i64, i64), Json> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).expect("JSON line"))
        .map(|line| {
            let at = (
                line["partition"].as_i64().expect("partition"),
                line["offset"].as_str().expect("offset").parse().expect("offset"),
            );
            (at, line)
        })
        .collect();
    assert_eq!(read.len(), records.len(), "kafkajs read every record once");
    for record in &records {
        let line = &read[&(i64::from(record.partition()), record.offset())];
        let decoded = codec.decode(record.payload().expect("payload")).await.expect("Avro");
        let mut expected = avro_to_json(&decoded.value);
        // kafkajs's Avro library reads timestamps as plain longs, printed as text.
        normalise(&mut expected);
        let mut value = line["value"].clone();
        normalise(&mut value);
        assert_eq!(value, expected, "the record at {}/{}", record.partition(), record.offset());
        assert_eq!(line["key"].as_str().map(str::as_bytes), record.key());
    }
    stack.stop().await;
}

/// Numbers (and numbers printed as text), RFC 3339 timestamps (as microseconds) and dates (as
/// days) in one canonical text, so that Clio's JSON and kafkajs's compare equal digit for digit.
fn normalise(value: &mut Json) {
    match value {
        Json::Number(n) => *value = Json::String(canonical(&n.to_string()).unwrap_or_default()),
        Json::String(s) => {
            if let Some(text) = canonical(s) {
                *value = Json::String(text);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(normalise),
        Json::Object(fields) => fields.values_mut().for_each(normalise),
        _ => {}
    }
}

fn canonical(text: &str) -> Option<String> {
    if let Ok(n) = text.parse::<i128>() {
        return Some(n.to_string());
    }
    if let Ok(f) = text.parse::<f64>() {
        return Some(if f.fract() == 0.0 && f.abs() < 1e15 { (f as i128).to_string() } else { f.to_string() });
    }
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_micros().to_string());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days().to_string())
}
