//! API keys as an operator and an integrator use them: `clio keys`, a `clio up` that then
//! needs them at the gateway and the registry (curl's way, and Confluent's Python client with
//! `basic.auth.user.info`), revocation, and the refusal to run open off loopback.

use std::path::PathBuf;
use std::time::Duration;

use clio_testkit::harness::{TestEnv, test_database_url};
use clio_testkit::platform::{ClioUp, OwnBroker, free_port, stops_cleanly};
use clio_testkit::records::eventually;
use serde_json::{Value, json};

/// A database of the test's own on the test server.
fn own_database(name: &str) -> String {
    let server = test_database_url().rsplit_once('/').expect("a database URL").0.to_string();
    format!("{server}/clio_{name}_{}", std::process::id())
}

async fn drop_database(env: &TestEnv, database_url: &str) {
    let name = database_url.rsplit_once('/').expect("a database URL").1;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&env.pool).await;
}

/// `clio keys ...` on `database_url`: (succeeded, stdout, stderr).
async fn keys(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .arg("keys")
        .args(args)
        .env("CLIO_DATABASE_URL", database_url)
        .output()
        .await
        .expect("clio runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

async fn create_key(database_url: &str, name: &str, scopes: &[&str]) -> String {
    let mut args = vec!["create", name];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let (ok, out, err) = keys(database_url, &args).await;
    assert!(ok, "clio keys create {name}: {err}");
    out.trim().to_string()
}

/// (status, JSON body, WWW-Authenticate) of a call with `key` as bearer.
async fn call(method: reqwest::Method, url: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value, String) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), challenge)
}

async fn confluent_register(registry: &str, subject: &str, user_info: Option<&str>) -> String {
    let python = clio_testkit::tools::installed("CLIO_PYTHON", "infra/python-env.sh");
    let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/registry_auth.py"));
    let mut command = tokio::process::Command::new(python);
    command.arg(script).arg(registry).arg(subject);
    if let Some(user_info) = user_info {
        command.arg(user_info);
    }
    let output = command.output().await.expect("python runs");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_guard_the_gateway_and_the_registry_within_their_scopes_until_revoked() {
    // A broker of its own: a second `clio up` on the shared one would share its consumer groups.
    let broker = OwnBroker::start("keys").await;
    let up = ClioUp::new(&broker).await;
    let database_url = up.database_url.clone();
    let ops = create_key(&database_url, "ops", &["*"]).await;
    let reader = create_key(&database_url, "reader", &["read:ledger", "produce:retry"]).await;
    assert!(ops.starts_with("clio_") && reader.starts_with("clio_") && ops != reader);
    let (ok, listed, err) = keys(&database_url, &["list"]).await;
    assert!(ok, "{err}");
    assert!(listed.contains("ops") && listed.contains("reader") && listed.contains("read:ledger,produce:retry"));
    assert!(!listed.contains(&ops) && !listed.contains(&reader), "a listing never shows a key:\n{listed}");
    let (ok, _, err) = keys(&database_url, &["create", "ops", "--scope", "read:x"]).await;
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = keys(&database_url, &["create", "bad", "--scope", "look:x"]).await;
    assert!(!ok && err.contains("action"), "{err}");

    let (gateway, registry) = (up.gateway_url.clone(), up.registry_url.clone());
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up (which registered its schemas with keys in force) became ready");

    let accounts = format!("{gateway}/v1/ledger/accounts?debtor_id=1");
    let (status, body, challenge) = call(reqwest::Method::GET, &accounts, None, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("read:ledger") && challenge.starts_with("Bearer"), "{body}");
    assert_eq!(call(reqwest::Method::GET, &accounts, Some(&reader), None).await.0, 200);
    let (status, body, _) = call(reqwest::Method::GET, &accounts, Some("clio_nobody"), None).await;
    assert!(status == 401 && body["error"].as_str().unwrap().contains("not known"), "{body}");

    let produce = format!("{gateway}/v1/topics/ledger.commands/records");
    let (status, body, _) = call(reqwest::Method::POST, &produce, Some(&reader), Some(json!({"value": {}}))).await;
    assert_eq!(status, 403, "{body}");
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("reader") && reason.contains("produce:ledger.commands"), "{reason}");
    // Past the guard, the record itself is judged (and refused: it is empty).
    let (status, body, _) = call(reqwest::Method::POST, &produce, Some(&ops), Some(json!({"value": {}}))).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    let force = format!("{gateway}/v1/matching/force-match");
    let (status, body, _) = call(reqwest::Method::POST, &force, Some(&reader), Some(json!({}))).await;
    assert!(status == 403 && body["error"].as_str().unwrap().contains("admin:matching"), "{body}");
    assert_eq!(call(reqwest::Method::GET, &format!("{gateway}/health"), None, None).await.0, 200);
    let (_, document, _) = call(reqwest::Method::GET, &format!("{gateway}/openapi.json"), None, None).await;
    assert_eq!(document["components"]["securitySchemes"]["apiKey"]["scheme"], "bearer");
    assert_eq!(
        document["paths"]["/v1/matching/force-match"]["post"]["security"],
        json!([{"apiKey": ["admin:matching"]}])
    );
    assert_eq!(document["paths"]["/v1/orders/webhooks/tracker"]["post"]["security"], json!([]));

    let subject = format!("keys-probe-{}-value", std::process::id());
    let (status, body, challenge) = call(
        reqwest::Method::POST,
        &format!("{registry}/subjects/{subject}/versions"),
        None,
        Some(json!({"schema": "\"long\""})),
    )
    .await;
    assert!(status == 401 && body["error_code"] == 40101 && challenge.starts_with("Basic"), "{body}");
    let refused = confluent_register(&registry, &subject, None).await;
    assert!(refused.starts_with("refused 401"), "{refused}");
    let forbidden = confluent_register(&registry, &subject, Some(&format!("reader:{reader}"))).await;
    assert!(forbidden.starts_with("refused 403") && forbidden.contains("registry:write"), "{forbidden}");
    let registered = confluent_register(&registry, &subject, Some(&format!("ops:{ops}"))).await;
    assert!(registered.starts_with("registered "), "{registered}");
    let (status, _, _) =
        call(reqwest::Method::GET, &format!("{registry}/subjects/{subject}/versions"), None, None).await;
    assert_eq!(status, 200, "reads stay open: every client looks schemas up");
    // Clio's own clients take the credentials in the registry's URL, as a managed registry
    // hands them out, and never print them.
    let with = |user_info: &str| registry.replacen("http://", &format!("http://{user_info}@"), 1);
    let register = |url: String| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
            .args(["schemas", "register"])
            .current_dir(crate::repo_root())
            .env("CLIO_REGISTRY_URL", url)
            .env_remove("CLIO_API_KEY")
            .output()
    };
    let output = register(with(&format!("ops:{ops}"))).await.expect("clio runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = register(with("ops:not-the-key")).await.expect("clio runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && !stderr.contains("not-the-key"), "{stderr}");
    // Or a bearer token, as Confluent's bearer.auth.token.
    let with_token = |token: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
            .args(["schemas", "register"])
            .current_dir(crate::repo_root())
            .env("CLIO_REGISTRY_URL", &registry)
            .env("CLIO_REGISTRY_TOKEN", token)
            .env_remove("CLIO_API_KEY")
            .output()
    };
    let output = with_token(&ops).await.expect("clio runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = with_token("not-the-key").await.expect("clio runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("not known") && !stderr.contains("not-the-key"), "{stderr}");

    let (ok, out, err) = keys(&database_url, &["revoke", "reader"]).await;
    assert!(ok && out.contains("revoked reader"), "{err}");
    let refused =
        eventually(10, async || call(reqwest::Method::GET, &accounts, Some(&reader), None).await.0 == 401).await;
    assert!(refused, "a revoked key is refused within seconds");
    assert_eq!(call(reqwest::Method::GET, &accounts, Some(&ops), None).await.0, 200);

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly");
    up.drop_database().await;
}

#[tokio::test]
async fn clio_up_refuses_to_listen_off_loopback_without_keys() {
    let env = TestEnv::start().await.expect("env");
    let database_url = own_database("open");
    drop_database(&env, &database_url).await;
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .arg("up")
        .current_dir(crate::repo_root())
        .env("CLIO_BROKERS", &env.kafka.brokers)
        .env("CLIO_DATABASE_URL", &database_url)
        .env("CLIO_REGISTRY_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("CLIO_HTTP_ADDR", format!("0.0.0.0:{}", free_port()))
        .env("CLIO_SANDBOX_ADDR", "")
        .kill_on_drop(true)
        .output();
    let output =
        tokio::time::timeout(Duration::from_secs(60), run).await.expect("clio up stops by itself").expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("without API keys") && stderr.contains("0.0.0.0"), "{stderr}");
    drop_database(&env, &database_url).await;
}
