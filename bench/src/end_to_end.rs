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
use clio_ledger::messages::{FinalizeTransfer, PrepareTransfer};
use clio_ledger::{Ledger, LedgerCommand, rules};
use clio_ledger_plug::demo::{Demo, LedgerClient};
use clio_ledger_plug::scan::{LedgerTarget, send_commands};
use clio_ledger_projection::{LedgerModel, queries};
use clio_plug::Home;
use clio_projection::projector::{self, ProjectorConfig};
use clio_runtime::catalogue::{Catalogue, Compression};
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

pub async fn broker_baseline(
    kafka: &KafkaSettings,
    prefix: &str,
    count: usize,
    compression: Compression,
) -> anyhow::Result<BrokerBaseline> {
    let topic = format!("{prefix}.raw-{}", compression.as_kafka());
    create_raw_topic(kafka, &topic, compression).await?;
    let producer: FutureProducer = kafka::producer_for(kafka, compression)?;
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(10_000);
    for n in 0..count {
        let key = format!("1/{}", n % 1_000);
        let payload = event_like_payload(n as i64);
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
            eprint!("\r  broker ({}): {:>8}/{count} produced", compression.as_kafka(), n + 1);
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
        "\r  broker ({}): {count} produced in {:.1} s, consumed in {:.1} s",
        compression.as_kafka(),
        produced.as_secs_f64(),
        consumed.as_secs_f64()
    );
    Ok(BrokerBaseline {
        produce_per_second: count as f64 / produced.as_secs_f64(),
        consume_per_second: count as f64 / consumed.as_secs_f64(),
        ceiling_per_second: count as f64 / (produced + consumed).as_secs_f64(),
    })
}

/// About the size and make of a ledger event's Avro body: ids, amounts and timestamps as
/// zig-zag varints, a short text, so that compression meets what it meets on the log.
fn event_like_payload(n: i64) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, value: i64) {
        let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
        while zigzag >= 0x80 {
            out.push((zigzag as u8) | 0x80);
            zigzag >>= 7;
        }
        out.push(zigzag as u8);
    }
    let mut out = vec![0u8, 0, 0, 0, 7];
    let ts = 1_795_305_600_000_000 + n * 1_337;
    for value in [1, n % 1_000, n, (n * 7_919) % 100_000, ts, ts - 86_400_000_000, n % 3, 0, 10_000 - n % 977] {
        varint(&mut out, value);
    }
    let note = format!("demo transfer {n}");
    varint(&mut out, note.len() as i64);
    out.extend_from_slice(note.as_bytes());
    out.extend_from_slice(b"\x06direct\x00\x02");
    for value in [ts + 5, n * 31, 2_500] {
        varint(&mut out, value);
    }
    out
}

async fn create_raw_topic(kafka: &KafkaSettings, name: &str, compression: Compression) -> anyhow::Result<()> {
    let spec = clio_runtime::catalogue::TopicSpec {
        name: name.to_string(),
        description: "benchmark".into(),
        partitions: 4,
        cleanup_policy: clio_runtime::catalogue::CleanupPolicy::Delete,
        retention: clio_runtime::catalogue::Retention::Forever,
        compression,
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

/// The read model's schema (and projection name) for topics named `prefix`.
pub fn schema_of(prefix: &str) -> String {
    prefix.replace(['.', '-'], "_")
}

/// Drops a read model the benchmark made, and the offsets stored for it.
pub async fn drop_read_model(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    clio_projection::schema::drop_schema(pool, name).await?;
    sqlx::query("DELETE FROM clio.projection_offsets WHERE projection = $1")
        .bind(name)
        .execute(pool)
        .await
        .context("forgetting the read model's offsets")?;
    Ok(())
}

/// What the ledger run measured.
pub struct LedgerRun {
    pub transfers: usize,
    pub seconds: f64,
    /// Records on the commands, events and state topics per transfer.
    pub records_per_transfer: f64,
    /// Recipients credited in the read model, sampled once a second.
    pub credited_per_second: Vec<u64>,
    /// Command produced → read model, at a fixed rate after the transfers.
    pub latency: Latency,
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
    let schema = schema_of(prefix);
    let topics = ledger_topics(kafka, registry_url, prefix).await?;
    let codec = Codec::new(registry_url);
    let token = CancellationToken::new();
    let processing = spawn_processor(kafka, &codec, prefix, &topics, &token);
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
        clio_ledger_plug::demo::seed(&client, &Demo { debtor_id: 1, accounts, amount: 1_000_000_000 }, true).await?;
        let log_topics = vec![topics.commands.clone(), topics.events.clone(), topics.state.clone()];
        let before = total_records(kafka, &log_topics).await?;
        let run = transfer(&client, &schema, accounts, transfers).await?;
        let after = total_records(kafka, &log_topics).await?;
        eprintln!("  ledger: latency, {LATENCY_RATE} commands/s for {LATENCY_SECONDS} s");
        let latency = command_to_read_model(&client, &schema, LATENCY_RATE, LATENCY_SECONDS).await?;
        Ok::<_, anyhow::Error>(LedgerRun {
            records_per_transfer: (after - before) as f64 / transfers as f64,
            latency,
            ..run
        })
    }
    .await;
    token.cancel();
    processing.await??;
    projecting.await??;
    outcome
}

/// The ledger's processor on `topics`, until `token` is cancelled.
fn spawn_processor(
    kafka: &KafkaSettings,
    codec: &Codec,
    prefix: &str,
    topics: &ProcessorTopics,
    token: &CancellationToken,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let config = ProcessorConfig {
        group_id: format!("{prefix}-processor"),
        topics: topics.clone(),
        ..ProcessorConfig::for_domain("ledger")
    };
    let (kafka, codec, token) = (kafka.clone(), codec.clone(), token.clone());
    tokio::spawn(async move { processor::run::<Ledger>(&kafka, codec, config, token).await.map(|_| ()) })
}

/// The ledger's topics under `prefix`, created, with the catalogue's schemas registered.
async fn ledger_topics(kafka: &KafkaSettings, registry_url: &str, prefix: &str) -> anyhow::Result<ProcessorTopics> {
    let catalogue = Catalogue::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"))?;
    let home = Home::prefixed("ledger", prefix);
    clio_plug::provision::provision(kafka, registry_url, &catalogue, &home).await?;
    Ok(home.processor_config().topics)
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
    // Only rows the coordinator has not seen: the projector writes each events partition in
    // offset order, so a watermark per partition is enough. (Reading every open transfer on
    // every poll made Postgres send 20,000 rows 20 times a second, and the figure measured it.)
    let open_sql = queries::DIRECT_TRANSFERS_SINCE.in_schema(schema);
    let mut seen_through: Vec<i64> = Vec::new();
    let credited_sql = queries::DIRECT_CREDITS.in_schema(schema);
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
        let open: Vec<(i64, i64, i64, i64, i32, i64)> =
            sqlx::query_as(&open_sql).bind(debtor).bind(&seen_through).fetch_all(client.pool).await?;
        for &(.., partition, offset) in &open {
            let partition = usize::try_from(partition).unwrap_or(0);
            if seen_through.len() <= partition {
                seen_through.resize(partition + 1, -1);
            }
            seen_through[partition] = seen_through[partition].max(offset);
        }
        let finalizes: Vec<(String, LedgerCommand)> = open
            .into_iter()
            .filter(|&(sender, transfer_id, ..)| finalized.insert((sender, transfer_id)))
            .map(|(sender, transfer_id, request, locked, ..)| {
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
        latency: Latency::default(),
    })
}

/// The offered rate and duration of the latency figures.
pub const LATENCY_RATE: u32 = 1_000;
pub const LATENCY_SECONDS: u64 = 10;

/// What the rebuild measured.
pub struct RebuildRun {
    pub records: u64,
    pub seconds: f64,
    /// Reading the same records off the broker, and nothing else.
    pub raw_read_seconds: f64,
}

/// Adds `extra` transfer-history events to the end-to-end run's events topic, then rebuilds the
/// ledger read model from the whole log, against reading the same log raw.
pub async fn rebuild(
    kafka: &KafkaSettings,
    pool: &PgPool,
    registry_url: &str,
    prefix: &str,
    extra: usize,
) -> anyhow::Result<RebuildRun> {
    let topic = format!("{prefix}.events");
    let schema = schema_of(prefix);
    let codec = Codec::new(registry_url);
    let producer = kafka::producer(kafka)?;
    let now = chrono::Utc::now().timestamp_micros();
    let mut deliveries = Vec::with_capacity(10_000);
    for n in 0..extra {
        let (account, event) = history_event(n, 2, now);
        let payload = codec.encode(&topic, &event).await?;
        let key = rules::account_key(2, account);
        let record = FutureRecord::<str, [u8]>::to(&topic).key(&key).payload(&payload);
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error)?);
        if deliveries.len() == 10_000 {
            for delivery in futures::future::join_all(deliveries.drain(..)).await {
                delivery?.map_err(|(error, _)| error)?;
            }
            eprint!("\r  rebuild: {:>8}/{extra} events added to the log", n + 1);
        }
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery?.map_err(|(error, _)| error)?;
    }
    eprintln!();
    let (reader_kafka, reader_topic) = (kafka.clone(), topic.clone());
    let raw = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, Duration)> {
        let reader = kafka::reader(&reader_kafka)?;
        let started = Instant::now();
        let mut records = 0u64;
        for partition in 0..kafka::partition_count(&reader, &reader_topic)? {
            kafka::read_partition(&reader, &reader_topic, partition, 0, |_| records += 1)?;
        }
        Ok((records, started.elapsed()))
    })
    .await??;
    let mut config = ProjectorConfig::new(&schema, &[&topic]);
    config.dead_letters = format!("{prefix}.dead-letters");
    let report = clio_projection::rebuild::rebuild(
        kafka,
        pool,
        &codec,
        &LedgerModel,
        &config,
        clio_projection::rebuild::Progress::Bar,
        &CancellationToken::new(),
    )
    .await?;
    for name in [schema.clone(), format!("{schema}__retired")] {
        drop_read_model(pool, &name).await?;
    }
    Ok(RebuildRun {
        records: report.records,
        seconds: report.elapsed.as_secs_f64(),
        raw_read_seconds: raw.1.as_secs_f64(),
    })
}

/// Percentiles of a latency sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    pub fn of(mut millis: Vec<f64>) -> Self {
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| millis.get(((millis.len() as f64 * q) as usize).min(millis.len().saturating_sub(1))).copied();
        Self { samples: millis.len(), p50_ms: at(0.50).unwrap_or(0.0), p99_ms: at(0.99).unwrap_or(0.0) }
    }
}

const LATENCY_ACCOUNTS: i64 = 10;

/// ConfigureAccount commands at `per_second` for `seconds`, to accounts 1..=10 in turn: the
/// time from producing each to its AccountUpdate visible in the read model (polled every
/// millisecond; a later seqnum visible means every earlier one of that account is too).
async fn command_to_read_model(
    client: &LedgerClient<'_>,
    schema: &str,
    per_second: u32,
    seconds: u64,
) -> anyhow::Result<Latency> {
    use std::collections::{HashMap, VecDeque};
    let sql = queries::CONFIG_SEQNUMS.in_schema(schema);
    let total = u64::from(per_second) * seconds;
    let mut waiting: HashMap<i64, VecDeque<(i32, Instant)>> = HashMap::new();
    let mut millis = Vec::with_capacity(total as usize);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / per_second);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut deliveries = Vec::new();
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_secs(seconds + 30);
    while (millis.len() as u64) < total && Instant::now() < deadline {
        ticker.tick().await;
        if sent < total {
            let creditor_id = (sent as i64 % LATENCY_ACCOUNTS) + 1;
            let seqnum = 1_000 + sent as i32;
            let command = LedgerCommand::ConfigureAccount(clio_ledger::messages::ConfigureAccount {
                debtor_id: 1,
                creditor_id,
                ts: chrono::Utc::now().timestamp_micros(),
                seqnum,
                negligible_amount: 0.0,
                config_flags: 0,
                config_data: String::new(),
            });
            let payload = client.codec.encode(&client.target.commands_topic, &command).await?;
            let key = rules::account_key(1, creditor_id);
            let record = FutureRecord::<str, [u8]>::to(&client.target.commands_topic).key(&key).payload(&payload);
            waiting.entry(creditor_id).or_default().push_back((seqnum, Instant::now()));
            deliveries.push(client.producer.send_result(record).map_err(|(error, _)| error)?);
            sent += 1;
        }
        let visible: Vec<(i64, i32)> =
            sqlx::query_as(&sql).bind(1_i64).bind(LATENCY_ACCOUNTS).fetch_all(client.pool).await?;
        let seen = Instant::now();
        for (creditor_id, seqnum) in visible {
            let queue = waiting.entry(creditor_id).or_default();
            while queue.front().is_some_and(|(s, _)| *s <= seqnum) {
                if let Some((_, at)) = queue.pop_front() {
                    millis.push(seen.duration_since(at).as_secs_f64() * 1_000.0);
                }
            }
        }
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery?.map_err(|(error, _)| error)?;
    }
    Ok(Latency::of(millis))
}

/// The broker alone at the same rate: records produced with the processors' settings and
/// consumed by a plain consumer, time from produce to receipt.
pub async fn broker_latency(
    kafka: &KafkaSettings,
    prefix: &str,
    per_second: u32,
    seconds: u64,
) -> anyhow::Result<Latency> {
    let topic = format!("{prefix}.latency");
    create_raw_topic(kafka, &topic, Compression::default()).await?;
    let base = Instant::now();
    let total = u64::from(per_second) * seconds;
    let (reader_kafka, reader_topic) = (kafka.clone(), topic.clone());
    let receiving = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<f64>> {
        let reader: BaseConsumer = kafka::reader(&reader_kafka)?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..kafka::partition_count(&reader, &reader_topic)? {
            assignment.add_partition_offset(&reader_topic, partition, Offset::Beginning)?;
        }
        reader.assign(&assignment)?;
        let mut millis = Vec::with_capacity(total as usize);
        while (millis.len() as u64) < total {
            match reader.poll(Duration::from_secs(10)) {
                Some(Ok(message)) => {
                    use rdkafka::Message as _;
                    let sent = message.payload().and_then(|p| p.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0);
                    let now = base.elapsed().as_nanos() as u64;
                    millis.push(now.saturating_sub(sent) as f64 / 1e6);
                }
                Some(Err(error)) => return Err(error.into()),
                None => bail!("the broker stopped delivering after {} records", millis.len()),
            }
        }
        Ok(millis)
    });
    tokio::time::sleep(Duration::from_secs(1)).await; // let the consumer join first
    let producer = kafka::producer(kafka)?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / per_second);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut deliveries = Vec::with_capacity(total as usize);
    for n in 0..total {
        ticker.tick().await;
        let payload = (base.elapsed().as_nanos() as u64).to_be_bytes();
        let key = format!("1/{}", n % 10);
        let record = FutureRecord::<str, [u8]>::to(&topic).key(&key).payload(&payload);
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery?.map_err(|(error, _)| error)?;
    }
    Ok(Latency::of(receiving.await??))
}

/// What the restore measured.
pub struct RestoreRun {
    pub accounts: usize,
    /// From the processor's start to an answer from every partition, with `accounts` on the log.
    pub with_accounts_seconds: f64,
    /// The same with an empty log: start-up and group join, nothing to restore.
    pub empty_seconds: f64,
    /// Reading the same events raw off the broker.
    pub raw_read_seconds: f64,
}

/// A processor restoring `accounts` accounts (one AccountUpdate each on the events topic, no
/// snapshots) when its partitions are assigned, against the same start on an empty log.
pub async fn restore(
    kafka: &KafkaSettings,
    registry_url: &str,
    prefix: &str,
    accounts: usize,
) -> anyhow::Result<RestoreRun> {
    let empty = start_and_answer(kafka, registry_url, &format!("{prefix}-empty"), 0).await?;
    let (full, raw) = {
        let prefix = format!("{prefix}-restore");
        let run = start_and_answer(kafka, registry_url, &prefix, accounts).await?;
        (run.0, run.1)
    };
    Ok(RestoreRun {
        accounts,
        with_accounts_seconds: full.as_secs_f64(),
        empty_seconds: empty.0.as_secs_f64(),
        raw_read_seconds: raw.as_secs_f64(),
    })
}

/// Puts `accounts` AccountUpdates on a fresh ledger's events topic, starts a processor, sends
/// one ConfigureAccount per partition and waits for every answer: (time to the answers, time
/// to read the events raw).
async fn start_and_answer(
    kafka: &KafkaSettings,
    registry_url: &str,
    prefix: &str,
    accounts: usize,
) -> anyhow::Result<(Duration, Duration)> {
    const DEBTOR: i64 = 3;
    let topics = ledger_topics(kafka, registry_url, prefix).await?;
    let codec = Codec::new(registry_url);
    let producer = kafka::producer(kafka)?;
    let now = chrono::Utc::now().timestamp_micros();
    let update = |creditor_id: i64| clio_ledger::messages::AccountUpdate {
        debtor_id: DEBTOR,
        creditor_id,
        creation_date: rules::date_of(now),
        last_change_ts: now,
        last_change_seqnum: 1,
        principal: 1_000,
        interest: 0.0,
        interest_rate: 0.0,
        last_interest_rate_change_ts: 0,
        last_config_ts: now,
        last_config_seqnum: 1,
        negligible_amount: 0.0,
        config_flags: 0,
        config_data: String::new(),
        account_id: creditor_id.to_string(),
        debtor_info_iri: String::new(),
        debtor_info_content_type: String::new(),
        debtor_info_sha256: String::new(),
        last_transfer_number: 0,
        last_transfer_committed_at: 0,
        demurrage_rate: rules::DEMURRAGE_RATE,
        commit_period: rules::COMMIT_PERIOD_SECONDS,
        transfer_note_max_bytes: rules::TRANSFER_NOTE_MAX_BYTES as i32,
        ts: now,
        ttl: rules::ACCOUNT_UPDATE_TTL_SECONDS,
    };
    let mut deliveries = Vec::with_capacity(10_000);
    for n in 1..=accounts as i64 {
        let event = clio_ledger::LedgerEvent::AccountUpdate(update(n));
        let payload = codec.encode(&topics.events, &event).await?;
        let key = rules::account_key(DEBTOR, n);
        let record = FutureRecord::<str, [u8]>::to(&topics.events).key(&key).payload(&payload);
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error)?);
        if deliveries.len() == 10_000 {
            for delivery in futures::future::join_all(deliveries.drain(..)).await {
                delivery?.map_err(|(error, _)| error)?;
            }
            eprint!("\r  restore: {n:>8}/{accounts} accounts on the log");
        }
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery?.map_err(|(error, _)| error)?;
    }
    let (reader_kafka, events_topic) = (kafka.clone(), topics.events.clone());
    let raw = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let reader = kafka::reader(&reader_kafka)?;
        let started = Instant::now();
        for partition in 0..kafka::partition_count(&reader, &events_topic)? {
            kafka::read_partition(&reader, &events_topic, partition, 0, |_| {})?;
        }
        Ok(started.elapsed())
    })
    .await??;
    let before = total_records(kafka, std::slice::from_ref(&topics.events)).await?;

    let token = CancellationToken::new();
    let started = Instant::now();
    let processing = spawn_processor(kafka, &codec, prefix, &topics, &token);
    // One account per partition, new or restored, reconfigured with a later seqnum.
    let mut per_partition = std::collections::BTreeMap::new();
    for creditor_id in 1.. {
        let key = rules::account_key(DEBTOR, creditor_id);
        per_partition.entry(clio_aggregate::partition_for_key(key.as_bytes(), 4)).or_insert(creditor_id);
        if per_partition.len() == 4 {
            break;
        }
    }
    let commands: Vec<(String, LedgerCommand)> = per_partition
        .values()
        .map(|&creditor_id| {
            let command = clio_ledger::messages::ConfigureAccount {
                debtor_id: DEBTOR,
                creditor_id,
                ts: chrono::Utc::now().timestamp_micros(),
                seqnum: 2,
                negligible_amount: 0.0,
                config_flags: 0,
                config_data: String::new(),
            };
            (rules::account_key(DEBTOR, creditor_id), LedgerCommand::ConfigureAccount(command))
        })
        .collect();
    send_commands(&producer, &codec, &topics.commands, &commands).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while total_records(kafka, std::slice::from_ref(&topics.events)).await? < before + 4 {
        if Instant::now() > deadline {
            bail!("the processor did not answer within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answered = started.elapsed();
    eprintln!(
        "\r  restore: {accounts} accounts; every partition answered {:.1} s after the start",
        answered.as_secs_f64()
    );
    token.cancel();
    processing.await??;
    Ok((answered, raw))
}

/// The `n`th of a stream of transfer-history events among 1,000 accounts of `debtor_id`
/// (each account's chain numbered from 1): the account and the event.
pub fn history_event(n: usize, debtor_id: i64, at_micros: i64) -> (i64, clio_ledger::LedgerEvent) {
    let account = (n % 1_000) as i64;
    let number = (n / 1_000) as i64 + 1;
    let event = clio_ledger::LedgerEvent::AccountTransfer(clio_ledger::messages::AccountTransfer {
        debtor_id,
        creditor_id: account,
        creation_date: 20_000,
        transfer_number: number,
        coordinator_type: "direct".into(),
        sender: "7".into(),
        recipient: account.to_string(),
        acquired_amount: 100 + n as i64 % 900,
        transfer_note: "invoice 2026-11".into(),
        transfer_note_format: "text".into(),
        committed_at: at_micros,
        principal: number * 500,
        ts: at_micros,
        previous_transfer_number: number - 1,
    });
    (account, event)
}
