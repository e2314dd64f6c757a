//! `make bench`: measures Clio against baselines taken in the same run, and writes the figures
//! as ratios to a markdown report (machines here are noisy; only ratios travel).
//!
//! Figures so far:
//! - projection apply: ledger transfer-history events applied through the projection runtime
//!   (batches of 2,000, offsets and the event-id guard in the same transaction) against a raw
//!   binary COPY of the same rows into an identical table.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;
use clio_ledger::LedgerEvent;
use clio_ledger::messages::AccountTransfer;
use clio_ledger_projection::{LedgerModel, MIGRATIONS};
use clio_projection::Envelope;
use clio_projection::batch::{self, Batch, Outcome, Target};
use clio_projection::schema;
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
}

const BATCH: usize = 2_000;
const PARTITIONS: i32 = 4;
const TOPIC: &str = "ledger.events";

fn events(count: usize, at: DateTime<Utc>) -> Vec<Envelope<LedgerEvent>> {
    let mut offsets = [0i64; PARTITIONS as usize];
    (0..count)
        .map(|n| {
            let account = (n % 1_000) as i64;
            let partition = (account % i64::from(PARTITIONS)) as i32;
            let offset = offsets[partition as usize];
            offsets[partition as usize] += 1;
            let number = (n / 1_000) as i64 + 1;
            Envelope {
                topic: TOPIC.to_string(),
                partition,
                offset,
                event_id: format!("{n:032x}"),
                key: Some(format!("1/{account}")),
                event_at: at,
                traceparent: None,
                event: LedgerEvent::AccountTransfer(AccountTransfer {
                    debtor_id: 1,
                    creditor_id: account,
                    creation_date: 20_000,
                    transfer_number: number,
                    coordinator_type: "direct".into(),
                    sender: "7".into(),
                    recipient: account.to_string(),
                    acquired_amount: 100 + n as i64 % 900,
                    transfer_note: "invoice 2026-11".into(),
                    transfer_note_format: "text".into(),
                    committed_at: at.timestamp_micros(),
                    principal: number * 500,
                    ts: at.timestamp_micros(),
                    previous_transfer_number: number - 1,
                }),
            }
        })
        .collect()
}

async fn fresh_schema(pool: &PgPool, name: &str) -> anyhow::Result<()> {
    schema::drop_schema(pool, name).await?;
    sqlx::query("DELETE FROM clio.projection_offsets WHERE projection = $1").bind(name).execute(pool).await?;
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    let pool = clio_runtime::database::connect_creating(&settings.database_url).await?;
    schema::migrate_platform(&pool).await?;
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
    writeln!(report, "| figure | Clio | baseline | ratio | target |")?;
    writeln!(report, "|---|---|---|---|---|")?;
    writeln!(
        report,
        "| projection apply (ledger transfer history, batches of {BATCH}) | {apply:.0} events/s | raw binary COPY of the same rows: {copy:.0} rows/s | {:.2} | ≥ 0.50 |",
        apply / copy
    )?;
    writeln!(
        report,
        "\nNot measured yet: broker baseline, pgbench, ledger end to end, domain core, rebuild of 1 M events, latency, restore."
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
