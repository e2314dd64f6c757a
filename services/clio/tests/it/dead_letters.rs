//! Dead letters as an operator repairs them, against a `clio up` of its own: a record the
//! ledger's processor cannot read is counted in `/metrics` and parked in
//! `platform.dead_letters` with the reason; a
//! re-sent copy counts on the same entry; a replay sends it back and is recorded on the log
//! with who did it; when it fails again it is parked again on the same entry, and nothing
//! replays it by itself. Refused commands count by reason, failed attempts by error class.

use std::time::Duration;

use clio_runtime::kafka::{self, Outgoing};
use clio_runtime::settings::KafkaSettings;
use clio_testkit::platform::{ClioUp, OwnBroker, stops_cleanly};
use clio_testkit::records::eventually;
use rdkafka::message::{Header, OwnedHeaders};
use serde_json::{Value, json};

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("the gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The entries of `ledger.commands/0/offset`, once there are any.
async fn entries(gateway: &str, offset: i64) -> Vec<Value> {
    let (status, body) = get(&format!("{gateway}/v1/dead-letters/ledger.commands/0/{offset}")).await;
    if status == 200 { body["entries"].as_array().cloned().unwrap_or_default() } else { Vec::new() }
}

/// `/metrics`, and the value of the sample written exactly `series` (name and labels).
async fn scrape(gateway: &str) -> String {
    reqwest::get(format!("{gateway}/metrics")).await.expect("the gateway answers").text().await.expect("text")
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn clio(up: &ClioUp, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .args(args)
        .current_dir(crate::repo_root())
        .env("CLIO_BROKERS", &up.brokers)
        .env("CLIO_DATABASE_URL", &up.database_url)
        .env("CLIO_REGISTRY_URL", &up.registry_url)
        .output()
        .await
        .expect("clio runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Produces `value` as `record` to `topic` through the gateway.
async fn produce(gateway: &str, topic: &str, record: &str, key: &str, value: Value) {
    let response = reqwest::Client::new()
        .post(format!("{gateway}/v1/topics/{topic}/records"))
        .json(&json!({"type": record, "key": key, "value": value}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text().await);
}

/// A task of a type that does not exist is refused, counted under its reason; an HTTP task
/// whose server does not answer fails its one attempt, counted under its error class.
async fn refusals_and_failed_attempts_are_counted(gateway: &str) {
    let rejects = r#"clio_processor_rejects_total{processor="clio-retry-processor",reason="UNKNOWN_TASK_TYPE"}"#;
    let failed = r#"clio_retry_failed_attempts{error_class="transport",task_type="http"}"#;
    let before = scrape(gateway).await;
    assert_eq!(sample(&before, rejects), None, "{before}");
    assert_eq!(sample(&before, failed), None, "{before}");
    let task = |task_id: &str, task_type: &str, params: Value, policy: &str| {
        json!({"task_id": task_id, "task_type": task_type, "params": params.to_string(), "idempotency_key": task_id,
               "reply_topic": "", "reply_key": "", "policy": policy, "not_before": 0, "ts": 0})
    };
    let unknown = task("metrics-unknown-type", "no_such_type", json!({}), "");
    produce(gateway, "retry.commands", "clio.retry.CreateTask", "metrics-unknown-type", unknown).await;
    // Port 9 on loopback: nothing listens, the connection is refused.
    let params = json!({"method": "POST", "url": "http://127.0.0.1:9/nothing-here", "timeout_ms": 2000});
    let unreachable = task("metrics-unreachable", "http", params, r#"{"max_attempts": 1}"#);
    produce(gateway, "retry.commands", "clio.retry.CreateTask", "metrics-unreachable", unreachable).await;
    let counted = eventually(90, async || {
        let text = scrape(gateway).await;
        sample(&text, rejects) == Some(1.0) && sample(&text, failed) == Some(1.0)
    })
    .await;
    assert!(counted, "the refusal and the failed attempt are counted: {}", scrape(gateway).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_record_is_counted_listed_replayed_with_its_replayer_and_parked_again_never_looped() {
    let broker = OwnBroker::start("deadletters").await;
    let up = ClioUp::new(&broker).await;
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let gateway = up.gateway_url.clone();
    let producer = kafka::producer(&KafkaSettings::for_brokers(up.brokers.clone())).expect("a producer");
    let parked_series = r#"clio_processor_dead_letters_total{processor="clio-ledger-processor"}"#;
    let before = scrape(&gateway).await;
    assert_eq!(sample(&before, parked_series).unwrap_or(0.0), 0.0, "{before}");
    for source in [
        "projections",
        "processors",
        "dead_letters",
        "retry_tasks",
        "ledger_transfers",
        "matching_payments",
        "orders_sync_failures",
        "orders_syncs",
        "retry_attempts",
    ] {
        let up_series = format!("clio_metrics_source_up{{source=\"{source}\"}}");
        assert_eq!(sample(&before, &up_series), Some(1.0), "{source} answers: {before}");
    }

    refusals_and_failed_attempts_are_counted(&gateway).await;

    // Not Avro at all: the ledger's processor parks it.
    let junk = Outgoing {
        topic: "ledger.commands".into(),
        partition: Some(0),
        key: Some(b"1/2".to_vec()),
        payload: Some(b"not avro".to_vec()),
        headers: OwnedHeaders::new().insert(Header { key: "trace-me", value: Some("kept") }),
    };
    let offset = kafka::send_all(&producer, vec![junk]).await.expect("produced")[0];
    let parked = eventually(60, async || entries(&gateway, offset).await.len() == 1).await;
    assert!(parked, "the record was parked");
    let entry = entries(&gateway, offset).await.remove(0);
    assert_eq!(entry["status"], "PARKED", "{entry}");
    assert_eq!(entry["copies"], 1, "{entry}");
    assert_eq!(entry["record_key"], "1/2");
    assert!(!entry["reason"].as_str().unwrap_or_default().is_empty(), "{entry}");
    let consumer = entry["consumer"].as_str().expect("a consumer").to_string();
    // The metrics moved with the work.
    let after = scrape(&gateway).await;
    assert_eq!(sample(&after, parked_series), Some(1.0), "{after}");
    assert_eq!(
        sample(&after, r#"clio_dead_letters{status="PARKED",source_topic="ledger.commands"}"#),
        Some(1.0),
        "{after}"
    );
    let applied = sample(&after, r#"clio_projector_events_total{consumer="clio-projection-platform"}"#);
    assert!(applied.is_some_and(|n| n >= 1.0), "{after}");
    assert!(
        after.contains("clio_processor_batch_seconds_bucket{processor=\"clio-ledger-processor\",le=\"+Inf\"}"),
        "{after}"
    );
    assert!(
        after.contains(r#"clio_projection_lag{projection="platform",topic="platform.dead-letters",partition="0"}"#),
        "{after}"
    );
    let lag = r#"clio_processor_lag{processor="clio-ledger-processor",topic="ledger.commands",partition="0"}"#;
    assert!(after.contains(lag), "{after}");
    let (_, page) = get(&format!("{gateway}/v1/dead-letters?status=PARKED&topic=ledger.commands")).await;
    assert!(page["items"].as_array().is_some_and(|items| items.iter().any(|i| i["source_offset"] == offset)), "{page}");
    let (ok, listed, err) = clio(&up, &["dlq", "list", "--topic", "ledger.commands"]).await;
    assert!(
        ok && listed.contains(&format!("ledger.commands/0/{offset}")) && listed.contains("PARKED"),
        "{listed}{err}"
    );

    // A copy re-sent (a batch fenced after its dead letters went out) is the same entry.
    let resent = Outgoing {
        topic: "platform.dead-letters".into(),
        partition: None,
        key: Some(b"1/2".to_vec()),
        payload: Some(b"not avro".to_vec()),
        headers: OwnedHeaders::new()
            .insert(Header { key: "clio.dlq.topic", value: Some("ledger.commands") })
            .insert(Header { key: "clio.dlq.partition", value: Some("0") })
            .insert(Header { key: "clio.dlq.offset", value: Some(offset.to_string().as_str()) })
            .insert(Header { key: "clio.dlq.reason", value: Some("the same failure, sent again") })
            .insert(Header { key: "clio.dlq.consumer", value: Some(consumer.as_str()) }),
    };
    kafka::send_all(&producer, vec![resent]).await.expect("produced");
    let counted =
        eventually(30, async || entries(&gateway, offset).await.first().is_some_and(|e| e["copies"] == 2)).await;
    assert!(counted, "a re-sent copy counts on its entry: {:?}", entries(&gateway, offset).await);
    assert_eq!(entries(&gateway, offset).await.len(), 1);

    // The replay: sent back, recorded with who did it; it fails again and is parked again.
    let response = reqwest::Client::new()
        .post(format!("{gateway}/v1/dead-letters/replay"))
        .header("x-clio-operator", "alice")
        .json(&json!({"topic": "ledger.commands", "partition": 0, "offset": offset}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    let copy_offset = body["replayed"][0]["replayed_to_offset"].as_i64().expect("where the copy went");
    assert!(copy_offset > offset, "{body}");
    let parked_again = eventually(60, async || {
        entries(&gateway, offset).await.first().is_some_and(|e| {
            e["status"] == "PARKED" && e["replays"] == 1 && e["copies"] == 3 && e["replayed_by"] == "alice"
        })
    })
    .await;
    assert!(parked_again, "parked again on its entry: {:?}", entries(&gateway, offset).await);
    assert!(entries(&gateway, copy_offset).await.is_empty(), "the failed copy is not an entry of its own");
    let (ok, replays, err) =
        clio(&up, &["consume", "platform.dead-letter-replays", "--values-only", "--max", "1"]).await;
    assert!(
        ok && replays.contains("alice") && replays.contains(&format!("\"source_offset\":{offset}")),
        "{replays}{err}"
    );

    // Nothing replays it by itself: a while later it has not come round again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let entry = entries(&gateway, offset).await.remove(0);
    assert_eq!((entry["copies"].clone(), entry["replays"].clone()), (json!(3), json!(1)), "{entry}");

    // The CLI replays by filter, and says who did it.
    let (ok, out, err) = clio(&up, &["dlq", "replay", "--topic", "ledger.commands"]).await;
    assert!(ok && out.contains(&format!("replayed ledger.commands/0/{offset}")), "{out}{err}");
    let by_cli = eventually(60, async || {
        entries(&gateway, offset)
            .await
            .first()
            .is_some_and(|e| e["replays"] == 2 && e["replayed_by"].as_str().is_some_and(|who| who.contains("clio dlq")))
    })
    .await;
    assert!(by_cli, "{:?}", entries(&gateway, offset).await);
    let (status, refused) = reqwest::Client::new()
        .post(format!("{gateway}/v1/dead-letters/replay"))
        .json(&json!({"topic": "ledger.commands", "partition": 0, "offset": offset + 1_000_000}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("the gateway answers");
    assert_eq!(status, 404, "{:?}", refused.text().await);

    // A key with a NUL character, which no Postgres text holds: listed with it escaped (the
    // dead letters' own model once parked it again and read it back without end).
    let nul_key = Outgoing {
        topic: "ledger.commands".into(),
        partition: Some(0),
        key: Some(b"1/\0".to_vec()),
        payload: Some(b"not avro either".to_vec()),
        headers: OwnedHeaders::new(),
    };
    let nul_offset = kafka::send_all(&producer, vec![nul_key]).await.expect("produced")[0];
    let listed = eventually(60, async || entries(&gateway, nul_offset).await.len() == 1).await;
    assert!(listed, "a dead letter with a NUL in its key is listed");
    assert_eq!(entries(&gateway, nul_offset).await[0]["record_key"], "1/\\u0000");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let text = scrape(&gateway).await;
    let own = r#"clio_projector_dead_letters_total{consumer="clio-projection-platform"}"#;
    assert_eq!(sample(&text, own), None, "the dead letters' model parked nothing of its own: {text}");

    // A processor run alone serves its own counters: it takes some of the partitions, and
    // parks what it cannot read there.
    let metrics_port = clio_testkit::platform::free_port();
    let mut alone = tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .args(["run", "processor", "ledger", "--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .current_dir(crate::repo_root())
        .env("CLIO_BROKERS", &up.brokers)
        .env("CLIO_REGISTRY_URL", &up.registry_url)
        .kill_on_drop(true)
        .spawn()
        .expect("clio run processor starts");
    let own = format!("http://127.0.0.1:{metrics_port}");
    let own_parked = eventually(90, async || {
        let junk: Vec<Outgoing> = (0..4)
            .map(|partition| Outgoing {
                topic: "ledger.commands".into(),
                partition: Some(partition),
                key: None,
                payload: Some(b"still not avro".to_vec()),
                headers: OwnedHeaders::new(),
            })
            .collect();
        let _ = kafka::send_all(&producer, junk).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Ok(response) = reqwest::get(format!("{own}/metrics")).await else { return false };
        sample(&response.text().await.unwrap_or_default(), parked_series).is_some_and(|n| n >= 1.0)
    })
    .await;
    assert!(own_parked, "the processor run alone counts what it parked at its own /metrics");
    assert!(stops_cleanly(&mut alone).await, "clio run processor stops cleanly");

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly");
    up.drop_database().await;
}
