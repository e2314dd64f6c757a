//! Matching end to end, with the retry domain beside it as `clio up` runs them: commands on
//! the log, decided by the matching processor, card holders looked up by the retry worker in
//! the sandbox's identity service, matches exported to its merchants, the outcome in the read
//! models; and feed files imported through `clio matching import` and the gateway.

use clio_aggregate::Aggregate as _;
use clio_matching::entity::Matching;
use clio_matching::messages::*;
use clio_matching::settlement::visa_settlement_key;
use clio_matching_plug::MatchingPlug;
use clio_retry_plug::RetryPlug;
use clio_testkit::records::{eventually, produce};
use clio_testkit::stack::DomainStack;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

fn onboard(identifier: &str) -> MatchingCommand {
    onboard_at(identifier, "costa")
}

fn onboard_at(identifier: &str, merchant: &str) -> MatchingCommand {
    MatchingCommand::OnboardMid(OnboardMid {
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        identifier: identifier.into(),
        merchant: merchant.into(),
        location: "1 High Street".into(),
        postcode: "AB1 2CD".into(),
        location_id: String::new(),
        merchant_internal_id: String::new(),
        by: "test".into(),
        ts: now(),
    })
}

fn auth(id: &str, mid: &str, token: &str, at: i64) -> MatchingCommand {
    visa_payment("AUTH", id, mid, token, at)
}

fn visa_payment(feed: &str, id: &str, mid: &str, token: &str, at: i64) -> MatchingCommand {
    MatchingCommand::ImportPayment(ImportPayment {
        batch: "visa-auth-1".into(),
        transaction: PaymentTransaction {
            transaction_id: id.into(),
            feed: feed.into(),
            provider: "visa".into(),
            settlement_key: visa_settlement_key(id).expect("an id"),
            primary_mid: mid.into(),
            secondary_mid: String::new(),
            psimi: String::new(),
            amount: 450,
            currency: "GBP".into(),
            at,
            source_zone: "GMT".into(),
            has_time: true,
            card_token: token.into(),
            first_six: String::new(),
            last_four: String::new(),
            auth_code: String::new(),
            approval_code: String::new(),
            extra: String::new(),
        },
        ts: now(),
    })
}

fn merchant_row(id: &str, at: i64) -> MatchingCommand {
    MatchingCommand::ImportMerchantTransaction(ImportMerchantTransaction {
        batch: "costa-1".into(),
        transaction: MerchantTransaction {
            transaction_id: id.into(),
            merchant: "costa".into(),
            provider: "visa".into(),
            mids: vec!["M1".into()],
            amount: 450,
            currency: "GBP".into(),
            at,
            source_zone: "Europe/London".into(),
            has_time: true,
            card_token: String::new(),
            first_six: String::new(),
            last_four: String::new(),
            auth_code: String::new(),
            extra: String::new(),
        },
        ts: now(),
    })
}

fn keyed(commands: Vec<MatchingCommand>) -> Vec<(String, MatchingCommand)> {
    commands.into_iter().map(|c| (Matching::entity_key(&c), c)).collect()
}

/// The sandbox, and the retry and matching domains as `clio up` runs them: matching's retry
/// tasks go to the retry stack's commands topic, whose worker calls the sandbox.
async fn stacks() -> (String, DomainStack, DomainStack) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let schemas = clio_testkit::tools::repo_root().join("schemas");
    let mut retry = DomainStack::start("retry", &RetryPlug::default(), &schemas).await.expect("the retry stack");
    let callback_base = retry.gateway_url.clone();
    let merchants = format!("{sandbox}/merchants/{{merchant}}/transactions");
    let worker =
        ["--retry-identity-url", &sandbox, "--retry-merchant-url", &merchants, "--retry-callback-base", &callback_base];
    retry.spawn_workers(&worker).expect("worker");
    let retry_commands = retry.topics.commands.clone();
    let matching = DomainStack::start_with("matching", &MatchingPlug::default(), &schemas, |mut config| {
        config.foreign_topics.insert("retry.commands".into(), retry_commands);
        config
    })
    .await
    .expect("the matching stack");
    (sandbox, retry, matching)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_are_identified_looked_up_and_matched_across_both_domains() {
    let (sandbox, retry, matching) = stacks().await;

    let t = now();
    let commands = keyed(vec![
        onboard("M1"),
        merchant_row("r1", t + 20_000_000),
        auth("v1", "M1", "tok-0001", t),
        auth("v2", "M1", "none-2", t),
        auth("v3", "M9", "tok-0003", t),
    ]);
    let (kafka, codec, topic) = (&matching.env.kafka, &matching.codec, &matching.topics.commands);
    produce(kafka, codec, topic, &commands).await;

    let pool = &matching.env.pool;
    let schema = matching.home().schema();
    let status = |id: &str| {
        let sql = format!(
            r#"SELECT status, coalesce(reason, '') FROM "{schema}".payment_transactions WHERE transaction_id = $1"#
        );
        let id = id.to_string();
        async move { sqlx::query_as::<_, (String, String)>(&sql).bind(id).fetch_optional(pool).await.ok().flatten() }
    };
    let settled = eventually(90, async || {
        status("v1").await.is_some_and(|(s, _)| s == "MATCHED")
            && status("v2").await.is_some_and(|(s, _)| s == "NO_IDENTITY")
            && status("v3").await.is_some_and(|(s, _)| s == "UNIDENTIFIED")
    })
    .await;
    assert!(settled, "v1 {:?}, v2 {:?}, v3 {:?}", status("v1").await, status("v2").await, status("v3").await);
    assert_eq!(status("v2").await.map(|(_, reason)| reason).as_deref(), Some("the card holder has no loyalty account"));

    let sql = format!(r#"SELECT matching_type, merchant_transaction_id, scheme_account_id FROM "{schema}".matches"#);
    let matches: Vec<(String, String, String)> = sqlx::query_as(&sql).fetch_all(pool).await.expect("matches");
    assert_eq!(matches.len(), 1, "{matches:?}");
    assert_eq!((matches[0].0.as_str(), matches[0].1.as_str()), ("LOYALTY", "r1"));
    assert!(!matches[0].2.is_empty(), "the card holder's account, from the identity service");
    let sql = format!(r#"SELECT status FROM "{schema}".scheme_transactions WHERE transaction_id = 'r1'"#);
    let row: (String,) = sqlx::query_as(&sql).fetch_one(pool).await.expect("the merchant row");
    assert_eq!(row.0, "MATCHED");

    // The match is exported to Costa through a retry task, under its match id.
    let match_id = clio_matching::settlement::sha256_hex(&visa_settlement_key("v1").expect("an id"));
    let export_status = async || {
        let sql = format!(r#"SELECT status FROM "{schema}".exports WHERE match_id = $1"#);
        sqlx::query_as::<_, (String,)>(&sql).bind(&match_id).fetch_optional(pool).await.ok().flatten().map(|(s,)| s)
    };
    assert!(
        eventually(90, async || export_status().await.as_deref() == Some("SENT")).await,
        "{:?}",
        export_status().await
    );
    let received: serde_json::Value = reqwest::get(format!("{sandbox}/merchants/costa/transactions"))
        .await
        .expect("the sandbox")
        .json()
        .await
        .expect("JSON");
    assert_eq!(received["by_id"][&match_id], 1, "{received}");
    assert_eq!(received["received"][0]["export"]["transaction_id"], "r1");

    // Onboarding the unknown MID identifies the payment that waited for it; a repeated import
    // is a visible duplicate.
    produce(kafka, codec, topic, &keyed(vec![onboard("M9"), auth("v1", "M1", "tok-0001", t)])).await;
    let found = eventually(90, async || {
        let duplicate =
            format!(r#"SELECT count(*) FROM "{schema}".ignored WHERE kind = 'DUPLICATE' AND transaction_id = 'v1'"#);
        let duplicates: (i64,) = sqlx::query_as(&duplicate).fetch_one(pool).await.unwrap_or((0,));
        status("v3").await.is_some_and(|(s, _)| s == "PENDING") && duplicates.0 == 1
    })
    .await;
    assert!(found, "v3 {:?}", status("v3").await);
    let waiting: (i64,) = sqlx::query_as(&format!(r#"SELECT count(*) FROM "{schema}".unidentified"#))
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(waiting.0, 0, "nothing waits for a MID any more");

    // An operator forces v3, pending, onto a merchant row of another amount.
    let mut far = merchant_row("r9", t + 7_200_000_000);
    if let MatchingCommand::ImportMerchantTransaction(import) = &mut far {
        import.transaction.amount = 999;
    }
    produce(kafka, codec, topic, &keyed(vec![far])).await;
    let row_pending = async || {
        let sql = format!(r#"SELECT status FROM "{schema}".scheme_transactions WHERE transaction_id = 'r9'"#);
        sqlx::query_as::<_, (String,)>(&sql)
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
            .is_some_and(|(s,)| s == "PENDING")
    };
    assert!(eventually(60, row_pending).await, "the far row is pending");
    let force = async |payment: &str, row: &str| {
        let payment_key = format!("payment:{}", visa_settlement_key(payment).expect("an id"));
        let body = serde_json::json!({"payment_key": payment_key, "merchant_transaction_id": row});
        let url = format!("{}/v1/matching/force-match", matching.gateway_url);
        reqwest::Client::new().post(url).json(&body).send().await.expect("the gateway")
    };
    let refused = force("v1", "r9").await;
    assert_eq!(refused.status(), 409, "v1 is matched already");
    let refused: serde_json::Value = refused.json().await.expect("the reason");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("is MATCHED, not pending")), "{refused}");
    assert_eq!(force("v3", "r-none").await.status(), 404);
    assert_eq!(force("v3", "r9").await.status(), 202);
    let forced = eventually(60, async || {
        let sql = format!(r#"SELECT count(*) FROM "{schema}".matches WHERE matching_type = 'FORCED' AND merchant_transaction_id = 'r9'"#);
        sqlx::query_as::<_, (i64,)>(&sql).fetch_one(pool).await.is_ok_and(|(n,)| n == 1)
    })
    .await;
    assert!(forced, "the forced match is in the read model");

    // SquareMeal takes the auth and the settlement of a purchase as they come, under one id;
    // Stonegate takes a payment still pending days after its date, unmatched.
    let four_days_ago = t - 4 * 86_400_000_000;
    let commands = keyed(vec![
        onboard_at("SQ1", "squaremeal"),
        onboard_at("SG1", "stonegate"),
        visa_payment("AUTH", "sq-1", "SQ1", "tok-0005", t),
        visa_payment("SETTLED", "sq-1", "SQ1", "tok-0005", t),
        auth("sg-1", "SG1", "tok-0006", four_days_ago),
    ]);
    produce(kafka, codec, topic, &commands).await;
    let received = async |merchant: &str| -> serde_json::Value {
        let url = format!("{sandbox}/merchants/{merchant}/transactions");
        reqwest::get(url).await.expect("the sandbox").json().await.expect("JSON")
    };
    let purchase = clio_matching::settlement::sha256_hex(&visa_settlement_key("sq-1").expect("an id"));
    let sent = eventually(90, async || {
        received("squaremeal").await["by_id"][&purchase] == 2
            && received("stonegate-unmatched").await["received"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    assert!(sent, "{} {}", received("squaremeal").await, received("stonegate-unmatched").await);
    let squaremeal = received("squaremeal").await;
    let feeds: Vec<&str> =
        squaremeal["received"].as_array().into_iter().flatten().filter_map(|r| r["export"]["feed"].as_str()).collect();
    assert_eq!(feeds.len(), 2, "{squaremeal}");
    assert!(feeds.contains(&"AUTH") && feeds.contains(&"SETTLED"), "{squaremeal}");
    let unmatched = received("stonegate-unmatched").await;
    assert_eq!(unmatched["received"][0]["export"]["payment_transaction_id"], "sg-1", "{unmatched}");
    let get = async |path: &str| -> serde_json::Value {
        let url = format!("{}{path}", matching.gateway_url);
        reqwest::get(url).await.expect("the gateway").json().await.expect("JSON")
    };
    let streamed = eventually(60, async || {
        get("/v1/matching/streamed?merchant=squaremeal").await["items"].as_array().map(Vec::len) == Some(2)
    })
    .await;
    assert!(streamed, "{}", get("/v1/matching/streamed?merchant=squaremeal").await);
    let exported = eventually(60, async || {
        let exports = get("/v1/matching/exports?merchant=stonegate-unmatched&status=SENT").await;
        exports["items"][0]["export_of"] == "UNMATCHED"
    })
    .await;
    assert!(exported, "{}", get("/v1/matching/exports?merchant=stonegate-unmatched").await);
    assert_eq!(status("sg-1").await.map(|(s, _)| s).as_deref(), Some("EXPORTED_UNMATCHED"));

    matching.stop().await;
    retry.stop().await;
}

/// Runs `clio matching import` as the binary parses it, against the stack's home.
async fn import(matching: &DomainStack, feed: &str, file: &std::path::Path) -> anyhow::Result<()> {
    use clio_plug::Domain as _;
    let plug = MatchingPlug::default();
    let schema = matching.home().schema();
    let database_url = clio_testkit::harness::test_database_url();
    let args = [
        "matching",
        "import",
        "--quiet",
        "--feed",
        feed,
        file.to_str().expect("a UTF-8 path"),
        "--brokers",
        &matching.env.kafka.brokers,
        "--registry-url",
        &matching.env.registry_url,
        "--database-url",
        &database_url,
        "--schema",
        &schema,
        "--topic",
        &matching.topics.commands,
    ];
    let matches = plug.command().expect("clio matching").try_get_matches_from(args).expect("the arguments parse");
    plug.run_command(&matches).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_files_import_through_the_cli_and_a_second_import_of_a_file_changes_nothing() {
    let (_sandbox, retry, matching) = stacks().await;
    let (pool, schema) = (&matching.env.pool, matching.home().schema());
    // MIDs through the gateway: a file with a bad row onboards nothing and names the row.
    let http = reqwest::Client::new();
    let mids_url = format!("{}/v1/matching/mids", matching.gateway_url);
    let good = "visa,SG1,PRIMARY,stonegate,pub-7,,Stonegate,The Crown,AB1 2CD,A\n";
    let bad = format!("{good}visa,SG2,PRIMARY,stonegate,pub-7,,Stonegate,,AB1 2CD,A\n");
    let refused = http.post(format!("{mids_url}/csv")).body(bad).send().await.expect("the gateway");
    assert_eq!(refused.status(), 400);
    let refused: serde_json::Value = refused.json().await.expect("the refusal");
    assert_eq!(refused["rows"][0]["line"], 2, "{refused}");
    let accepted = http.post(format!("{mids_url}/csv")).body(good).send().await.expect("the gateway");
    assert_eq!(accepted.status(), 202);
    let mid_rows = async |location: &str| {
        let sql = format!(r#"SELECT count(*) FROM "{schema}".mids WHERE location_id = $1"#);
        sqlx::query_as::<_, (i64,)>(&sql).bind(location).fetch_one(pool).await.map(|(n,)| n).unwrap_or(0)
    };
    assert!(eventually(60, async || mid_rows("pub-7").await == 1).await, "the MID reaches the read model");
    let unknown = http.delete(format!("{mids_url}/visa/PRIMARY/SG9")).send().await.expect("the gateway");
    assert_eq!(unknown.status(), 404, "an unknown MID");

    let now = chrono::Utc::now().to_rfc3339();
    let dir = std::env::temp_dir().join(format!("clio-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let visa = dir.join("visa-auth.json");
    let element = |k: &str, v: &str| format!(r#"{{"Key": "Transaction.{k}", "Value": "{v}"}}"#);
    let message = |id: &str| {
        let mut elements = vec![
            element("MerchantCardAcceptorId", "SG1"),
            element("TimeStampYYMMDD", &now),
            element("TransactionAmount", "12.50"),
            element("AuthCode", "A1B2C3"),
        ];
        if !id.is_empty() {
            elements.push(element("VipTransactionId", id));
        }
        format!(r#"{{"ExternalUserId": "tok-0042", "MessageElementsCollection": [{}]}}"#, elements.join(", "))
    };
    std::fs::write(&visa, format!("{}\n{}\n", message("vip-1"), message(""))).expect("the visa file");
    let stonegate = dir.join("stonegate.json");
    let row = |id: &str, location: &str| {
        format!(
            r#"{{"transaction_id": "{id}", "payment_card_type": "visa", "payment_card_first_six": "454545", "payment_card_last_four": "4242", "amount": "12.50", "currency_code": "GBP", "auth_code": "A1B2C3", "date": "{now}", "retailer_location_id": "{location}", "metadata": {{"AccountID": "acc-1"}}}}"#
        )
    };
    std::fs::write(&stonegate, format!("[{},\n{}]", row("sg-1", "pub-7"), row("sg-2", "pub-8")))
        .expect("the stonegate file");

    let refused = import(&matching, "visa-auth", &visa).await.expect_err("a row without an id is refused");
    assert!(refused.to_string().contains("1 of the file's rows were refused"), "{refused:#}");
    let refused = import(&matching, "stonegate", &stonegate).await.expect_err("an unknown location is refused");
    assert!(refused.to_string().contains("1 of the file's rows"), "{refused:#}");
    let wrong =
        import(&matching, "amex-settlement", &stonegate).await.expect_err("another feed's file is refused whole");
    assert!(format!("{wrong:#}").contains("its first record has no transactionId"), "{wrong:#}");

    let matched = async || {
        let sql = format!(r#"SELECT count(*) FROM "{schema}".matches WHERE payment_transaction_id = 'vip-1'"#);
        sqlx::query_as::<_, (i64,)>(&sql).fetch_one(pool).await.map(|(n,)| n).unwrap_or(0)
    };
    assert!(eventually(90, async || matched().await == 1).await, "the imported payment matches the imported row");
    // Stonegate holds its exports until 10:30 London time: the export waits, visible.
    let held = async || {
        let sql =
            format!(r#"SELECT status, not_before IS NOT NULL FROM "{schema}".exports WHERE merchant = 'stonegate'"#);
        sqlx::query_as::<_, (String, bool)>(&sql).fetch_optional(pool).await.ok().flatten()
    };
    assert!(eventually(60, async || held().await == Some(("HELD".into(), true))).await, "{:?}", held().await);
    let get = async |path: &str| -> serde_json::Value {
        let response = http.get(format!("{}{path}", matching.gateway_url)).send().await.expect("the gateway");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("JSON")
    };
    let matches = get("/v1/matching/matches?merchant=stonegate&status=LOYALTY").await;
    assert_eq!(matches["items"][0]["payment_transaction_id"], "vip-1", "{matches}");
    let pending = get("/v1/matching/merchant-transactions?merchant=stonegate&status=PENDING").await;
    assert_eq!(pending["items"].as_array().map(Vec::len), Some(0), "the one row matched: {pending}");
    let counters = get("/v1/matching/counters?merchant=stonegate").await;
    let count = |kind: &str, status: &str| {
        counters["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["kind"] == kind && c["status"] == status)
            .map(|c| c["count"].clone())
    };
    assert_eq!(
        (count("match", "LOYALTY"), count("payment", "MATCHED")),
        (Some(1.into()), Some(1.into())),
        "{counters}"
    );
    let bad = http
        .get(format!("{}/v1/matching/payments?from=yesterday", matching.gateway_url))
        .send()
        .await
        .expect("the gateway");
    assert_eq!(bad.status(), 400, "a time that is not RFC 3339");

    // The same file again, through the gateway this time.
    let url = |feed: &str| format!("{}/v1/matching/imports/{feed}", matching.gateway_url);
    let response =
        http.post(url("visa-auth")).body(std::fs::read(&visa).expect("the file")).send().await.expect("the gateway");
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.expect("a report");
    assert_eq!((report["sent"].as_u64(), report["refused"][0]["line"].as_u64()), (Some(1), Some(2)), "{report}");
    let wrong = http
        .post(url("visa-auth"))
        .body(std::fs::read(&stonegate).expect("the file"))
        .send()
        .await
        .expect("the gateway");
    assert_eq!(wrong.status(), 422, "another feed's file is refused whole");
    let unknown = http.post(url("visa")).body("[]").send().await.expect("the gateway");
    assert_eq!(unknown.status(), 404);
    let mut with_nul = std::fs::read(&visa).expect("the file");
    with_nul.extend_from_slice(b"\0");
    let nul = http.post(url("visa-auth")).body(with_nul).send().await.expect("the gateway");
    assert_eq!(nul.status(), 400, "a NUL byte, which no read model can hold, is refused whole");
    let duplicate = eventually(60, async || {
        let sql =
            format!(r#"SELECT count(*) FROM "{schema}".ignored WHERE kind = 'DUPLICATE' AND transaction_id = 'vip-1'"#);
        sqlx::query_as::<_, (i64,)>(&sql).fetch_one(pool).await.is_ok_and(|(n,)| n == 1)
    })
    .await;
    assert!(duplicate, "the second import of the payment is a visible duplicate");
    assert_eq!(matched().await, 1, "and matches nothing again");

    // The demo day `clio seed` and `make up` send: Costa's and Wasabi's purchases match, except
    // those without a merchant row and the one at a MID nobody onboarded; each match is sent.
    let client = clio_matching_plug::client::MatchingClient {
        producer: clio_runtime::kafka::producer(&matching.env.kafka).expect("a producer"),
        codec: matching.codec.clone(),
        commands_topic: matching.topics.commands.clone(),
    };
    let day = clio_matching_plug::demo::DemoDay { date: chrono::Utc::now().date_naive(), purchases: 5 };
    let report = clio_matching_plug::demo::seed(&client, &day, |_, _| {}).await.expect("the demo day");
    assert_eq!(
        (report.payments, report.merchant_transactions),
        (13, 8),
        "5 + 3 settlements of Visa, 5 Mastercard; 4 + 4 rows"
    );
    let demo_state = async || {
        let sql = format!(
            r#"SELECT (SELECT count(*) FROM "{schema}".matches WHERE merchant IN ('costa', 'wasabi-club')),
                      (SELECT count(*) FROM "{schema}".exports WHERE merchant IN ('costa', 'wasabi-club') AND status = 'SENT'),
                      (SELECT count(*) FROM "{schema}".unidentified WHERE primary_mid = 'costa-demo-unknown')"#
        );
        sqlx::query_as::<_, (i64, i64, i64)>(&sql).fetch_one(pool).await.unwrap_or_default()
    };
    assert!(eventually(90, async || demo_state().await == (7, 7, 1)).await, "{:?}", demo_state().await);
    let _ = std::fs::remove_dir_all(&dir);
    matching.stop().await;
    retry.stop().await;
}
