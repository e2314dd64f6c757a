//! The ledger's clock: `clio ledger scan`, and periodically inside `clio up`.
//!
//! Time-driven work (interest rate changes, capitalisation, deletion, purge, heartbeats,
//! reminders) is decided by the ledger itself when a `MaintainAccount` command reaches an
//! account; this scanner only finds the accounts for which some of it may be due, from the read
//! models, and sends each one such a command with the scan's time (`ts`, which may be ahead of
//! the broker's clock: `--at` shows what a date will bring) and its debtor's interest rate from
//! the root account's config.
//! The read models may lag: the scanner asks generously, the ledger decides exactly, and an
//! account asked for nothing answers with nothing.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clio_ledger::LedgerCommand;
use clio_ledger::messages::MaintainAccount;
use clio_ledger::rules;
use clio_ledger_projection::queries;
use clio_runtime::codec::Codec;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const PAGE: i64 = 1_000;

/// What one scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub debtors: usize,
    pub commands: usize,
}

/// Where the ledger's tools read and write: its read models and its commands topic.
#[derive(Debug, Clone)]
pub struct LedgerTarget {
    /// The Postgres schema of the ledger's read models.
    pub schema: String,
    pub commands_topic: String,
}

impl Default for LedgerTarget {
    fn default() -> Self {
        Self { schema: "ledger".into(), commands_topic: "ledger.commands".into() }
    }
}

/// One pass over the ledger's read models as of `now`.
pub async fn scan_once(
    pool: &PgPool,
    target: &LedgerTarget,
    producer: &FutureProducer,
    codec: &Codec,
    now: DateTime<Utc>,
    progress: bool,
) -> anyhow::Result<ScanReport> {
    let roots: Vec<(i64, String)> = sqlx::query_as(&queries::ROOT_CONFIGS.in_schema(&target.schema))
        .fetch_all(pool)
        .await
        .with_context(|| format!("reading the root accounts from the read model in schema {}", target.schema))?;
    let (debtors, rates): (Vec<i64>, Vec<f64>) = roots
        .iter()
        .map(|(debtor, config)| (*debtor, rules::parse_root_config(config).map(|c| c.rate).unwrap_or_default()))
        .unzip();
    let micros = now.timestamp_micros();
    let cutoff = |interval: i64| DateTime::<Utc>::from_timestamp_micros(micros - interval).unwrap_or(now);
    let sql = queries::DUE_FOR_MAINTENANCE.in_schema(&target.schema);
    let mut report = ScanReport { debtors: debtors.len(), commands: 0 };
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let page: Vec<(i64, i64, f64)> = sqlx::query_as(&sql)
            .bind(&debtors)
            .bind(&rates)
            .bind(after.0)
            .bind(after.1)
            .bind(cutoff(rules::PURGE_DELAY_MICROS))
            .bind(cutoff(rules::HEARTBEAT_INTERVAL_MICROS))
            .bind(cutoff(rules::INTEREST_RATE_CHANGE_MIN_INTERVAL_MICROS))
            .bind(rules::INTEREST_RATE_FLOOR)
            .bind(rules::INTEREST_RATE_CEIL)
            .bind(cutoff(rules::CAPITALIZATION_INTERVAL_MICROS))
            .bind(rules::DELETION_MAX_BALANCE)
            .bind(cutoff(rules::REMINDER_INTERVAL_MICROS))
            .bind(PAGE)
            .fetch_all(pool)
            .await
            .with_context(|| format!("finding accounts due for maintenance in schema {}", target.schema))?;
        let Some(&(debtor, creditor, _)) = page.last() else { break };
        after = (debtor, creditor);
        let commands: Vec<(String, LedgerCommand)> = page
            .iter()
            .map(|&(debtor_id, creditor_id, interest_rate)| {
                let tick = MaintainAccount { debtor_id, creditor_id, interest_rate, ts: micros };
                (rules::account_key(debtor_id, creditor_id), LedgerCommand::MaintainAccount(tick))
            })
            .collect();
        send_commands(producer, codec, &target.commands_topic, &commands).await?;
        report.commands += page.len();
        if progress {
            eprintln!("  {} accounts asked so far", report.commands);
        }
    }
    Ok(report)
}

/// Produces commands to the ledger, each keyed by its account, and waits for every
/// acknowledgement.
pub async fn send_commands(
    producer: &FutureProducer,
    codec: &Codec,
    topic: &str,
    commands: &[(String, LedgerCommand)],
) -> anyhow::Result<()> {
    let mut deliveries = Vec::with_capacity(commands.len());
    for (key, command) in commands {
        let payload = codec.encode(topic, command).await.with_context(|| format!("encoding a command for {topic}"))?;
        let record = FutureRecord::<str, [u8]>::to(topic).key(key).payload(&payload);
        // Queued at once (the future owns nothing of this loop's buffers).
        let delivery = producer.send_result(record).map_err(|(error, _)| error).context("queueing a command")?;
        deliveries.push(delivery);
    }
    for delivery in futures::future::join_all(deliveries).await {
        delivery
            .context("the producer went away")?
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing to {topic}"))?;
    }
    Ok(())
}

/// Scans every `interval` until shutdown (the first scan right away).
pub async fn run(
    pool: PgPool,
    target: LedgerTarget,
    producer: FutureProducer,
    codec: Codec,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let pause = match scan_once(&pool, &target, &producer, &codec, Utc::now(), false).await {
            Ok(report) => {
                tracing::info!(debtors = report.debtors, commands = report.commands, "ledger scan done");
                interval
            }
            // The read model may not exist yet (first start) or Postgres may be restarting:
            // try again soon rather than a whole interval later.
            Err(error) => {
                tracing::info!(error = %format!("{error:#}"), "ledger scan not possible yet; trying again in 30 s");
                interval.min(Duration::from_secs(30))
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
