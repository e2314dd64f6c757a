//! The HTTP gateway with the ledger's routes: produce as JSON, refusals that say why, and the
//! OpenAPI document.

use std::sync::Arc;

use clio_ledger_plug::LedgerPlug;
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::codec::json::avro_to_json;
use clio_testkit::harness::TestEnv;
use clio_testkit::records::read_all;
use rdkafka::Message;
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::cli::{CONFIGURE, clio, private_catalogue};

struct Served {
    url: String,
    token: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

async fn serve(env: &TestEnv, schemas: &std::path::Path) -> Served {
    let catalogue = Catalogue::load(schemas).expect("catalogue");
    let gateway =
        clio_gateway::Gateway::new(env.pool.clone(), env.kafka.clone(), catalogue, Codec::new(&env.registry_url))
            .expect("gateway")
            .with_routes(ledger_routes(env));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let token = CancellationToken::new();
    tokio::spawn(clio_gateway::serve(listener, gateway, token.clone()));
    Served { url, token }
}

fn ledger_routes(env: &TestEnv) -> clio_plug::Routes {
    let resources = clio_plug::Resources {
        pool: env.pool.clone(),
        kafka: env.kafka.clone(),
        codec: Codec::new(&env.registry_url),
        shutdown: CancellationToken::new(),
    };
    clio_plug::routes_of(&[Arc::new(LedgerPlug::default())], &resources)
}

async fn post(url: &str, body: Json, traceparent: Option<&str>) -> (u16, Json) {
    let mut request =
        reqwest::Client::new().post(url).header("content-type", "application/json").body(body.to_string());
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_record_is_produced_as_avro_and_lands_where_the_answer_says() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "gw-ok");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    assert!(clio(&env, &schemas, &["schemas", "register"], None).await.0);
    let gateway = serve(&env, &schemas).await;
    let value: Json = serde_json::from_str(CONFIGURE).expect("json");
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (status, answer) = post(
        &format!("{}/v1/topics/{topic}/records", gateway.url),
        json!({"type": "clio.ledger.ConfigureAccount", "key": "1/2", "value": value}),
        Some(traceparent),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let records = read_all(&env.kafka, &topic).await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(
        (json!(record.partition()), json!(record.offset())),
        (answer["partition"].clone(), answer["offset"].clone())
    );
    assert_eq!(record.key(), Some(&b"1/2"[..]));
    assert_eq!(
        clio_runtime::headers::get(record, "traceparent"),
        Some(traceparent),
        "trace context travels with the record"
    );
    let decoded = Codec::new(&env.registry_url).decode(record.payload().expect("payload")).await.expect("Avro");
    assert_eq!(json!(decoded.schema_id), answer["schema_id"]);
    assert_eq!(avro_to_json(&decoded.value), value);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_does_not_fit_is_refused_with_the_reason_and_nothing_is_produced() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "gw-bad");
    assert!(clio(&env, &schemas, &["topics", "create"], None).await.0);
    assert!(clio(&env, &schemas, &["schemas", "register"], None).await.0);
    let gateway = serve(&env, &schemas).await;
    let records = format!("{}/v1/topics/{topic}/records", gateway.url);
    let mut value: Json = serde_json::from_str(CONFIGURE).expect("json");

    value["seqnum"] = json!(5_000_000_000i64);
    let (status, body) = post(&records, json!({"type": "clio.ledger.ConfigureAccount", "value": value}), None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["path"], "$.seqnum");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("32-bit")), "{body}");

    value["seqnum"] = json!(1);
    value.as_object_mut().expect("object").remove("config_data");
    let (status, body) = post(&records, json!({"type": "clio.ledger.ConfigureAccount", "value": value}), None).await;
    assert_eq!((status, body["path"].clone()), (422, json!("$.config_data")), "{body}");

    let (status, body) = post(&records, json!({"type": "clio.ledger.Nonsense", "value": {}}), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("clio.ledger.ConfigureAccount")),
        "names what it carries: {body}"
    );
    let (status, body) =
        post(&format!("{}/v1/topics/no-such-topic/records", gateway.url), json!({"value": {}}), None).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(&records, json!({"value": {}}), None).await;
    assert_eq!(status, 400, "several record types need a type: {body}");
    let response = reqwest::Client::new().post(&records).body("not json").send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 400);

    assert!(read_all(&env.kafka, &topic).await.is_empty(), "nothing was produced for a refused request");
}

#[tokio::test]
async fn the_gateway_describes_itself_and_reports_readiness() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, _) = private_catalogue(&env, "gw-doc");
    let gateway = serve(&env, &schemas).await;
    let document: Json =
        reqwest::get(format!("{}/openapi.json", gateway.url)).await.expect("answer").json().await.expect("json");
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/v1/topics/{topic}/records"]["post"]["responses"]["422"].is_object());
    let balances = &document["paths"]["/v1/ledger/accounts"]["get"];
    assert_eq!(balances["responses"]["400"]["content"]["application/json"]["schema"]["required"], json!(["error"]));
    assert!(document["paths"]["/accounts/{debtor_id}/{creditor_id}/reachable"]["get"].is_object());
    let ready = reqwest::get(format!("{}/ready", gateway.url)).await.expect("answer");
    assert_eq!(ready.status().as_u16(), 200);
    let body: Json = ready.json().await.expect("json");
    assert_eq!(body, json!({"postgres": "ok", "broker": "ok", "registry": "ok"}));
}

/// Every refusal is JSON naming what was refused, as the OpenAPI document promises: the
/// requests an OpenAPI fuzzer sent, and their kin for every parameter kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_a_json_problem_naming_the_parameter() {
    let env = TestEnv::start().await.expect("env");
    let (schemas, topic) = private_catalogue(&env, "gw-problem");
    let gateway = serve(&env, &schemas).await;
    // A fresh connection per request: the server answers an oversized body (413) without
    // reading it and closes the connection, which a pooled next request would then meet.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let url = |path: &str| format!("{}{path}", gateway.url);
    let records = url(&format!("/v1/topics/{topic}/records"));
    let big = "x".repeat(2 * 1024 * 1024);
    let cases: Vec<(reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        (client.get(url("/v1/ledger/accounts?debtor_id=0&limit=null")), 400, Some("limit")),
        (client.get(url("/v1/ledger/accounts?debtor_id=0&after=x")), 400, Some("after")),
        (client.get(url("/v1/ledger/accounts?debtor_id=0&limit=0")), 400, Some("limit")),
        (client.get(url("/v1/ledger/accounts?limit=5")), 400, Some("debtor_id")),
        (client.get(url("/v1/ledger/accounts?debtor_id=99999999999999999999")), 400, Some("debtor_id")),
        (client.get(url("/v1/ledger/accounts/1/2/transfers?limit=null")), 400, Some("limit")),
        (client.get(url("/v1/ledger/accounts/1/2/prepared-transfers?limit=null")), 400, Some("limit")),
        (client.get(url("/v1/ledger/accounts/one/2/transfers")), 400, Some("debtor_id")),
        (client.get(url("/v1/ledger/accounts/1/two/prepared-transfers")), 400, Some("creditor_id")),
        (client.get(url("/accounts/1/x/reachable")), 400, Some("creditor_id")),
        (client.get(url("/accounts/x/1/config")), 400, Some("debtor_id")),
        (client.post(&records).header("content-type", "text/plain").body("{}"), 415, Some("content-type")),
        (client.post(&records).header("content-type", "application/json").body("not json"), 400, Some("body")),
        (client.post(&records).header("content-type", "application/json").body(big), 413, Some("body")),
        (client.get(url("/v1/no-such-route")), 404, None),
        (client.delete(url("/v1/ledger/accounts?debtor_id=1")), 405, None),
    ];
    for (request, status, parameter) in cases {
        let request = request.build().expect("request");
        let what = format!("{} {}", request.method(), request.url());
        let response = client.execute(request).await.expect("answer");
        assert_eq!(response.status().as_u16(), status, "{what}");
        let content_type = response.headers()["content-type"].to_str().expect("text").to_string();
        assert!(content_type.starts_with("application/json"), "{what}: {content_type}");
        let body: Json = response.json().await.expect("JSON body");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
        if let Some(parameter) = parameter {
            assert_eq!(body["parameter"], parameter, "{what}: {body}");
        }
    }
}
