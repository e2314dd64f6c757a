//! `make bench`: measures Clio against baselines taken in the same run, and writes the figures
//! as ratios to a markdown report (machines here are noisy; only ratios travel), with a PNG of
//! the end-to-end run's throughput per second.
//!
//! # Layout
//! - [`end_to_end`]: the embedded stack (broker started by `make bench`, registry, processor
//!   and projector in this process) — the ledger end to end against pgbench and the broker's
//!   own rate, latency against the broker's, a rebuild over 1 M+ events and a restore of 1 M
//!   accounts against raw reads of the same log.
//! - [`retry`]: the retry domain: tasks/s against a Postgres SKIP LOCKED job queue, how late
//!   due runs start, memory with many scheduled tasks.
//! - [`matching`]: the matching domain: import → match in the read model against the seed's
//!   candidate query per payment in Postgres, and the core's memory per million pending.
//! - [`plot`]: the throughput PNG.
//! - here: projection apply against a raw binary COPY of the same rows; the ledger core's
//!   figure as criterion measured it (`benches/ledger_core.rs`, run first by `make bench`);
//!   the report; `--only` and `--core-only`, one figure alone for a profiler.

mod end_to_end;
mod matching;
mod plot;
mod retry;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;
use clio_ledger::LedgerEvent;
use clio_ledger_projection::{LedgerModel, MIGRATIONS};
use clio_projection::Envelope;
use clio_projection::batch::{self, Batch, Outcome, Target};
use clio_projection::schema;
use clio_runtime::catalogue::Compression;
use sqlx::PgPool;

#[derive(Parser, Debug)]
struct Settings {
    /// The database to measure in (it is created if missing).
    #[arg(long, env = "CLIO_BENCH_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/clio_bench")]
    database_url: String,
    /// Events per figure.
    #[arg(long, env = "CLIO_BENCH_EVENTS", default_value_t = 200_000)]
    events: usize,
    /// Rounds per figure; the best round counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[arg(long, default_value = "bench/report.md")]
    report: std::path::PathBuf,
    /// The broker for the end-to-end figures (`make bench` starts a fresh one).
    #[arg(long, env = "CLIO_BENCH_BROKERS", default_value = "127.0.0.1:19292")]
    brokers: String,
    /// The consumers' longest wait on an empty fetch (as every Clio process reads it).
    #[arg(long, env = "CLIO_FETCH_WAIT_MAX_MS", default_value_t = 50)]
    fetch_wait_max_ms: u32,
    /// Two-phase transfers in the end-to-end run.
    #[arg(long, env = "CLIO_BENCH_TRANSFERS", default_value_t = 20_000)]
    transfers: usize,
    /// Accounts the transfers move between.
    #[arg(long, env = "CLIO_BENCH_ACCOUNTS", default_value_t = 1_000)]
    accounts: i64,
    /// Accounts a processor restores in the restore figure.
    #[arg(long, env = "CLIO_BENCH_RESTORE_ACCOUNTS", default_value_t = 1_000_000)]
    restore_accounts: usize,
    /// Only the ledger core, once, printed (for a profiler: `valgrind --tool=callgrind`).
    #[arg(long)]
    core_only: bool,
    /// Where criterion wrote the domain-core figure (`make bench` runs it first).
    #[arg(long, env = "CRITERION_HOME", default_value = "target/criterion")]
    criterion_home: std::path::PathBuf,
    /// Only one figure, printed, without its baseline where that is another run (for a
    /// profiler: `make profile`).
    #[arg(long, value_enum)]
    only: Option<Figure>,
    /// HTTP tasks in the retry figure (and jobs in its Postgres queue baseline).
    #[arg(long, env = "CLIO_BENCH_RETRY_TASKS", default_value_t = 20_000)]
    retry_tasks: usize,
    /// Tasks scheduled a day ahead for the retry memory figure.
    #[arg(long, env = "CLIO_BENCH_RETRY_SCHEDULED", default_value_t = 1_000_000)]
    retry_scheduled: usize,
    /// Transactions (half payments, half the merchant rows that match them) in the matching
    /// figure. The day is 100,000; at that size the run is bound by the embedded
    /// broker (its fetches slow to a few records a second once its log holds ~0.9 M records),
    /// so `make bench` takes 10,000 until that is fixed.
    #[arg(long, env = "CLIO_BENCH_MATCHING_TRANSACTIONS", default_value_t = 10_000)]
    matching_transactions: usize,
    /// Events added to the end-to-end run's log before the rebuild figure.
    #[arg(long, env = "CLIO_BENCH_REBUILD_EVENTS", default_value_t = 1_000_000)]
    rebuild_events: usize,
}

/// The figures `--only` runs alone.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum Figure {
    /// The ledger end to end: transfers/s, then latency.
    Ledger,
    /// A processor restoring accounts on partition assignment.
    Restore,
    /// Projection apply and the raw COPY of the same rows (no broker).
    Apply,
    /// The broker's produce+consume rate with each compression codec.
    Compression,
    /// The retry domain's figures, with their baseline.
    Retry,
    /// The matching domain's figures, with their baseline.
    Matching,
}

const BATCH: usize = 2_000;
const PARTITIONS: i32 = 4;
const TOPIC: &str = "ledger.events";

fn events(count: usize, at: DateTime<Utc>) -> Vec<Envelope<LedgerEvent>> {
    let mut offsets = [0i64; PARTITIONS as usize];
    (0..count)
        .map(|n| {
            let (account, event) = end_to_end::history_event(n, 1, at.timestamp_micros());
            let partition = (account % i64::from(PARTITIONS)) as i32;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            Envelope {
                topic: TOPIC.to_string(),
                partition,
                offset,
                event_id: format!("{n:032x}"),
                key: Some(format!("1/{account}")),
                event_at: at,
                traceparent: None,
                event,
            }
        })
        .collect()
}

async fn fresh_schema(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    end_to_end::drop_read_model(pool, name).await?;
    schema::prepare(pool, name, MIGRATIONS).await?;
    Ok(())
}

/// The runtime's path: `batch::apply` per 2,000 events.
async fn apply_rate(pool: &PgPool, all: &[Envelope<LedgerEvent>]) -> anyhow::Result<Duration> {
    let name = "bench_apply";
    fresh_schema(pool, name).await?;
    let target = Target { offsets_key: name.into(), schema: name.into() };
    let mut positions = std::collections::HashMap::new();
    let started = Instant::now();
    for (i, chunk) in all.chunks(BATCH).enumerate() {
        let mut batch = Batch::default();
        for envelope in chunk {
            batch.push(envelope.clone());
        }
        let expected = batch.ranges.keys().map(|tp| (tp.clone(), positions.get(tp).copied().unwrap_or(0))).collect();
        match batch::apply(pool, &LedgerModel, &target, &batch, &expected).await? {
            Outcome::Applied { .. } => {
                for (tp, range) in &batch.ranges {
                    positions.insert(tp.clone(), range.next);
                }
            }
            Outcome::Moved(stored) => anyhow::bail!("offsets moved under the benchmark: {stored:?}"),
        }
        if i % 25 == 0 {
            eprint!("\r  apply: {:>7}/{} events", (i + 1) * BATCH, all.len());
        }
    }
    eprintln!();
    Ok(started.elapsed())
}

/// The baseline: the same rows into the same table by one binary COPY.
async fn copy_rate(pool: &PgPool, all: &[Envelope<LedgerEvent>]) -> anyhow::Result<Duration> {
    let name = "bench_copy";
    fresh_schema(pool, name).await?;
    const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
    let mut data = Vec::with_capacity(all.len() * 200);
    data.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    data.extend_from_slice(&0i32.to_be_bytes());
    data.extend_from_slice(&0i32.to_be_bytes());
    let long = |data: &mut Vec<u8>, v: i64| {
        data.extend_from_slice(&8i32.to_be_bytes());
        data.extend_from_slice(&v.to_be_bytes());
    };
    let text = |data: &mut Vec<u8>, v: &str| {
        data.extend_from_slice(&(v.len() as i32).to_be_bytes());
        data.extend_from_slice(v.as_bytes());
    };
    let started = Instant::now();
    for e in all {
        let LedgerEvent::AccountTransfer(t) = &e.event else { continue };
        data.extend_from_slice(&16i16.to_be_bytes());
        long(&mut data, t.debtor_id);
        long(&mut data, t.creditor_id);
        long(&mut data, t.transfer_number);
        long(&mut data, t.previous_transfer_number);
        text(&mut data, &t.coordinator_type);
        text(&mut data, &t.sender);
        text(&mut data, &t.recipient);
        long(&mut data, t.acquired_amount);
        text(&mut data, &t.transfer_note);
        text(&mut data, &t.transfer_note_format);
        long(&mut data, t.committed_at - PG_EPOCH_MICROS);
        long(&mut data, t.principal);
        text(&mut data, &e.topic);
        data.extend_from_slice(&4i32.to_be_bytes());
        data.extend_from_slice(&e.partition.to_be_bytes());
        long(&mut data, e.offset);
        long(&mut data, e.event_at.timestamp_micros() - PG_EPOCH_MICROS);
    }
    data.extend_from_slice(&(-1i16).to_be_bytes());
    let mut conn = pool.acquire().await?;
    let mut copy = conn.copy_in_raw(&format!("COPY \"{name}\".transfers FROM STDIN (FORMAT binary)")).await?;
    for chunk in data.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    let rows = copy.finish().await?;
    anyhow::ensure!(rows as usize == all.len(), "COPY wrote {rows} rows of {}", all.len());
    Ok(started.elapsed())
}

/// Criterion's estimate of one iteration, in nanoseconds: (mean, lower, upper) of the 95 %
/// confidence interval, from `<criterion home>/ledger_core/<function>/new/estimates.json`.
fn criterion_estimate(home: &std::path::Path, function: &str) -> anyhow::Result<(f64, f64, f64)> {
    let path = home.join("ledger_core").join(function).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (run `cargo bench -p clio-bench --bench ledger_core` first; make bench does)",
            path.display()
        )
    })?;
    let estimates: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mean = &estimates["mean"];
    let number =
        |value: &serde_json::Value| value.as_f64().with_context(|| format!("{}: no mean estimate", path.display()));
    Ok((
        number(&mean["point_estimate"])?,
        number(&mean["confidence_interval"]["lower_bound"])?,
        number(&mean["confidence_interval"]["upper_bound"])?,
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    if settings.core_only {
        let mut ledger = clio_bench::CoreLedger::new();
        let started = Instant::now();
        let commands: usize = (0..settings.events).map(|_| ledger.transfer()).sum();
        let seconds = started.elapsed().as_secs_f64();
        println!("ledger core: {} transfers, {:.0} commands/s", settings.events, commands as f64 / seconds);
        return Ok(());
    }
    let pool = clio_runtime::database::connect_creating(&settings.database_url).await?;
    schema::migrate_platform(&pool).await?;
    if let Some(figure) = settings.only {
        return one_figure(&settings, &pool, figure).await;
    }
    let e2e = end_to_end_figures(&settings, &pool).await?;
    let all = events(settings.events, Utc::now());
    let (mut apply_best, mut copy_best) = (Duration::MAX, Duration::MAX);
    for round in 1..=settings.rounds {
        eprintln!("round {round}/{}: {} transfer-history events", settings.rounds, all.len());
        // Alternate the order so that neither side always runs on a warmer cache.
        let (apply, copy) = if round % 2 == 1 {
            (apply_rate(&pool, &all).await?, copy_rate(&pool, &all).await?)
        } else {
            let copy = copy_rate(&pool, &all).await?;
            (apply_rate(&pool, &all).await?, copy)
        };
        eprintln!("  apply {:.2} s, COPY {:.2} s", apply.as_secs_f64(), copy.as_secs_f64());
        apply_best = apply_best.min(apply);
        copy_best = copy_best.min(copy);
    }
    let per_second = |d: Duration| all.len() as f64 / d.as_secs_f64();
    let (apply, copy) = (per_second(apply_best), per_second(copy_best));
    let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0)))
        .unwrap_or(0)
        / 1024
        / 1024;
    let mut report = String::new();
    writeln!(report, "# Clio benchmarks\n")?;
    writeln!(
        report,
        "Machine: {cores} cores, {memory} GiB; PostgreSQL {version}; {} events per figure, best of {} rounds.\n",
        all.len(),
        settings.rounds
    )?;
    writeln!(
        report,
        "Versions: clio {} ({}), {}, librdkafka {}, broker {}.\n",
        env!("CARGO_PKG_VERSION"),
        first_line_of("git", &["rev-parse", "--short", "HEAD"]),
        first_line_of("rustc", &["--version"]),
        rdkafka::util::get_rdkafka_version().1,
        std::env::var("CLIO_BENCH_BROKER_VERSION").unwrap_or_else(|_| "unknown".into())
    )?;
    writeln!(report, "| figure | Clio | baseline | ratio | target |")?;
    writeln!(report, "|---|---|---|---|---|")?;
    writeln!(
        report,
        "| projection apply (ledger transfer history, batches of {BATCH}) | {apply:.0} events/s | raw binary COPY of the same rows: {copy:.0} rows/s | {:.2} | ≥ 0.50 |",
        apply / copy
    )?;
    match (
        criterion_estimate(&settings.criterion_home, "clio_transfer"),
        criterion_estimate(&settings.criterion_home, "hash_map_transfer"),
    ) {
        (Ok((core_ns, core_low, core_high)), Ok((map_ns, _, _))) => {
            let commands = clio_bench::CoreLedger::new().transfer() as f64;
            writeln!(
                report,
                "| ledger core (criterion), one thread: a two-phase transfer is {commands:.0} commands (prepare, verify recipient, recipient verified, finalize, credit) decided and applied | {core_ns:.0} ns per transfer [{core_low:.0}–{core_high:.0}] = {:.0} transfers/s = {:.2} M commands/s | hash-map ledger, 2 updates per transfer: {map_ns:.0} ns = {:.0} transfers/s | {:.3} | ≥ 2 M commands/s |",
                1e9 / core_ns,
                commands * 1e3 / core_ns,
                1e9 / map_ns,
                map_ns / core_ns
            )?;
        }
        (core, map) => {
            let reason = core.err().or(map.err()).map(|e| format!("{e:#}")).unwrap_or_default();
            writeln!(report, "| ledger core (criterion) | not measured: {reason} | | | ≥ 2 M commands/s |")?;
        }
    }
    let ledger_tps = e2e.ledger.transfers as f64 / e2e.ledger.seconds;
    let records_per_second = ledger_tps * e2e.ledger.records_per_transfer;
    writeln!(
        report,
        "| ledger end to end: {} two-phase transfers among {} accounts (prepare → finalize → recipient credited → read model) | {ledger_tps:.0} transfers/s | pgbench TPC-B-like, same Postgres, {} s: {:.0} tps | {:.2} | ≥ 2 |",
        e2e.ledger.transfers,
        settings.accounts,
        e2e.pgbench_seconds,
        e2e.pgbench_tps,
        ledger_tps / e2e.pgbench_tps
    )?;
    writeln!(
        report,
        "| ledger end to end, as records on the log ({:.1} records per transfer: commands, events, state) | {records_per_second:.0} records/s | broker: {} small records produced then consumed: {:.0} records/s (produce {:.0}/s, consume {:.0}/s) | {:.2} | ≥ 0.60 |",
        e2e.ledger.records_per_transfer,
        e2e.broker_records,
        e2e.broker.ceiling_per_second,
        e2e.broker.produce_per_second,
        e2e.broker.consume_per_second,
        records_per_second / e2e.broker.ceiling_per_second
    )?;
    writeln!(
        report,
        "| compression of the topics integrators read: broker produce+consume, {} event-like records, uncompressed | {:.0} records/s (produce {:.0}/s, consume {:.0}/s) | lz4, the codec before (kafkajs cannot read it): {:.0} records/s; gzip, the other codec every client reads: {:.0} records/s | {:.2} of lz4, {:.2} of gzip | ≥ 1 (readability costs nothing) |",
        e2e.broker_records,
        e2e.broker.ceiling_per_second,
        e2e.broker.produce_per_second,
        e2e.broker.consume_per_second,
        e2e.lz4.ceiling_per_second,
        e2e.gzip.ceiling_per_second,
        e2e.broker.ceiling_per_second / e2e.lz4.ceiling_per_second,
        e2e.broker.ceiling_per_second / e2e.gzip.ceiling_per_second
    )?;
    let rebuild = &e2e.rebuild;
    writeln!(
        report,
        "| rebuild of the ledger read model (`clio projections rebuild`), {} events on the log | {:.0} events/s | reading the same log raw: {:.0} records/s | {:.2} | — |",
        rebuild.records,
        rebuild.records as f64 / rebuild.seconds,
        rebuild.records as f64 / rebuild.raw_read_seconds,
        rebuild.raw_read_seconds / rebuild.seconds
    )?;
    let (clio_latency, broker_latency) = (e2e.ledger.latency, e2e.broker_latency);
    writeln!(
        report,
        "| latency, command produced → read model visible, {} commands/s for {} s ({} samples) | p50 {:.1} ms, p99 {:.1} ms | broker alone at the same rate, produced → consumed: p50 {:.1} ms, p99 {:.1} ms | p99 {:.1}× | p99 ≤ 50 ms |",
        end_to_end::LATENCY_RATE,
        end_to_end::LATENCY_SECONDS,
        clio_latency.samples,
        clio_latency.p50_ms,
        clio_latency.p99_ms,
        broker_latency.p50_ms,
        broker_latency.p99_ms,
        clio_latency.p99_ms / broker_latency.p99_ms.max(0.001)
    )?;
    let restore = &e2e.restore;
    let restore_seconds = restore.with_accounts_seconds - restore.empty_seconds;
    writeln!(
        report,
        "| processor state restore: {} accounts (one AccountUpdate each, no snapshots) on partition assignment | {restore_seconds:.1} s (start to answers {:.1} s, less {:.1} s with an empty log) | reading the same events raw: {:.1} s | {:.2} | ≤ 5 s |",
        restore.accounts,
        restore.with_accounts_seconds,
        restore.empty_seconds,
        restore.raw_read_seconds,
        restore.raw_read_seconds / restore_seconds.max(0.001)
    )?;
    write_retry(&mut report, &e2e.retry)?;
    write_matching(&mut report, &e2e.matching)?;
    writeln!(
        report,
        "\nThroughput of the end-to-end run, recipients credited per second: {:?} (plot: {}).",
        e2e.ledger.credited_per_second,
        e2e.plot.display()
    )?;
    if let Some(dir) = settings.report.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.report, &report).with_context(|| format!("writing {}", settings.report.display()))?;
    print!("{report}");
    for name in ["bench_apply", "bench_copy"] {
        schema::drop_schema(&pool, name).await?;
    }
    Ok(())
}

/// The retry figures' rows of the report.
fn write_retry(report: &mut String, run: &retry::RetryRun) -> anyhow::Result<()> {
    let (clio, queue) = (run.tasks as f64 / run.clio_seconds, run.tasks as f64 / run.queue_seconds);
    writeln!(
        report,
        "| retry: {} HTTP tasks against the sandbox, CreateTask → SUCCESS ({} runs at once) | {clio:.0} tasks/s | Postgres job queue (`FOR UPDATE SKIP LOCKED`, {} workers), the same calls: {queue:.0} jobs/s | {:.2} | ≥ 1 |",
        run.tasks,
        run.concurrency,
        run.concurrency,
        clio / queue
    )?;
    writeln!(
        report,
        "| retry: how late a due run starts ({} retries due 3 s after a 503; due → AttemptStarted on the log) | p50 {:.0} ms, p99 {:.0} ms | — | — | p99 ≤ 1 s |",
        run.late_tasks, run.lateness.p50_ms, run.lateness.p99_ms
    )?;
    let mib = |bytes: i64| bytes as f64 / (1024.0 * 1024.0);
    writeln!(
        report,
        "| retry: memory holding {} tasks scheduled a day ahead (processor and worker, one process) | +{:.0} MiB RSS = {:.0} bytes per task | the same jobs in the queue's table and index: {:.0} MiB on disk | {:.2} | — |",
        run.scheduled,
        mib(run.rss_growth_bytes),
        run.rss_growth_bytes as f64 / run.scheduled.max(1) as f64,
        mib(run.queue_table_bytes),
        run.rss_growth_bytes as f64 / run.queue_table_bytes.max(1) as f64
    )?;
    Ok(())
}

/// The matching figures' rows of the report.
fn write_matching(report: &mut String, run: &matching::MatchingRun) -> anyhow::Result<()> {
    let transactions = (run.payments + run.rows) as f64;
    let (clio, seed) = (transactions / run.clio_seconds, transactions / run.baseline_seconds);
    writeln!(
        report,
        "| matching: a day of {} Visa auths and the {} merchant rows they match, at {} loyalty merchants × 20 stores; import → every match in `matching.matches` (identity look-ups answered at once by the bench) | {clio:.0} transactions/s ({:.1} s) | the seed's approach on the same day: both sides inserted, then the candidate query per payment and the match written, {} workers: {seed:.0} transactions/s ({:.1} s) | {:.2} | ≥ 5 |",
        run.payments,
        run.rows,
        run.merchants,
        run.clio_seconds,
        run.baseline_workers,
        run.baseline_seconds,
        clio / seed
    )?;
    writeln!(
        report,
        "| matching: memory of the core holding {} pending payments (payment entity and bucket place each) | +{:.0} MiB RSS = {:.0} bytes per pending payment | — | — | — |",
        run.pending,
        run.rss_growth_bytes as f64 / (1024.0 * 1024.0),
        run.rss_growth_bytes as f64 / run.pending.max(1) as f64
    )?;
    Ok(())
}

struct EndToEnd {
    /// With the compression of the topics integrators read (none).
    broker: end_to_end::BrokerBaseline,
    lz4: end_to_end::BrokerBaseline,
    gzip: end_to_end::BrokerBaseline,
    broker_records: usize,
    pgbench_tps: f64,
    pgbench_seconds: u64,
    ledger: end_to_end::LedgerRun,
    rebuild: end_to_end::RebuildRun,
    broker_latency: end_to_end::Latency,
    restore: end_to_end::RestoreRun,
    retry: retry::RetryRun,
    matching: matching::MatchingRun,
    plot: std::path::PathBuf,
}

/// The embedded stack: a registry in this process, the broker `make bench` started, and the
/// ledger's processor and projector; then the baselines, pgbench for as long as the ledger ran.
async fn end_to_end_figures(settings: &Settings, pool: &PgPool) -> anyhow::Result<EndToEnd> {
    let kafka = settings.kafka();
    let (registry_url, token) = serve_registry(pool).await?;
    let prefix = format!("bench-{}", Utc::now().timestamp());
    eprintln!("ledger end to end: {} transfers among {} accounts", settings.transfers, settings.accounts);
    let ledger =
        end_to_end::ledger(&kafka, pool, &registry_url, &prefix, settings.accounts, settings.transfers).await?;
    let broker_records = (ledger.records_per_transfer * ledger.transfers as f64) as usize;
    eprintln!("broker baseline: {broker_records} records (as many as the ledger run wrote)");
    let broker_records = broker_records.max(10_000);
    let broker = end_to_end::broker_baseline(&kafka, &prefix, broker_records, Compression::default()).await?;
    eprintln!("compression: the same records with lz4 (the codec before) and with gzip");
    let lz4 = end_to_end::broker_baseline(&kafka, &prefix, broker_records, Compression::Lz4).await?;
    let gzip = end_to_end::broker_baseline(&kafka, &prefix, broker_records, Compression::Gzip).await?;
    eprintln!("broker latency: {} records/s for {} s", end_to_end::LATENCY_RATE, end_to_end::LATENCY_SECONDS);
    let broker_latency =
        end_to_end::broker_latency(&kafka, &prefix, end_to_end::LATENCY_RATE, end_to_end::LATENCY_SECONDS).await?;
    let pgbench_seconds = ledger.seconds.round().max(5.0) as u64;
    eprintln!("pgbench: TPC-B-like for {pgbench_seconds} s");
    let pgbench_url = format!("{}_pgbench", settings.database_url.trim_end_matches('/'));
    clio_runtime::database::connect_creating(&pgbench_url).await?.close().await;
    let pgbench_tps = tokio::task::spawn_blocking(move || end_to_end::pgbench(&pgbench_url, pgbench_seconds)).await??;
    eprintln!("rebuild: {} events more on the ledger's log, then the read model rebuilt", settings.rebuild_events);
    let rebuild = end_to_end::rebuild(&kafka, pool, &registry_url, &prefix, settings.rebuild_events).await?;
    eprintln!("restore: {} accounts", settings.restore_accounts);
    let restore = end_to_end::restore(&kafka, &registry_url, &prefix, settings.restore_accounts).await?;
    eprintln!("retry: tasks against the sandbox, a job queue, lateness, memory");
    let retry = settings.retry_figures(&kafka, &registry_url, &prefix).await?;
    eprintln!("matching: a day of {} transactions, against the seed's approach", settings.matching_transactions);
    let matching = matching::figures(&kafka, pool, &registry_url, &prefix, settings.matching_transactions).await?;
    token.cancel();
    let plot = settings.report.with_file_name("end-to-end.png");
    plot::throughput(&ledger.credited_per_second, &plot)?;
    Ok(EndToEnd {
        broker,
        lz4,
        gzip,
        broker_records,
        pgbench_tps,
        pgbench_seconds,
        ledger,
        rebuild,
        broker_latency,
        restore,
        retry,
        matching,
        plot,
    })
}

impl Settings {
    /// The retry figures at the sizes set.
    async fn retry_figures(
        &self,
        kafka: &clio_runtime::settings::KafkaSettings,
        registry_url: &str,
        prefix: &str,
    ) -> anyhow::Result<retry::RetryRun> {
        retry::figures(kafka, &self.database_url, registry_url, prefix, self.retry_tasks, self.retry_scheduled).await
    }

    fn kafka(&self) -> clio_runtime::settings::KafkaSettings {
        clio_runtime::settings::KafkaSettings {
            fetch_wait_max_ms: self.fetch_wait_max_ms,
            ..clio_runtime::settings::KafkaSettings::for_brokers(self.brokers.clone())
        }
    }
}

/// The first line a program prints, or "unknown" (for the report's versions line).
fn first_line_of(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8_lossy(&output.stdout).lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The embedded registry on a free port of this process, until the token is cancelled.
async fn serve_registry(pool: &PgPool) -> anyhow::Result<(String, tokio_util::sync::CancellationToken)> {
    clio_registry::migrate(pool).await.context("registry tables")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the registry's port")?;
    let registry_url = format!("http://{}", listener.local_addr()?);
    let token = tokio_util::sync::CancellationToken::new();
    tokio::spawn(clio_registry::serve(
        listener,
        pool.clone(),
        std::sync::Arc::new(clio_keys::Keyring::open()),
        token.clone(),
    ));
    Ok((registry_url, token))
}

/// One figure alone, printed, with no baseline: what `make profile` records.
async fn one_figure(settings: &Settings, pool: &PgPool, figure: Figure) -> anyhow::Result<()> {
    let kafka = settings.kafka();
    let (registry_url, token) = serve_registry(pool).await?;
    let prefix = format!("bench-{}", Utc::now().timestamp());
    match figure {
        Figure::Ledger => {
            let run =
                end_to_end::ledger(&kafka, pool, &registry_url, &prefix, settings.accounts, settings.transfers).await?;
            println!(
                "ledger end to end: {} transfers in {:.1} s = {:.0} transfers/s; latency p50 {:.1} ms, p99 {:.1} ms",
                run.transfers,
                run.seconds,
                run.transfers as f64 / run.seconds,
                run.latency.p50_ms,
                run.latency.p99_ms
            );
            end_to_end::drop_read_model(pool, &end_to_end::schema_of(&prefix)).await?;
        }
        Figure::Apply => {
            let all = events(settings.events, Utc::now());
            let (apply, copy) = (apply_rate(pool, &all).await?, copy_rate(pool, &all).await?);
            println!(
                "projection apply: {} events in {:.2} s; COPY of the same rows {:.2} s",
                all.len(),
                apply.as_secs_f64(),
                copy.as_secs_f64()
            );
            for name in ["bench_apply", "bench_copy"] {
                end_to_end::drop_read_model(pool, name).await?;
            }
        }
        Figure::Compression => {
            for compression in [Compression::Gzip, Compression::Lz4, Compression::None] {
                let run = end_to_end::broker_baseline(&kafka, &prefix, settings.events, compression).await?;
                println!(
                    "broker with {}: {:.0} records/s produced then consumed (produce {:.0}/s, consume {:.0}/s)",
                    compression.as_kafka(),
                    run.ceiling_per_second,
                    run.produce_per_second,
                    run.consume_per_second
                );
            }
        }
        Figure::Retry => {
            let run = settings.retry_figures(&kafka, &registry_url, &prefix).await?;
            let mut rows = String::new();
            write_retry(&mut rows, &run)?;
            print!("{rows}");
        }
        Figure::Matching => {
            let run = matching::figures(&kafka, pool, &registry_url, &prefix, settings.matching_transactions).await?;
            let mut rows = String::new();
            write_matching(&mut rows, &run)?;
            print!("{rows}");
        }
        Figure::Restore => {
            let run = end_to_end::restore(&kafka, &registry_url, &prefix, settings.restore_accounts).await?;
            println!(
                "restore: {} accounts in {:.1} s ({:.1} s with an empty log)",
                run.accounts, run.with_accounts_seconds, run.empty_seconds
            );
        }
    }
    token.cancel();
    Ok(())
}
