//! The ledger processor end to end: commands produced to a real broker as an integrator
//! would, decided by the generic processor, events read back from the log.

use std::time::Duration;

use clio_ledger::messages::*;
use clio_ledger::{LedgerCommand, LedgerEvent};
use clio_ledger_plug::LedgerPlug;
use clio_ledger_plug::scan::LedgerTarget;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_testkit::harness::TestEnv;
use clio_testkit::records::{eventually, produce, read_all};
use clio_testkit::stack::DomainStack;
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

const DEBTOR: i64 = 1_000;

pub(crate) fn schemas_dir() -> std::path::PathBuf {
    clio_testkit::tools::repo_root().join("schemas")
}

pub(crate) async fn ledger_events(env: &TestEnv, codec: &Codec, topic: &str) -> Vec<LedgerEvent> {
    let mut out = Vec::new();
    for message in read_all(&env.kafka, topic).await {
        out.push(codec.decode_as::<LedgerEvent>(message.payload().expect("payload")).await.expect("an event"));
    }
    out
}

fn principal_of(events: &[LedgerEvent], creditor: i64) -> Option<i64> {
    events.iter().rev().find_map(|e| match e {
        LedgerEvent::AccountUpdate(u) if u.creditor_id == creditor => Some(u.principal),
        _ => None,
    })
}

pub(crate) fn configure(creditor_id: i64, now: i64) -> (String, LedgerCommand) {
    (
        format!("{DEBTOR}/{creditor_id}"),
        LedgerCommand::ConfigureAccount(ConfigureAccount {
            debtor_id: DEBTOR,
            creditor_id,
            ts: now,
            seqnum: 1,
            negligible_amount: 0.0,
            config_flags: 0,
            config_data: String::new(),
        }),
    )
}

fn prepare(from: i64, to: i64, request: i64, amount: i64, now: i64) -> (String, LedgerCommand) {
    let (kind, coordinator) = if from == 0 { ("issuing", DEBTOR) } else { ("direct", from) };
    (
        format!("{DEBTOR}/{from}"),
        LedgerCommand::PrepareTransfer(PrepareTransfer {
            debtor_id: DEBTOR,
            creditor_id: from,
            coordinator_type: kind.into(),
            coordinator_id: coordinator,
            coordinator_request_id: request,
            min_locked_amount: amount,
            max_locked_amount: amount,
            recipient: to.to_string(),
            final_interest_rate_ts: 253_402_214_400_000_000,
            max_commit_delay: 3_600,
            ts: now,
        }),
    )
}

/// The ledger on the real broker and Postgres, on topics and a read-model schema of the
/// test's own: its processor, its projector and a gateway with its routes running until `stop`.
pub(crate) async fn start() -> DomainStack {
    DomainStack::start("ledger", &LedgerPlug::default(), &schemas_dir()).await.expect("the ledger's stack")
}

/// The ledger's read models and commands topic in `stack`.
fn target(stack: &DomainStack) -> LedgerTarget {
    LedgerTarget { schema: stack.home().schema(), commands_topic: stack.topics.commands.clone() }
}

/// The demo's stream of random transfers against `stack`, until the token is cancelled.
fn demo_stream(
    stack: &DomainStack,
    demo: clio_ledger_plug::demo::Demo,
    per_second: f64,
) -> (CancellationToken, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let producer = clio_runtime::kafka::producer(&stack.env.kafka).expect("producer");
    let target = target(stack);
    let streaming = CancellationToken::new();
    let (pool, codec, token) = (stack.env.pool.clone(), stack.codec.clone(), streaming.clone());
    let running = tokio::spawn(async move {
        let ledger =
            clio_ledger_plug::demo::LedgerClient { pool: &pool, target: &target, producer: &producer, codec: &codec };
        clio_ledger_plug::demo::stream(&ledger, &demo, per_second, token).await
    });
    (streaming, running)
}

fn finalize(p: &PreparedTransfer, amount: i64, now: i64) -> (String, LedgerCommand) {
    (
        format!("{DEBTOR}/{}", p.creditor_id),
        LedgerCommand::FinalizeTransfer(FinalizeTransfer {
            debtor_id: DEBTOR,
            creditor_id: p.creditor_id,
            transfer_id: p.transfer_id,
            coordinator_type: p.coordinator_type.clone(),
            coordinator_id: p.coordinator_id,
            coordinator_request_id: p.coordinator_request_id,
            committed_amount: amount,
            transfer_note: "hello".into(),
            transfer_note_format: "text".into(),
            ts: now,
        }),
    )
}

fn prepared(events: &[LedgerEvent], from: i64) -> Option<PreparedTransfer> {
    events.iter().find_map(|e| match e {
        LedgerEvent::PreparedTransfer(p) if p.creditor_id == from => Some(p.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_between_accounts_on_different_partitions_is_prepared_committed_and_credited() {
    let stack = start().await;
    let (env, topics, codec, model) = (&stack.env, &stack.topics, &stack.codec, &stack.home().schema());
    // Accounts 1 and 2 hash to different partitions of 4, so the credit and the recipient
    // check cross partitions.
    let (a, b) = (1_i64, 2_i64);
    assert_ne!(
        clio_aggregate::partition_for_key(format!("{DEBTOR}/{a}").as_bytes(), 4),
        clio_aggregate::partition_for_key(format!("{DEBTOR}/{b}").as_bytes(), 4)
    );
    let now = chrono::Utc::now().timestamp_micros();
    produce(&env.kafka, codec, &topics.commands, &[configure(0, now), configure(a, now), configure(b, now)]).await;
    produce(&env.kafka, codec, &topics.commands, &[prepare(0, a, 1, 500, now)]).await;
    let mut issued = None;
    assert!(
        eventually(60, async || {
            issued = prepared(&ledger_events(env, codec, &topics.events).await, 0);
            issued.is_some()
        })
        .await,
        "the root account prepared the issuing transfer"
    );
    let finalize = |p: &PreparedTransfer, amount: i64| finalize(p, amount, now);
    produce(&env.kafka, codec, &topics.commands, &[finalize(&issued.expect("prepared"), 500)]).await;
    assert!(
        eventually(60, async || principal_of(&ledger_events(env, codec, &topics.events).await, a) == Some(500)).await,
        "account 1 received the issued money"
    );

    produce(&env.kafka, codec, &topics.commands, &[prepare(a, b, 2, 200, now)]).await;
    let mut sent = None;
    assert!(
        eventually(60, async || {
            sent = prepared(&ledger_events(env, codec, &topics.events).await, a);
            sent.is_some()
        })
        .await,
        "account 1 prepared a transfer after the recipient's partition confirmed it exists"
    );
    produce(&env.kafka, codec, &topics.commands, &[finalize(&sent.expect("prepared"), 200)]).await;
    assert!(
        eventually(60, async || {
            let events = ledger_events(env, codec, &topics.events).await;
            principal_of(&events, a) == Some(300) && principal_of(&events, b) == Some(200)
        })
        .await,
        "the sender was debited and the recipient credited"
    );
    let events = ledger_events(env, codec, &topics.events).await;
    assert_eq!(principal_of(&events, 0), Some(-500), "the root account issued what the holders have");
    let transfers: Vec<&AccountTransfer> = events
        .iter()
        .filter_map(|e| match e {
            LedgerEvent::AccountTransfer(t) if t.creditor_id == b => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        (transfers[0].acquired_amount, transfers[0].sender.as_str(), transfers[0].transfer_note.as_str()),
        (200, "1", "hello")
    );
    assert!(read_all(&env.kafka, &topics.dead_letters).await.is_empty(), "no dead letters");

    // The read model shows the same balances, the history, and no lock left.
    let balances = format!(
        "SELECT creditor_id, principal, locked_amount, available_amount FROM \"{model}\".account_balances ORDER BY creditor_id"
    );
    let expected = vec![(0_i64, -500_i64, 0_i64, -500_i64), (a, 300, 0, 300), (b, 200, 0, 200)];
    let mut seen = Vec::new();
    let converged = eventually(60, async || {
        seen = sqlx::query_as::<_, (i64, i64, i64, i64)>(&balances).fetch_all(&env.pool).await.unwrap_or_default();
        seen == expected
    })
    .await;
    assert!(converged, "account_balances: {seen:?}");
    let history: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT creditor_id, acquired_amount, transfer_note FROM \"{model}\".transfers ORDER BY creditor_id, transfer_number"
    ))
    .fetch_all(&env.pool)
    .await
    .expect("transfers");
    assert_eq!(history, vec![(a, 500, "hello".into()), (a, -200, "hello".into()), (b, 200, "hello".into())]);
    let open: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{model}\".prepared_transfers"))
        .fetch_one(&env.pool)
        .await
        .expect("prepared");
    assert_eq!(open, 0, "every lock was released");
    produce(&env.kafka, codec, &topics.commands, &[prepare(a, a, 3, 1, now)]).await;
    let rejections = format!("SELECT creditor_id, kind, code FROM \"{model}\".rejections");
    let mut refused = Vec::new();
    let recorded = eventually(60, async || {
        refused =
            sqlx::query_as::<_, (i64, String, String)>(&rejections).fetch_all(&env.pool).await.unwrap_or_default();
        !refused.is_empty()
    })
    .await;
    assert!(recorded, "the refusal reached the read model");
    assert_eq!(refused, vec![(a, "transfer".to_string(), "RECIPIENT_SAME_AS_SENDER".to_string())]);

    // The audit, from the log alone.
    let (balanced, stdout, stderr) =
        crate::cli::clio(env, &schemas_dir(), &["ledger", "audit", "--topic", &topics.events], None).await;
    assert!(balanced, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("debtor {DEBTOR}: 3 accounts, principals 0, in flight 0, sum 0: ok")), "{stdout}");

    // The same through the gateway: the fetch API and the paged queries.
    let base = &stack.gateway_url;
    let http = reqwest::Client::new();
    let get = async |path: &str| http.get(format!("{base}{path}")).send().await.expect("answers");
    assert_eq!(get(&format!("/accounts/{DEBTOR}/{b}/reachable")).await.status(), 204);
    assert_eq!(get(&format!("/accounts/{DEBTOR}/0/reachable")).await.status(), 204, "the root is always reachable");
    assert_eq!(get(&format!("/accounts/{DEBTOR}/999/reachable")).await.status(), 404);
    let config = get(&format!("/accounts/{DEBTOR}/{a}/config")).await;
    assert_eq!(config.status(), 200);
    assert_eq!(config.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(config.text().await.expect("body"), "");
    assert_eq!(get(&format!("/accounts/{DEBTOR}/999/config")).await.status(), 404);
    assert_eq!(get(&format!("/accounts/{DEBTOR}/x/config")).await.status(), 400);

    let first: serde_json::Value =
        get(&format!("/v1/ledger/accounts?debtor_id={DEBTOR}&limit=2")).await.json().await.expect("json");
    let creditors = |page: &serde_json::Value| -> Vec<i64> {
        page["items"].as_array().expect("items").iter().map(|i| i["creditor_id"].as_i64().expect("id")).collect()
    };
    assert_eq!(creditors(&first), vec![0, a]);
    assert_eq!(first["items"][1]["available_amount"], 300);
    assert_eq!(first["next"], a);
    let second: serde_json::Value =
        get(&format!("/v1/ledger/accounts?debtor_id={DEBTOR}&limit=2&after={a}")).await.json().await.expect("json");
    assert_eq!((creditors(&second), second["next"].clone()), (vec![b], serde_json::Value::Null));
    let too_many = get(&format!("/v1/ledger/accounts?debtor_id={DEBTOR}&limit=5000")).await;
    assert_eq!(too_many.status(), 400);
    assert!(too_many.text().await.expect("body").contains("limit 5000 is outside"));
    let history: serde_json::Value =
        get(&format!("/v1/ledger/accounts/{DEBTOR}/{a}/transfers")).await.json().await.expect("json");
    let amounts: Vec<i64> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["acquired_amount"].as_i64().expect("amount"))
        .collect();
    assert_eq!(amounts, vec![500, -200]);

    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rebuilds_the_ledger_read_model_from_the_log_and_reports_its_status() {
    // This test alone uses the catalogue's own names (topic ledger.events, schema ledger).
    let env = TestEnv::start().await.expect("env");
    let schemas = schemas_dir();
    let (created, _, stderr) = crate::cli::clio(&env, &schemas, &["topics", "create"], None).await;
    assert!(created, "{stderr}");
    let catalogue = Catalogue::load(&schemas).expect("catalogue");
    for record in &catalogue.topic("ledger.events").expect("in the catalogue").values {
        env.register(&clio_runtime::catalogue::subject("ledger.events", record), &catalogue.schemas[record].text)
            .await
            .expect("registered");
    }
    let codec = Codec::new(&env.registry_url);
    let creditor = 1_000_000 + i64::from(std::process::id() as u16); // new to this run's log
    let update = |principal: i64| AccountUpdate {
        debtor_id: DEBTOR,
        creditor_id: creditor,
        creation_date: 20_000,
        last_change_ts: 1,
        last_change_seqnum: principal as i32,
        principal,
        interest: 0.0,
        interest_rate: 0.0,
        last_interest_rate_change_ts: 0,
        last_config_ts: 0,
        last_config_seqnum: 0,
        negligible_amount: 0.0,
        config_flags: 0,
        config_data: String::new(),
        account_id: creditor.to_string(),
        debtor_info_iri: String::new(),
        debtor_info_content_type: String::new(),
        debtor_info_sha256: String::new(),
        last_transfer_number: 0,
        last_transfer_committed_at: 0,
        demurrage_rate: -50.0,
        commit_period: 1,
        transfer_note_max_bytes: 500,
        ts: 1,
        ttl: 1,
    };
    let key = format!("{DEBTOR}/{creditor}");
    produce(
        &env.kafka,
        &codec,
        "ledger.events",
        &[(key.clone(), LedgerEvent::AccountUpdate(update(5))), (key, LedgerEvent::AccountUpdate(update(7)))],
    )
    .await;

    let (rebuilt, stdout, stderr) = crate::cli::clio(&env, &schemas, &["projections", "rebuild", "ledger"], None).await;
    assert!(rebuilt, "{stderr}");
    assert!(stdout.starts_with("rebuilt ledger: ") && stdout.contains("swapped in"), "{stdout}");
    let principal: i64 =
        sqlx::query_scalar("SELECT principal FROM ledger.accounts WHERE debtor_id = $1 AND creditor_id = $2")
            .bind(DEBTOR)
            .bind(creditor)
            .fetch_one(&env.pool)
            .await
            .expect("the account is in the rebuilt read model");
    assert_eq!(principal, 7, "the latest AccountUpdate");

    let (ok, stdout, stderr) = crate::cli::clio(&env, &schemas, &["projections", "status"], None).await;
    assert!(ok, "{stderr}");
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ledger ")).collect();
    assert_eq!(rows.len(), 4, "one row per partition of ledger.events:\n{stdout}");
    assert!(rows.iter().all(|r| r.trim_end().ends_with(" 0")), "no lag after the rebuild:\n{stdout}");
    let (unknown, _, stderr) = crate::cli::clio(&env, &schemas, &["projections", "rebuild", "nope"], None).await;
    assert!(!unknown && stderr.contains("unknown read model \"nope\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_clock_sets_interest_rates_capitalises_interest_and_deletes_and_purges_accounts() {
    let stack = start().await;
    let (env, topics, codec, model) = (&stack.env, &stack.topics, &stack.codec, &stack.home().schema());
    let now = chrono::Utc::now();
    let micros = now.timestamp_micros();
    let (a, b) = (1_i64, 2_i64);
    let with = |(key, mut command): (String, LedgerCommand), flags: i32, data: &str| {
        if let LedgerCommand::ConfigureAccount(c) = &mut command {
            c.config_flags = flags;
            c.config_data = data.into();
        }
        (key, command)
    };
    let root = with(configure(0, micros), 0, r#"{"type":"RootConfigData","rate":10.0}"#);
    let doomed = with(configure(b, micros), clio_ledger::rules::SCHEDULED_FOR_DELETION_FLAG, "");
    produce(&env.kafka, codec, &topics.commands, &[root, configure(a, micros), doomed]).await;
    produce(&env.kafka, codec, &topics.commands, &[prepare(0, a, 1, 1_000, micros)]).await;
    let mut issued = None;
    let found = eventually(60, async || {
        issued = prepared(&ledger_events(env, codec, &topics.events).await, 0);
        issued.is_some()
    })
    .await;
    assert!(found, "the root account prepared the issuing transfer");
    produce(&env.kafka, codec, &topics.commands, &[finalize(&issued.expect("prepared"), 1_000, micros)]).await;

    let accounts = format!(
        "SELECT creditor_id, principal, interest_rate, deleted, last_capitalization_at IS NOT NULL
           FROM \"{model}\".accounts ORDER BY creditor_id"
    );
    let mut seen = Vec::new();
    let mut read_model_shows = async |expected: Vec<(i64, i64, f64, bool, bool)>| {
        let converged = eventually(60, async || {
            seen = sqlx::query_as::<_, (i64, i64, f64, bool, bool)>(&accounts)
                .fetch_all(&env.pool)
                .await
                .unwrap_or_default();
            seen == expected
        })
        .await;
        assert!(converged, "expected {expected:?}, the read model has {seen:?}");
    };
    read_model_shows(vec![(0, -1_000, 0.0, false, false), (a, 1_000, 0.0, false, false), (b, 0, 0.0, false, false)])
        .await;

    let scan = async |at: chrono::DateTime<chrono::Utc>| {
        let at = at.to_rfc3339();
        let args = ["ledger", "scan", "--at", &at, "--schema", model, "--topic", &topics.commands];
        let (ok, stdout, stderr) = crate::cli::clio(env, &schemas_dir(), &args, None).await;
        assert!(ok, "{stderr}");
        stdout
    };
    // Today: the root's rate reaches account 1; account 2, empty and scheduled for deletion, goes.
    let stdout = scan(now).await;
    assert!(stdout.contains("1 debtors, 2 accounts sent MaintainAccount"), "{stdout}");
    read_model_shows(vec![(0, -1_000, 0.0, false, false), (a, 1_000, 10.0, false, false), (b, 0, 10.0, true, false)])
        .await;
    // A year later: a year of 10 % is capitalised (paid by the root account), account 2 purged.
    scan(now + chrono::Duration::days(365)).await;
    read_model_shows(vec![(0, -1_099, 0.0, false, false), (a, 1_099, 10.0, false, true)]).await;
    let interest: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT coordinator_type, sender, acquired_amount FROM \"{model}\".transfers
          WHERE creditor_id = $1 AND coordinator_type = 'interest'"
    ))
    .bind(a)
    .fetch_all(&env.pool)
    .await
    .expect("transfers");
    assert_eq!(interest, vec![("interest".to_string(), "0".to_string(), 99)]);
    let (balanced, stdout, stderr) =
        crate::cli::clio(env, &schemas_dir(), &["ledger", "audit", "--topic", &topics.events], None).await;
    assert!(balanced, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("debtor {DEBTOR}: 2 accounts, principals 0, in flight 0, sum 0: ok")), "{stdout}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_twice_issues_once_and_the_demo_stream_moves_money_between_holders() {
    let stack = start().await;
    let (env, topics, model) = (&stack.env, &stack.topics, &stack.home().schema());
    let seed_args = [
        "seed",
        "ledger",
        "--schema",
        model,
        "--topic",
        &topics.commands,
        "--demo-debtor-id",
        "7",
        "--demo-accounts",
        "5",
        "--demo-amount",
        "1000",
    ];
    let (ok, stdout, stderr) = crate::cli::clio(env, &schemas_dir(), &seed_args, None).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("debtor 7 with 5 holders; 6 accounts configured and 5 issues made"), "{stdout}");
    let balances = format!(
        "SELECT creditor_id, principal FROM \"{model}\".account_balances WHERE debtor_id = 7 ORDER BY creditor_id"
    );
    let principals = async || sqlx::query_as::<_, (i64, i64)>(&balances).fetch_all(&env.pool).await.expect("balances");
    let seeded = vec![(0, -5_000), (1, 1_000), (2, 1_000), (3, 1_000), (4, 1_000), (5, 1_000)];
    let mut seen = Vec::new();
    assert!(
        eventually(60, async || {
            seen = principals().await;
            seen == seeded
        })
        .await,
        "{seen:?}"
    );

    let (ok, stdout, stderr) = crate::cli::clio(env, &schemas_dir(), &seed_args, None).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("0 accounts configured and 0 issues made"), "the second run does nothing: {stdout}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(principals().await, seeded, "and nothing more was issued");

    // The demo stream: transfers between the holders, the total unchanged.
    let (streaming, running) =
        demo_stream(&stack, clio_ledger_plug::demo::Demo { debtor_id: 7, accounts: 5, amount: 1_000 }, 20.0);
    let direct =
        format!("SELECT count(*) FROM \"{model}\".transfers WHERE debtor_id = 7 AND coordinator_type = 'direct'");
    let moved = eventually(60, async || {
        sqlx::query_scalar::<_, i64>(&direct).fetch_one(&env.pool).await.unwrap_or_default() >= 20
    })
    .await;
    streaming.cancel();
    running.await.expect("joined").expect("the stream ran cleanly");
    assert!(moved, "at least 10 transfers (two rows each) reached the history");
    let settled = eventually(60, async || {
        let now = principals().await;
        let holders: i64 = now.iter().filter(|(c, _)| *c != 0).map(|(_, p)| p).sum();
        now[0].1 == -5_000 && holders == 5_000 && now[1..] != seeded[1..]
    })
    .await;
    assert!(settled, "money moved between holders and none was created: {:?}", principals().await);
    stack.stop().await;
}

/// Spans received by a minimal OTLP/HTTP (JSON) collector: (trace id, span id, parent span id, name).
type Collected = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String, String)>>>;

async fn otlp_collector() -> (String, Collected) {
    let collected = Collected::default();
    let store = collected.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: String| async move {
            let request: serde_json::Value = serde_json::from_str(&body).expect("OTLP/JSON");
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            let mut spans = store.lock().expect("lock");
            for resource in request["resourceSpans"].as_array().into_iter().flatten() {
                for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        spans.push((
                            text(&span["traceId"]),
                            text(&span["spanId"]),
                            text(&span["parentSpanId"]),
                            text(&span["name"]),
                        ));
                    }
                }
            }
            "{}"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}/v1/traces", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, collected)
}

// Runs in a process of its own (nextest), as the exporter is part of the global subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_request_from_the_gateway_through_the_processor_to_the_read_model() {
    let (endpoint, collected) = otlp_collector().await;
    clio_runtime::telemetry::init_with(clio_runtime::telemetry::Export {
        traces_endpoint: Some(endpoint),
        json: true,
        service_name: "clio-test".into(),
    });
    let stack = start().await;
    let (env, topics, model) = (&stack.env, &stack.topics, &stack.home().schema());
    // The stack's gateway serves its commands topic under this test's own name.
    let base = &stack.gateway_url;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (_, command) = configure(7, chrono::Utc::now().timestamp_micros());
    let LedgerCommand::ConfigureAccount(c) = command else { unreachable!() };
    let value = serde_json::json!({"debtor_id": c.debtor_id, "creditor_id": c.creditor_id, "ts": c.ts,
        "seqnum": c.seqnum, "negligible_amount": 0.0, "config_flags": 0, "config_data": ""});
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1/topics/{}/records", topics.commands))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(
            &serde_json::json!({"type": "clio.ledger.ConfigureAccount", "key": format!("{DEBTOR}/7"), "value": value}),
        )
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap_or_default());
    let query = format!("SELECT count(*) FROM \"{model}\".accounts WHERE debtor_id = $1 AND creditor_id = 7");
    assert!(
        eventually(60, async || sqlx::query_scalar::<_, i64>(&query)
            .bind(DEBTOR)
            .fetch_one(&env.pool)
            .await
            .is_ok_and(|n| n == 1))
        .await,
        "the account reached the read model"
    );

    let mut path = Vec::new();
    let found = eventually(30, async || {
        tokio::task::spawn_blocking(clio_runtime::telemetry::flush).await.expect("flushed");
        let spans = collected.lock().expect("lock").clone();
        let in_trace: Vec<_> = spans.iter().filter(|s| s.0 == trace_id).collect();
        let named = |name: &str| in_trace.iter().find(|s| s.3 == name).copied().cloned();
        path = ["produce record", "decide command", "project event"].iter().filter_map(|n| named(n)).collect();
        path.len() == 3
    })
    .await;
    assert!(found, "the trace holds the gateway, processor and projector spans: {path:?}");
    assert_eq!(path[0].2, "00f067aa0ba902b7", "the gateway's span continues the caller's");
    assert_eq!(path[1].2, path[0].1, "the processor's span is a child of the gateway's");
    assert_eq!(path[2].2, path[1].1, "the projector's span is a child of the processor's");
    stack.stop().await;
}

/// `clio ledger audit` on a live log: run again and again while transfers flow it never
/// reports a violation (credits can reach the log before their sender's commit), and a credit
/// that no account sent is still caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_is_exact_on_a_live_log_and_still_catches_a_forged_credit() {
    let stack = start().await;
    let (env, topics, codec, model) = (&stack.env, &stack.topics, &stack.codec, &stack.home().schema());
    let debtor = 11;
    let seed_args = ["seed", "ledger", "--schema", model, "--topic", &topics.commands, "--demo-debtor-id", "11"];
    let seed_args = [&seed_args[..], &["--demo-accounts", "8", "--demo-amount", "10000"]].concat();
    let (ok, _, stderr) = crate::cli::clio(env, &schemas_dir(), &seed_args, None).await;
    assert!(ok, "{stderr}");

    let (streaming, running) =
        demo_stream(&stack, clio_ledger_plug::demo::Demo { debtor_id: 11, accounts: 8, amount: 10_000 }, 80.0);
    let audit = ["ledger", "audit", "--topic", &topics.events];
    let mut ahead_seen = 0;
    for round in 0..8 {
        let (balanced, stdout, stderr) = crate::cli::clio(env, &schemas_dir(), &audit, None).await;
        assert!(balanced, "round {round} while transfers flow:\n{stdout}{stderr}");
        assert!(stdout.contains(&format!("debtor {debtor}: 9 accounts")), "{stdout}");
        ahead_seen += usize::from(stdout.contains("before their sender's commit"));
    }
    streaming.cancel();
    running.await.expect("joined").expect("the stream ran cleanly");
    println!("{ahead_seen} of 8 audits met credits ahead of their commit");

    // A credit no account sent: account 1 receives 500 from account 777, which never paid it.
    let forged = LedgerCommand::PendingBalanceChange(PendingBalanceChange {
        debtor_id: debtor,
        creditor_id: 1,
        change_id: 4_242,
        coordinator_type: "direct".into(),
        transfer_note_format: String::new(),
        transfer_note: String::new(),
        committed_at: chrono::Utc::now().timestamp_micros(),
        principal_delta: 500,
        other_creditor_id: 777,
    });
    produce(&env.kafka, codec, &topics.commands, &[(format!("{debtor}/1"), forged)]).await;
    let applied = eventually(60, async || {
        ledger_events(env, codec, &topics.events)
            .await
            .iter()
            .any(|e| matches!(e, LedgerEvent::BalanceChanged(b) if b.change_id == 4_242))
    })
    .await;
    assert!(applied, "the ledger applied the forged credit");
    let args = [&audit[..], &["--settle-seconds", "2"]].concat();
    let (balanced, stdout, _) = crate::cli::clio(env, &schemas_dir(), &args, None).await;
    assert!(!balanced, "the forged credit is caught: {stdout}");
    assert!(
        stdout.contains("a credit of 500 from account 777 (change 4242)") && stdout.contains("MONEY CREATED"),
        "{stdout}"
    );
    stack.stop().await;
}
