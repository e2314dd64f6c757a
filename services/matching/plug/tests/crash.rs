//! The platform SIGKILLed in the middle of an import, as a crash or an OOM kill would stop it:
//! `clio up` (the matching and retry domains, their projectors, the registry, the gateway) on a
//! broker of its own, the sandbox's identity service and merchant in this process (they
//! outlive the kills, as the outside world does). A day of Costa's Visa auths and its own
//! transactions go in through `clio matching import`; `clio up` is killed while the payments
//! import, the merchant file's importer is killed half-way and run again, and `clio up` is
//! killed again while matches are being made and exported. After it all: every match a clean
//! run makes, each decided once on the log, once in the read model, and each sent to the
//! merchant under its one id (a resend after a kill repeats the id and the key, never a new
//! one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clio_matching::messages::MatchingEvent;
use clio_matching::settlement::{sha256_hex, visa_settlement_key};
use clio_runtime::codec::Codec;
use clio_runtime::settings::KafkaSettings;
use clio_testkit::platform::{ClioUp, OwnBroker, begun, crash_and_restart, stops_cleanly};
use clio_testkit::records::{eventually, read_all};
use rand::Rng as _;
use rdkafka::Message as _;
use serde_json::{Value, json};

/// Payments in the day; every 20th card holder has no account, every 10th payment no row.
const PAYMENTS: usize = 300;
const STORES: usize = 10;

fn has_account(n: usize) -> bool {
    n % 20 != 7
}

fn has_row(n: usize) -> bool {
    n % 10 != 3
}

/// The payments that must match: a card holder with an account, and the merchant's row.
fn expected() -> BTreeSet<String> {
    (0..PAYMENTS).filter(|&n| has_account(n) && has_row(n)).map(|n| format!("crash-{n}")).collect()
}

/// Visa's auth file (a JSON message per line) and Costa's own (a JSON array), for a day that
/// started two hours ago: purchase `n` at its store, for £1 + n pence, with its auth code.
fn write_files(dir: &Path) -> (PathBuf, PathBuf) {
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let at = |n: usize| (start + chrono::Duration::seconds(n as i64 * 10)).to_rfc3339();
    let amount = |n: usize| format!("{}.{:02}", 1 + n / 100, n % 100);
    let element = |k: &str, v: &str| json!({"Key": format!("Transaction.{k}"), "Value": v});
    let payments: Vec<String> = (0..PAYMENTS)
        .map(|n| {
            let token = if has_account(n) { format!("tok-{n:04}") } else { format!("none-{n}") };
            json!({"ExternalUserId": token, "MessageElementsCollection": [
                element("VipTransactionId", &format!("crash-{n}")),
                element("MerchantCardAcceptorId", &format!("C{}", n % STORES)),
                element("TimeStampYYMMDD", &at(n)),
                element("TransactionAmount", &amount(n)),
                element("AuthCode", &format!("{n:06}")),
            ]})
            .to_string()
        })
        .collect();
    let rows: Vec<Value> = (0..PAYMENTS)
        .filter(|&n| has_row(n))
        .map(|n| {
            json!({"transaction_id": format!("costa-{n}"), "payment_card_type": "Visa", "amount": amount(n),
                   "currency_code": "GBP", "auth_code": format!("{n:06}"), "date": at(n),
                   "merchant_identifier": format!("C{}", n % STORES)})
        })
        .collect();
    let (visa, costa) = (dir.join("visa-auth.json"), dir.join("costa.json"));
    std::fs::write(&visa, payments.join("\n")).expect("the visa file");
    std::fs::write(&costa, Value::Array(rows).to_string()).expect("the costa file");
    (visa, costa)
}

/// `clio matching import` as a user runs it, against `up`.
fn importer(up: &ClioUp, feed: &str, file: &Path) -> tokio::process::Child {
    tokio::process::Command::new(clio_testkit::tools::clio_binary())
        .args(["matching", "import", "--quiet", "--feed", feed])
        .arg(file)
        .env("CLIO_BROKERS", &up.brokers)
        .env("CLIO_REGISTRY_URL", &up.registry_url)
        .env("CLIO_DATABASE_URL", &up.database_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the importer starts")
}

/// Runs the import until it reports success, as a user whose import failed (the registry was
/// down with the platform) runs it again.
async fn import_until_done(up: &ClioUp, feed: &str, file: &Path) {
    for _ in 0..10 {
        if importer(up, feed, file).wait().await.is_ok_and(|s| s.success()) {
            return;
        }
        assert!(up.ready(200, 120).await, "clio up came back");
    }
    panic!("the {feed} import never succeeded");
}

async fn pause_between(millis: std::ops::Range<u64>) {
    let pause = rand::rng().random_range(millis);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Every `Matched` on the log, as (payment, merchant transaction, match id).
async fn matched_on_the_log(kafka: &KafkaSettings, codec: &Codec) -> Vec<(String, String, String)> {
    let mut matched = Vec::new();
    for message in read_all(kafka, "matching.events").await {
        let payload = message.payload().expect("a payload");
        if let Ok(MatchingEvent::Matched(m)) = codec.decode_as::<MatchingEvent>(payload).await {
            matched.push((m.payment_transaction_id, m.merchant_transaction_id, m.match_id));
        }
    }
    matched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_killed_mid_import_loses_no_match_doubles_none_and_sends_each_under_one_id() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let broker = OwnBroker::start("matchcrash").await;
    let up = ClioUp::new(&broker)
        .await
        .with("CLIO_RETRY_IDENTITY_URL", &sandbox)
        .with("CLIO_RETRY_MERCHANT_URL", &format!("{sandbox}/merchants/{{merchant}}/transactions"))
        .with("CLIO_SESSION_TIMEOUT_MS", "6000");
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let pool = up.pool().await;
    let count = async |sql: &str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap_or(-1);

    let mids: String =
        (0..STORES).map(|n| format!("visa,C{n},PRIMARY,costa,,,Costa,{n} High Street,AB1 2CD,A\n")).collect();
    let http = reqwest::Client::new();
    let onboarded =
        http.post(format!("{}/v1/matching/mids/csv", up.gateway_url)).body(mids).send().await.expect("the gateway");
    assert_eq!(onboarded.status(), 202);
    assert!(
        eventually(60, async || count("SELECT count(*) FROM matching.mids").await == STORES as i64).await,
        "the MIDs are onboarded"
    );

    let dir = broker.data.join("files");
    std::fs::create_dir_all(&dir).expect("a directory");
    let (visa, costa) = write_files(&dir);
    // Where the work stood at each kill: (payments in the read model, matches, exports sent).
    let mut kills: Vec<(i64, i64, i64)> = Vec::new();
    let payments_seen = "SELECT count(*) FROM matching.payment_transactions";
    let matched = "SELECT count(*) FROM matching.matches";
    let exported = "SELECT count(*) FROM matching.exports WHERE status = 'SENT'";
    let stand = async || (count(payments_seen).await, count(matched).await, count(exported).await);

    // The platform dies while the payments are being imported and decided.
    let mut payments = importer(&up, "visa-auth", &visa);
    assert!(begun(&pool, payments_seen).await, "the first payments came");
    kills.push(stand().await);
    crash_and_restart(&up, &mut platform).await;
    if !payments.wait().await.is_ok_and(|s| s.success()) {
        import_until_done(&up, "visa-auth", &visa).await;
    }
    assert!(up.ready(200, 180).await, "clio up came back");

    // The merchant file's importer dies half-way; the user runs it again.
    let mut rows = importer(&up, "costa", &costa);
    pause_between(50..400).await;
    rows.start_kill().expect("SIGKILL");
    let _ = rows.wait().await;
    import_until_done(&up, "costa", &costa).await;

    // The platform dies again once the first matches are visible, and again once the first
    // exports are sent, while the rest are still on their way.
    let expected = expected();
    let all = expected.len() as i64;
    for (what, sql) in [("matches", matched), ("exports", exported)] {
        assert!(begun(&pool, sql).await, "the first {what} came (kills at {kills:?})");
        kills.push(stand().await);
        crash_and_restart(&up, &mut platform).await;
    }
    let settled = eventually(300, async || count(matched).await == all && count(exported).await == all).await;
    assert!(settled, "{:?} of {all} matched and sent (kills at {kills:?})", stand().await);
    let midway = kills.iter().filter(|(_, m, e)| (1..all).contains(m) || (1..all).contains(e)).count();
    assert!(midway > 0, "a kill came while matches or exports were under way: {kills:?}");

    // The read model: each expected payment matched once, with its own row.
    let in_model: Vec<(String, String)> =
        sqlx::query_as("SELECT payment_transaction_id, merchant_transaction_id FROM matching.matches")
            .fetch_all(&pool)
            .await
            .expect("the matches");
    let payments_matched: BTreeSet<String> = in_model.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(payments_matched, expected, "the matches of a clean run");
    assert!(in_model.iter().all(|(p, r)| r == &p.replace("crash-", "costa-")), "each with its own row");
    let no_account = count("SELECT count(*) FROM matching.payment_transactions WHERE status = 'NO_IDENTITY'").await;
    assert_eq!(no_account, (0..PAYMENTS).filter(|&n| !has_account(n)).count() as i64, "no account: final, visible");

    // The log: each match decided once.
    let codec = Codec::new(&up.registry_url);
    let on_log = matched_on_the_log(&KafkaSettings::for_brokers(up.brokers.clone()), &codec).await;
    let mut decided: BTreeMap<&str, usize> = BTreeMap::new();
    for (payment, _, _) in &on_log {
        *decided.entry(payment.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = decided.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "matched more than once on the log: {twice:?}");
    assert_eq!(decided.len(), expected.len(), "every match on the log");
    let rows_used: BTreeSet<&str> = on_log.iter().map(|(_, row, _)| row.as_str()).collect();
    assert_eq!(rows_used.len(), on_log.len(), "no merchant row consumed twice");

    // The merchant: every match under its one id (sha256 of its settlement key), and a key
    // never carried two ids.
    let received: Value = reqwest::get(format!("{sandbox}/merchants/costa/transactions"))
        .await
        .expect("the sandbox")
        .json()
        .await
        .expect("JSON");
    let ids: BTreeSet<String> = received["by_id"].as_object().expect("by_id").keys().cloned().collect();
    let want: BTreeSet<String> =
        expected.iter().map(|id| sha256_hex(&visa_settlement_key(id).expect("an id"))).collect();
    assert_eq!(ids, want, "each match sent under its own stable id, and nothing else");
    let mut ids_by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for export in received["received"].as_array().expect("received") {
        let key = export["idempotency_key"].as_str().unwrap_or_default().to_string();
        let id = export["export"]["id"].as_str().unwrap_or_default();
        ids_by_key.entry(key).or_default().insert(id.to_string());
    }
    assert!(ids_by_key.values().all(|ids| ids.len() == 1), "a key carries one id: {ids_by_key:?}");
    let resent = received["received"].as_array().map_or(0, Vec::len) - ids.len();
    eprintln!(
        "clio up killed at (payments, matches, exports sent) {kills:?} of {all}; {resent} exports resent under their own id and key"
    );

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly on SIGTERM");
    pool.close().await;
    up.drop_database().await;
}
