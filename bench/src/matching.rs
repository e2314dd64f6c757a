//! The matching domain's figures:
//! - throughput from import to match visible in `matching.matches`: a day of Visa auths and
//!   the merchant rows that match them, at every loyalty merchant's stores, through the
//!   broker, the matching processor and its projector (this process); the card holders'
//!   look-ups are answered at once by the bench itself, standing in for the retry domain and
//!   the identity service, so the figure is matching's. Beside it, the seed's approach on the
//!   same data: both sides inserted into Postgres, then the candidate query run per payment
//!   and the match written, by as many workers as there are cores;
//! - the pure core's memory per million pending payments (each with its payment entity and
//!   its place in a bucket), as the processor holds them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clio_aggregate::{Aggregate as _, Cause, Context};
use clio_matching::entity::{Entity, Matching};
use clio_matching::messages::*;
use clio_matching::profile::{Kind, Profiles};
use clio_matching::settlement::visa_settlement_key;
use clio_matching_plug::client::MatchingClient;
use clio_matching_projection::MatchingModel;
use clio_plug::Home;
use clio_projection::projector::{self, ProjectorConfig};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use clio_runtime::processor;
use clio_runtime::settings::KafkaSettings;
use futures::StreamExt as _;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Stores per merchant, each a Visa MID of its own.
const STORES: usize = 20;
const DAY_MICROS: i64 = 86_400_000_000;

/// The matching run's figures.
pub struct MatchingRun {
    pub merchants: usize,
    pub payments: usize,
    pub rows: usize,
    pub clio_seconds: f64,
    pub baseline_seconds: f64,
    pub baseline_workers: usize,
    pub pending: usize,
    pub rss_growth_bytes: i64,
}

/// One purchase of the day: the payment and the merchant's row for it.
struct Purchase {
    merchant: String,
    mid: String,
    id: String,
    amount: i64,
    at: i64,
    auth_code: String,
}

/// The loyalty merchants (every one with a profile): the day's purchases go round them.
fn merchants() -> Vec<String> {
    let profiles = Profiles::builtin();
    profiles
        .merchants()
        .filter(|m| profiles.get(m).is_some_and(|p| p.kind == Kind::Loyalty))
        .map(String::from)
        .collect()
}

/// `count` purchases spread over the day starting at `day`, round the merchants and their
/// stores, at amounts from £1 to £50 (so buckets hold many rows), each with its auth code.
fn purchases(count: usize, day: i64) -> Vec<Purchase> {
    let merchants = merchants();
    (0..count)
        .map(|n| {
            let merchant = &merchants[n % merchants.len()];
            Purchase {
                merchant: merchant.clone(),
                mid: format!("{merchant}-{}", (n / merchants.len()) % STORES),
                id: format!("bench-{n}"),
                amount: 100 + (n as i64 * 7_919) % 4_900,
                // The merchant's row comes 30 s later, still on the payment's day.
                at: day + (n as i64 * (DAY_MICROS - 60_000_000)) / count as i64,
                auth_code: format!("{:06}", n % 1_000_000),
            }
        })
        .collect()
}

fn payment(p: &Purchase) -> anyhow::Result<PaymentTransaction> {
    Ok(PaymentTransaction {
        transaction_id: p.id.clone(),
        feed: "AUTH".into(),
        provider: "visa".into(),
        settlement_key: visa_settlement_key(&p.id)?,
        primary_mid: p.mid.clone(),
        secondary_mid: String::new(),
        psimi: String::new(),
        amount: p.amount,
        currency: "GBP".into(),
        at: p.at,
        source_zone: "GMT".into(),
        has_time: true,
        card_token: format!("tok-{}", p.id),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: p.auth_code.clone(),
        approval_code: String::new(),
        extra: String::new(),
    })
}

fn merchant_row(p: &Purchase) -> MerchantTransaction {
    MerchantTransaction {
        transaction_id: format!("{}-row", p.id),
        merchant: p.merchant.clone(),
        provider: "visa".into(),
        mids: vec![p.mid.clone()],
        amount: p.amount,
        currency: "GBP".into(),
        at: p.at + 30_000_000,
        source_zone: "Europe/London".into(),
        has_time: true,
        card_token: String::new(),
        first_six: String::new(),
        last_four: String::new(),
        auth_code: p.auth_code.clone(),
        extra: String::new(),
    }
}

fn onboard(merchant: &str, mid: &str) -> MatchingCommand {
    MatchingCommand::OnboardMid(OnboardMid {
        provider: "visa".into(),
        mid_type: "PRIMARY".into(),
        identifier: mid.into(),
        merchant: merchant.into(),
        location: "1 High Street".into(),
        postcode: "AB1 2CD".into(),
        location_id: String::new(),
        merchant_internal_id: String::new(),
        by: "bench".into(),
        ts: now_micros(),
    })
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The identity service's answer for the card holder of `task`.
fn identity_found(task: &CreateTask) -> MatchingCommand {
    let result = serde_json::json!({
        "scheme_account_id": format!("acc-{}", task.reply_key.len()),
        "user_id": "bench", "loyalty_id": "bench", "first_six": "424242", "last_four": "4242",
    });
    MatchingCommand::TaskOutcome(TaskOutcome {
        task_id: task.task_id.clone(),
        idempotency_key: task.idempotency_key.clone(),
        status: "SUCCESS".into(),
        result: result.to_string(),
        error_class: String::new(),
        reason: String::new(),
        attempts: 1,
        ts: now_micros(),
    })
}

pub async fn figures(
    kafka: &KafkaSettings,
    pool: &PgPool,
    registry_url: &str,
    prefix: &str,
    transactions: usize,
) -> anyhow::Result<MatchingRun> {
    let day = (now_micros() / DAY_MICROS - 1) * DAY_MICROS;
    let day_of = purchases(transactions / 2, day);
    let clio_seconds = clio(kafka, pool, registry_url, prefix, &day_of).await?;
    eprintln!("  clio: {} transactions in {clio_seconds:.1} s", 2 * day_of.len());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!("  seed's approach: the same day into Postgres, the candidate query per payment, {workers} workers");
    let baseline_seconds = seed_approach(pool, &day_of, day, workers).await?;
    let pending = 1_000_000;
    eprintln!("  core memory: {pending} pending payments");
    let rss_growth_bytes = pending_memory(pending, day)?;
    Ok(MatchingRun {
        merchants: merchants().len(),
        payments: day_of.len(),
        rows: day_of.len(),
        clio_seconds,
        baseline_seconds,
        baseline_workers: workers,
        pending,
        rss_growth_bytes,
    })
}

/// Clio: the MIDs onboarded first; then the clock runs from the first payment produced to the
/// last match in the read model.
async fn clio(
    kafka: &KafkaSettings,
    pool: &PgPool,
    registry_url: &str,
    prefix: &str,
    day_of: &[Purchase],
) -> anyhow::Result<f64> {
    let catalogue = Catalogue::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"))?;
    let home = Home::prefixed("matching", &format!("{prefix}-matching"));
    let retry = Home::prefixed("retry", &format!("{prefix}-matching-retry"));
    clio_plug::provision::provision(kafka, registry_url, &catalogue, &home).await?;
    clio_plug::provision::provision(kafka, registry_url, &catalogue, &retry).await?;
    let codec = Codec::new(registry_url);
    let token = CancellationToken::new();
    let processing = {
        let mut config = home.processor_config();
        config.foreign_topics.insert("retry.commands".into(), retry.topic("commands"));
        let (kafka, codec, token) = (kafka.clone(), codec.clone(), token.clone());
        tokio::spawn(async move { processor::run::<Matching>(&kafka, codec, config, token).await.map(|_| ()) })
    };
    let schema = home.schema();
    let projecting = {
        let mut config = ProjectorConfig::new(&schema, &[&home.topic("events")]);
        config.dead_letters = home.dead_letters().to_string();
        config.group_id = format!("{prefix}-matching-projector");
        let (kafka, pool, codec, token) = (kafka.clone(), pool.clone(), codec.clone(), token.clone());
        tokio::spawn(async move { projector::run(&kafka, pool, codec, MatchingModel, config, token).await.map(|_| ()) })
    };
    let client = MatchingClient {
        producer: kafka::producer(kafka)?,
        codec: codec.clone(),
        commands_topic: home.topic("commands"),
    };
    let answered = Arc::new(AtomicUsize::new(0));
    let answering = tokio::spawn(answer_identities(
        kafka.clone(),
        codec.clone(),
        retry.topic("commands"),
        client.clone(),
        answered.clone(),
        token.clone(),
    ));
    let outcome = async {
        let mids: Vec<(&str, &str)> = day_of.iter().map(|p| (p.merchant.as_str(), p.mid.as_str())).collect();
        let mut mids = mids;
        mids.sort_unstable();
        mids.dedup();
        let onboarding: Vec<MatchingCommand> = mids.iter().map(|(m, mid)| onboard(m, mid)).collect();
        client.send_all(&onboarding, |_| {}).await?;
        let count_sql = |table: &str| format!(r#"SELECT count(*) FROM "{schema}".{table}"#);
        wait_for_count(pool, &count_sql("mids"), mids.len(), "MIDs onboarded", || {}).await?;

        eprintln!(
            "  clio: {} payments and {} merchant rows, import → match in the read model",
            day_of.len(),
            day_of.len()
        );
        let started = Instant::now();
        let payments = day_of
            .iter()
            .map(|p| {
                Ok(MatchingCommand::ImportPayment(ImportPayment {
                    batch: "bench-visa".into(),
                    transaction: payment(p)?,
                    ts: now_micros(),
                }))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        client.send_all(&payments, |_| {}).await?;
        let rows: Vec<MatchingCommand> = day_of
            .iter()
            .map(|p| {
                MatchingCommand::ImportMerchantTransaction(ImportMerchantTransaction {
                    batch: "bench-merchant".into(),
                    transaction: merchant_row(p),
                    ts: now_micros(),
                })
            })
            .collect();
        client.send_all(&rows, |_| {}).await?;
        let progress = || eprint!("\r    {} identities answered", answered.load(Ordering::Relaxed));
        wait_for_count(pool, &count_sql("matches"), day_of.len(), "matches", progress).await?;
        eprintln!();
        Ok::<_, anyhow::Error>(started.elapsed().as_secs_f64())
    }
    .await;
    token.cancel();
    processing.await??;
    projecting.await??;
    answering.await??;
    crate::end_to_end::drop_read_model(pool, &schema).await?;
    outcome
}

/// Polls `sql` (a count) until it reaches `target`, calling `progress` on the way.
async fn wait_for_count(
    pool: &PgPool,
    sql: &str,
    target: usize,
    what: &str,
    progress: impl Fn(),
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let count: i64 = sqlx::query_scalar(sql).fetch_optional(pool).await.ok().flatten().unwrap_or(0);
        if count as usize >= target {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "only {count} of {target} {what} after 15 minutes"
        );
        progress();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stands in for the retry domain and the identity service: every identity look-up the
/// processor asks for is answered at once, found; exports are left unsent.
async fn answer_identities(
    kafka: KafkaSettings,
    codec: Codec,
    topic: String,
    client: MatchingClient,
    answered: Arc<AtomicUsize>,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer = kafka::consumer_config(&kafka, &format!("{topic}-bench-identity"))?.create()?;
    consumer.subscribe(&[&topic])?;
    let mut stream = consumer.stream();
    let mut batch = Vec::new();
    loop {
        let message = tokio::select! {
            () = token.cancelled() => return Ok(()),
            message = tokio::time::timeout(Duration::from_millis(20), stream.next()) => message,
        };
        match message {
            Ok(Some(message)) => {
                let message = message?;
                let Some(payload) = message.payload() else { continue };
                if let Ok(clio_retry::messages::RetryCommand::CreateTask(task)) =
                    codec.decode_as::<clio_retry::messages::RetryCommand>(payload).await
                    && task.task_type == "matching_identity"
                {
                    batch.push(identity_found(&task));
                }
                if batch.len() < 1_000 {
                    continue;
                }
            }
            Ok(None) => return Ok(()),
            Err(_) => {}
        }
        if !batch.is_empty() {
            client.send_all(&batch, |_| {}).await.context("answering identity look-ups")?;
            answered.fetch_add(batch.len(), Ordering::Relaxed);
            batch.clear();
        }
    }
}

/// The seed's approach on the same day: both sides inserted (a batch per 1,000, as its file
/// agents did), then each payment's candidate query (`mid = ANY(mids)`, pending, 14 days by
/// date, equal amount, the provider, the same auth code on the payment's day), and the match
/// written (both sides MATCHED, a matched row) in one transaction, `workers` at once.
async fn seed_approach(pool: &PgPool, day_of: &[Purchase], day: i64, workers: usize) -> anyhow::Result<f64> {
    sqlx::raw_sql(include_str!("matching_seed.sql")).execute(pool).await.context("the seed's tables")?;
    let started = Instant::now();
    for chunk in day_of.chunks(1_000) {
        let at: Vec<chrono::DateTime<chrono::Utc>> = chunk.iter().map(|p| micros(p.at)).collect();
        let ids: Vec<&str> = chunk.iter().map(|p| p.id.as_str()).collect();
        let mids: Vec<&str> = chunk.iter().map(|p| p.mid.as_str()).collect();
        let amounts: Vec<i64> = chunk.iter().map(|p| p.amount).collect();
        let codes: Vec<&str> = chunk.iter().map(|p| p.auth_code.as_str()).collect();
        let merchants: Vec<&str> = chunk.iter().map(|p| p.merchant.as_str()).collect();
        sqlx::query(
            "INSERT INTO bench_seed.scheme_transaction (merchant, transaction_id, mids, spend_amount, transaction_date, auth_code, provider)
             SELECT m, id || '-row', ARRAY[mid], amount, at + interval '30 seconds', code, 'visa'
               FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[]) AS t(m, id, mid, amount, at, code)",
        )
        .bind(&merchants).bind(&ids).bind(&mids).bind(&amounts).bind(&at).bind(&codes)
        .execute(pool)
        .await?;
        sqlx::query(
            "INSERT INTO bench_seed.payment_transaction (transaction_id, mid, spend_amount, transaction_date, auth_code, provider)
             SELECT id, mid, amount, at, code, 'visa'
               FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) AS t(id, mid, amount, at, code)",
        )
        .bind(&ids).bind(&mids).bind(&amounts).bind(&at).bind(&codes)
        .execute(pool)
        .await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let total = day_of.len();
    let mut running = Vec::new();
    for _ in 0..workers {
        let (pool, next) = (pool.clone(), next.clone());
        running.push(tokio::spawn(async move {
            let mut matched = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(matched);
                }
                matched += match_one(&pool, &format!("bench-{n}"), day).await?;
                if n % 5_000 == 0 {
                    eprint!("\r    {n}/{total} payments");
                }
            }
        }));
    }
    let mut matched = 0;
    for worker in running {
        matched += worker.await??;
    }
    eprintln!();
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(matched == total, "the seed's approach matched {matched} of {total}");
    sqlx::raw_sql("DROP SCHEMA bench_seed CASCADE").execute(pool).await?;
    Ok(seconds)
}

fn micros(at: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(at).unwrap_or_default()
}

/// One payment through the seed's matching job: load it, find its candidates, match one.
async fn match_one(pool: &PgPool, id: &str, day: i64) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let (payment_id, mid, amount, at, code): (i64, String, i64, chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as(
            "SELECT id, mid, spend_amount, transaction_date, auth_code FROM bench_seed.payment_transaction
          WHERE transaction_id = $1 AND status = 'PENDING' FOR UPDATE",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let since = micros(day - 14 * DAY_MICROS);
    let day_start = micros(at.timestamp_micros().div_euclid(DAY_MICROS) * DAY_MICROS);
    let candidates: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM bench_seed.scheme_transaction
          WHERE $1 = ANY(mids) AND status = 'PENDING' AND transaction_date >= $2 AND spend_amount = $3
            AND provider = 'visa' AND auth_code = $4
            AND transaction_date BETWEEN $5 AND $5 + interval '1 day'
          FOR UPDATE",
    )
    .bind(&mid)
    .bind(since)
    .bind(amount)
    .bind(&code)
    .bind(day_start)
    .fetch_all(&mut *tx)
    .await?;
    let [(scheme_id,)] = candidates[..] else {
        tx.commit().await?;
        return Ok(0);
    };
    sqlx::query("UPDATE bench_seed.scheme_transaction SET status = 'MATCHED' WHERE id = $1")
        .bind(scheme_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE bench_seed.payment_transaction SET status = 'MATCHED' WHERE id = $1")
        .bind(payment_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO bench_seed.matched_transaction (payment_transaction_id, scheme_transaction_id) VALUES ($1, $2)",
    )
    .bind(payment_id)
    .bind(scheme_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(1)
}

/// The growth of this process's memory while the pure core holds `count` pending payments (no
/// merchant rows: each waits in its bucket), every entity in a map as the processor keeps them.
fn pending_memory(count: usize, day: i64) -> anyhow::Result<i64> {
    let before = crate::retry::rss_bytes()?;
    let day_of = purchases(count, day);
    let mut entities: HashMap<String, Entity> = HashMap::new();
    let mut offset = 0i64;
    let mut run = |entities: &mut HashMap<String, Entity>, first: MatchingCommand| -> Vec<CreateTask> {
        let mut asked = Vec::new();
        let mut queue = VecDeque::from([first]);
        while let Some(command) = queue.pop_front() {
            offset += 1;
            let key = Matching::entity_key(&command);
            let entity = entities.entry(key).or_default();
            let context = Context { now_micros: day + DAY_MICROS, cause: Cause::new("matching.commands", 0, offset) };
            let decision = Matching::decide(entity, &command, &context);
            for event in &decision.events {
                Matching::apply(entity, event);
            }
            for foreign in decision.foreign {
                if let Ok(task) = apache_avro::from_value::<CreateTask>(&foreign.value) {
                    asked.push(task);
                }
            }
            queue.extend(decision.commands.into_iter().map(|(_, command)| command));
        }
        asked
    };
    let mut mids: Vec<(String, String)> = day_of.iter().map(|p| (p.merchant.clone(), p.mid.clone())).collect();
    mids.sort_unstable();
    mids.dedup();
    for (merchant, mid) in &mids {
        run(&mut entities, onboard(merchant, mid));
    }
    for (n, p) in day_of.iter().enumerate() {
        let import =
            MatchingCommand::ImportPayment(ImportPayment { batch: "b".into(), transaction: payment(p)?, ts: 0 });
        for task in run(&mut entities, import) {
            run(&mut entities, identity_found(&task));
        }
        if n % 100_000 == 0 {
            eprint!("\r    {n}/{count} pending");
        }
    }
    eprintln!();
    let pending: usize = entities
        .values()
        .map(|e| match e {
            Entity::Bucket(b) => b.payments.len(),
            _ => 0,
        })
        .sum();
    anyhow::ensure!(pending == count, "{pending} of {count} payments pending");
    let growth = crate::retry::rss_bytes()? - before;
    drop(entities);
    Ok(growth)
}
