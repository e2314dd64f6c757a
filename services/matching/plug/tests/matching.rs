//! Matching end to end, with the retry domain beside it as `clio up` runs them: commands on
//! the log, decided by the matching processor, card holders looked up by the retry worker in
//! the sandbox's identity service, the outcome in the read models.

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
    MatchingCommand::OnboardMid(OnboardMid {
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        identifier: identifier.into(),
        merchant: "costa".into(),
        location: "1 High Street".into(),
        postcode: "AB1 2CD".into(),
        location_id: String::new(),
        merchant_internal_id: String::new(),
        by: "test".into(),
        ts: now(),
    })
}

fn auth(id: &str, mid: &str, token: &str, at: i64) -> MatchingCommand {
    MatchingCommand::ImportPayment(ImportPayment {
        batch: "visa-auth-1".into(),
        transaction: PaymentTransaction {
            transaction_id: id.into(),
            feed: "AUTH".into(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_are_identified_looked_up_and_matched_across_both_domains() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let sandbox = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(clio_sandbox::serve(listener, tokio_util::sync::CancellationToken::new()));
    let schemas = clio_testkit::tools::repo_root().join("schemas");
    let mut retry = DomainStack::start("retry", &RetryPlug::default(), &schemas).await.expect("the retry stack");
    let callback_base = retry.gateway_url.clone();
    retry.spawn_workers(&["--retry-identity-url", &sandbox, "--retry-callback-base", &callback_base]).expect("worker");
    let retry_commands = retry.topics.commands.clone();
    let matching = DomainStack::start_with("matching", &MatchingPlug::default(), &schemas, |mut config| {
        config.foreign_topics.insert("retry.commands".into(), retry_commands);
        config
    })
    .await
    .expect("the matching stack");

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

    matching.stop().await;
    retry.stop().await;
}
