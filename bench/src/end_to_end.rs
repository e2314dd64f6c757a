//! The embedded stack end to end, and the two baselines it is judged against:
//! - the broker's ceiling: small records produced (with the processors' producer settings)
//!   and consumed back, records/s;
//! - `pgbench` TPC-B-like on the same Postgres for the same duration, transactions/s;
//! - Clio's ledger: two-phase transfers between seeded accounts, from the first PrepareTransfer
//!   produced to the last recipient's credit visible in the read model, transfers/s, with the
//!   records each transfer puts on the log and a throughput sample per second.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clio_cli::demo::{Demo, LedgerClient};
use clio_cli::ledger_scan::{LedgerTarget, send_commands};
use clio_ledger::messages::{FinalizeTransfer, PrepareTransfer};
use clio_ledger::{Ledger, LedgerCommand, rules};
use clio_ledger_projection::LedgerModel;
use clio_projection::projector::{self, ProjectorConfig};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use clio_runtime::processor::{self, ProcessorConfig, ProcessorTopics};
use clio_runtime::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Records/s of producing `count` small records and reading them back.
pub struct BrokerBaseline {
    pub produce_per_second: f64,
    pub consume_per_second: f64,
    /// Each record produced once and consumed once: count / (produce time + consume time).
    pub ceiling_per_second: f64,
}

pub async fn broker_baseline(kafka: &KafkaSettings, prefix: &str, count: usize) -> anyhow::Result<BrokerBaseline> {
    let topic = format!("{prefix}.raw");
    create_raw_topic(kafka, &topic).await?;
    let producer: FutureProducer = kafka::producer(kafka)?;
    let payload = [7u8; 100];
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(10_000);
    for n in 0..count {
        let key = format!("1/{}", n % 1_000);
        loop {
            let record = FutureRecord::<str, [u8]>::to(&topic).key(&key).payload(&payload);
            match producer.send_result(record) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                // The local queue is full: wait for what is in flight.
                Err((_, _)) => {
                    for delivery in futures::future::join_all(deliveries.drain(..)).await {
                        delivery?.map_err(|(error, _)| error)?;
                    }
                }
            }
        }
        if deliveries.len() >= 10_000 {
            for delivery in futures::future::join_all(deliveries.drain(..)).await {
                delivery?.map_err(|(error, _)| error)?;
            }
            eprint!("\r  broker: {:>8}/{count} produced", n + 1);
        }
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery?.map_err(|(error, _)| error)?;
    }
    let produced = started.elapsed();
    let (kafka, topic_name) = (kafka.clone(), topic.clone());
    let consumed = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let reader: BaseConsumer = kafka::reader(&kafka)?;
        let partitions = kafka::partition_count(&reader, &topic_name)?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(&topic_name, partition, Offset::Beginning)?;
        }
        let started = Instant::now();
        reader.assign(&assignment)?;
        let mut seen = 0usize;
        while seen < count {
            match reader.poll(Duration::from_secs(10)) {
                Some(Ok(_)) => seen += 1,
                Some(Err(error)) => return Err(error.into()),
                None => bail!("the broker stopped delivering after {seen} of {count} records"),
            }
        }
        Ok(started.elapsed())
    })
    .await??;
    eprintln!(
        "\r  broker: {count} produced in {:.1} s, consumed in {:.1} s",
        produced.as_secs_f64(),
        consumed.as_secs_f64()
    );
    Ok(BrokerBaseline {
        produce_per_second: count as f64 / produced.as_secs_f64(),
        consume_per_second: count as f64 / consumed.as_secs_f64(),
        ceiling_per_second: count as f64 / (produced + consumed).as_secs_f64(),
    })
}

async fn create_raw_topic(kafka: &KafkaSettings, name: &str) -> anyhow::Result<()> {
    let spec = clio_runtime::catalogue::TopicSpec {
        name: name.to_string(),
        description: "benchmark".into(),
        partitions: 4,
        cleanup_policy: clio_runtime::catalogue::CleanupPolicy::Delete,
        key: "n".into(),
        format: clio_runtime::catalogue::ValueFormat::Raw,
        values: Vec::new(),
        producers: Vec::new(),
        consumers: Vec::new(),
    };
    kafka::create_topics(kafka, &[&spec]).await.with_context(|| format!("creating {name}"))?;
    Ok(())
}

/// `pgbench` TPC-B-like on `database_url` (initialised at scale 10) for `seconds`: tps.
pub fn pgbench(database_url: &str, seconds: u64) -> anyhow::Result<f64> {
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let output = std::process::Command::new("pgbench")
            .args(args)
            .arg(database_url)
            .output()
            .context("running pgbench (Debian package postgresql-client)")?;
        if !output.status.success() {
            bail!("pgbench {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(&["-i", "-q", "-s", "10"])?;
    let duration = seconds.to_string();
    let out = run(&["-n", "-c", "4", "-j", "2", "-T", &duration])?;
    out.lines()
        .find_map(|line| line.strip_prefix("tps = ").and_then(|rest| rest.split_whitespace().next()?.parse().ok()))
        .with_context(|| format!("no tps line in pgbench's output:\n{out}"))
}

/// What the ledger run measured.
pub struct LedgerRun {
    pub transfers: usize,
    pub seconds: f64,
    /// Records on the commands, events and state topics per transfer.
    pub records_per_transfer: f64,
    /// Recipients credited in the read model, sampled once a second.
    pub credited_per_second: Vec<u64>,
}

/// The ledger's processor and projector in this process, on topics and a schema named
/// `prefix`; `accounts` seeded holders; `transfers` two-phase transfers between them.
pub async fn ledger(
    kafka: &KafkaSettings,
    pool: &PgPool,
    registry_url: &str,
    prefix: &str,
    accounts: i64,
    transfers: usize,
) -> anyhow::Result<LedgerRun> {
    let schema = prefix.replace(['.', '-'], "_");
    let catalogue = ledger_catalogue(prefix)?;
    clio_cli::setup::create_topics(kafka, &catalogue).await?;
    clio_cli::setup::register_schemas(registry_url, &catalogue).await?;
    let topics = ProcessorTopics {
        commands: format!("{prefix}.commands"),
        events: format!("{prefix}.events"),
        state: format!("{prefix}.state"),
        dead_letters: format!("{prefix}.dead-letters"),
    };
    let codec = Codec::new(registry_url);
    let token = CancellationToken::new();
    let processing = {
        let config = ProcessorConfig {
            group_id: format!("{prefix}-processor"),
            topics: topics.clone(),
            ..ProcessorConfig::for_domain("ledger")
        };
        let (kafka, codec, token) = (kafka.clone(), codec.clone(), token.clone());
        tokio::spawn(async move { processor::run::<Ledger>(&kafka, codec, config, token).await.map(|_| ()) })
    };
    let projecting = {
        let mut config = ProjectorConfig::new(&schema, &[&topics.events]);
        config.dead_letters = topics.dead_letters.clone();
        config.group_id = format!("{prefix}-projector");
        let (kafka, pool, codec, token) = (kafka.clone(), pool.clone(), codec.clone(), token.clone());
        tokio::spawn(async move { projector::run(&kafka, pool, codec, LedgerModel, config, token).await.map(|_| ()) })
    };
    let outcome = async {
        let producer = kafka::producer(kafka)?;
        let target = LedgerTarget { schema: schema.clone(), commands_topic: topics.commands.clone() };
        let client = LedgerClient { pool, target: &target, producer: &producer, codec: &codec };
        eprintln!("  ledger: seeding {accounts} accounts");
        clio_cli::demo::seed(&client, &Demo { debtor_id: 1, accounts, amount: 1_000_000_000 }, true).await?;
        let log_topics = vec![topics.commands.clone(), topics.events.clone(), topics.state.clone()];
        let before = total_records(kafka, &log_topics).await?;
        let run = transfer(&client, &schema, accounts, transfers).await?;
        let after = total_records(kafka, &log_topics).await?;
        Ok::<_, anyhow::Error>(LedgerRun { records_per_transfer: (after - before) as f64 / transfers as f64, ..run })
    }
    .await;
    token.cancel();
    processing.await??;
    projecting.await??;
    outcome
}

fn ledger_catalogue(prefix: &str) -> anyhow::Result<Catalogue> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut catalogue = Catalogue::load(&dir)?;
    catalogue.topics.retain(|t| t.name.starts_with("ledger.") || t.name == "platform.dead-letters");
    for topic in &mut catalogue.topics {
        let suffix = topic.name.rsplit('.').next().unwrap_or("x").to_string();
        topic.name = format!("{prefix}.{suffix}");
    }
    Ok(catalogue)
}

async fn total_records(kafka: &KafkaSettings, topics: &[String]) -> anyhow::Result<i64> {
    let (kafka, topics) = (kafka.clone(), topics.to_vec());
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let reader = kafka::reader(&kafka)?;
        Ok(kafka::watermarks(&reader, &topics)?.values().map(|(low, high)| high - low).sum())
    })
    .await?
}

/// Produces every PrepareTransfer at once, finalizes each as the read model shows it prepared,
/// and waits until every recipient's credit is in the read model.
async fn transfer(client: &LedgerClient<'_>, schema: &str, accounts: i64, count: usize) -> anyhow::Result<LedgerRun> {
    let (debtor, now) = (1, chrono::Utc::now().timestamp_micros());
    let quoted = clio_cli::ledger_scan::quoted(schema);
    let open_sql = format!(
        "SELECT creditor_id, transfer_id, coordinator_request_id, locked_amount FROM {quoted}.prepared_transfers
          WHERE debtor_id = $1 AND coordinator_type = 'direct'"
    );
    let credited_sql = format!(
        "SELECT count(*) FROM {quoted}.transfers WHERE debtor_id = $1 AND coordinator_type = 'direct' AND acquired_amount > 0"
    );
    let started = Instant::now();
    for chunk in (0..count as i64).collect::<Vec<_>>().chunks(5_000) {
        let prepares: Vec<(String, LedgerCommand)> = chunk
            .iter()
            .map(|&n| {
                let from = n % accounts + 1;
                let to = (n * 7 + 3) % accounts + 1;
                let to = if to == from { to % accounts + 1 } else { to };
                let command = PrepareTransfer {
                    debtor_id: debtor,
                    creditor_id: from,
                    coordinator_type: "direct".into(),
                    coordinator_id: from,
                    coordinator_request_id: n + 1,
                    min_locked_amount: 1,
                    max_locked_amount: 10,
                    recipient: rules::creditor_text(to),
                    final_interest_rate_ts: i64::MAX,
                    max_commit_delay: i32::MAX,
                    ts: now,
                };
                (rules::account_key(debtor, from), LedgerCommand::PrepareTransfer(command))
            })
            .collect();
        send_commands(client.producer, client.codec, &client.target.commands_topic, &prepares).await?;
    }
    let mut finalized: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut samples = Vec::new();
    let mut next_sample = Instant::now() + Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let open: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&open_sql).bind(debtor).fetch_all(client.pool).await?;
        let finalizes: Vec<(String, LedgerCommand)> = open
            .into_iter()
            .filter(|&(sender, transfer_id, _, _)| finalized.insert((sender, transfer_id)))
            .map(|(sender, transfer_id, request, locked)| {
                let command = FinalizeTransfer {
                    debtor_id: debtor,
                    creditor_id: sender,
                    transfer_id,
                    coordinator_type: "direct".into(),
                    coordinator_id: sender,
                    coordinator_request_id: request,
                    committed_amount: locked,
                    transfer_note: String::new(),
                    transfer_note_format: String::new(),
                    ts: now,
                };
                (rules::account_key(debtor, sender), LedgerCommand::FinalizeTransfer(command))
            })
            .collect();
        send_commands(client.producer, client.codec, &client.target.commands_topic, &finalizes).await?;
        let credited: i64 = sqlx::query_scalar(&credited_sql).bind(debtor).fetch_one(client.pool).await?;
        if Instant::now() >= next_sample {
            samples.push(credited as u64);
            next_sample += Duration::from_secs(1);
            eprint!("\r  ledger: {credited:>7}/{count} transfers credited, {:>4.0} s", started.elapsed().as_secs_f64());
        }
        if credited as usize >= count {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {credited} of {count} transfers were credited within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    samples.push(count as u64);
    eprintln!("\r  ledger: {count} transfers credited in {seconds:.1} s                    ");
    let per_second = samples.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>();
    Ok(LedgerRun {
        transfers: count,
        seconds,
        records_per_transfer: 0.0,
        credited_per_second: std::iter::once(samples[0]).chain(per_second).collect(),
    })
}
