//! The one list of domains drives the platform: `clio up` given a list holding only the tally
//! (the runtime's conformance domain, which the `clio` binary does not plug) creates its
//! topics, runs its processor and projector, and serves its route, without a line of the
//! platform naming it.

use std::sync::Arc;

use clio_plug::Domain;
use clio_testkit::harness::{TestEnv, test_database_url};
use clio_testkit::records::eventually;
use clio_testkit::tally_plug::{TallyPlug, schemas_dir};
use serde_json::{Value as Json, json};

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clio_up_runs_serves_and_projects_whatever_domain_the_list_holds() {
    let env = TestEnv::start().await.expect("env");
    // A database of its own: the topics are the catalogue's own names on this run's broker, so
    // the read model and its stored offsets must be this run's too.
    let database = format!("clio_plugged_{}", std::process::id());
    let server = test_database_url().rsplit_once('/').expect("a database URL").0.to_string();
    let database_url = format!("{server}/{database}");
    let domains: Vec<Arc<dyn Domain>> = vec![Arc::new(TallyPlug::default())];
    let (registry, http) = (free_address(), free_address());
    let schemas = schemas_dir();
    let args = [
        "clio",
        "up",
        "--brokers",
        &env.kafka.brokers,
        "--database-url",
        &database_url,
        "--schemas-dir",
        schemas.to_str().expect("UTF-8"),
        "--registry-addr",
        &registry,
        "--http-addr",
        &http,
        "--sandbox-addr",
        "",
    ];
    let matches = clio_cli::cli::command(&domains).try_get_matches_from(args).expect("the command line parses");
    // As `main` runs it: on a runtime of its own (a thread that ends with the test's process).
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
        runtime.block_on(clio_cli::dispatch::dispatch(&domains, matches))
    });

    let client = reqwest::Client::new();
    let base = format!("http://{http}");
    let ready = eventually(60, async || {
        client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(ready, "clio up became ready");
    let document: Json =
        client.get(format!("{base}/openapi.json")).send().await.expect("answer").json().await.expect("json");
    assert!(document["paths"]["/v1/tally/counters/{counter}"]["get"].is_object(), "the tally's route is documented");
    assert!(document["paths"]["/v1/ledger/accounts"].is_null(), "no domain outside the list: {document}");

    let counter = env.unique("c");
    let produced = client
        .post(format!("{base}/v1/topics/tally.commands/records"))
        .json(&json!({"type": "clio.testkit.Deposit", "key": counter,
                      "value": {"command_id": env.unique("deposit"), "counter": counter, "amount": 5}}))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(produced.status(), 200, "{}", produced.text().await.unwrap_or_default());

    let mut seen = Json::Null;
    let projected = eventually(60, async || {
        let answer = client.get(format!("{base}/v1/tally/counters/{counter}")).send().await;
        seen = match answer {
            Ok(answer) if answer.status() == 200 => answer.json().await.unwrap_or_default(),
            _ => Json::Null,
        };
        seen["total"] == 5
    })
    .await;
    assert!(projected, "the deposit went produce → processor → projector → the tally's route: {seen}");
    assert_eq!(seen["deposits"], 1);
    let missing = client.get(format!("{base}/v1/tally/counters/{}", env.unique("none"))).send().await.expect("answer");
    assert_eq!(missing.status(), 404);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).execute(&env.pool).await;
}
