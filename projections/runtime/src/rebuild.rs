//! Rebuild: the read model is built again from the earliest offset into a new schema while
//! the old one keeps serving, then the two are swapped in one transaction.
//!
//! 1. Take a session lock so that only one rebuild of a model runs; drop what an earlier,
//!    interrupted rebuild left (`<name>__rebuild`, its offset rows `<name>~rebuild`).
//! 2. Create `<name>__rebuild` with every migration, and read all partitions from the start,
//!    applying batches to it (with offsets under `<name>~rebuild`) until the lag to the live
//!    end is small.
//! 3. Swap, in one transaction: lock the live projection's offset rows (a live projector
//!    waits), apply the last records up to the end offsets, rename `<name>` to
//!    `<name>__retired` and `<name>__rebuild` to `<name>`, and set the live offsets to the
//!    rebuild's. Readers see the old tables until the commit and the new ones after it.
//!    A live projector's next transaction finds the offsets moved and re-reads from them.
//! 4. Drop `<name>__retired`.
//!
//! A crash before the commit leaves the live model as it was; run the rebuild again.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::{Offset, TopicPartitionList};
use sqlx::{Connection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::applier::{Applier, Settled};
use crate::batch::{self, Outcome, Target, TopicPartition};
use crate::projector::{Counters, ProjectorConfig, prepare};
use crate::schema::{self, ident};
use crate::{Error, ReadModel};

/// Below this many records behind the live end, the rebuild swaps (holding the live
/// projector back while it applies them).
const SWAP_LAG: i64 = 5_000;

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub counters: Counters,
    /// Records read from the log (events, duplicates and dead letters).
    pub records: u64,
    pub elapsed: Duration,
}

/// How the rebuild shows progress: a bar on a terminal, log lines otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Bar,
    Hidden,
}

/// Rebuilds the read model `config.name` from the log and swaps it in.
pub async fn rebuild<M: ReadModel>(
    kafka_settings: &KafkaSettings,
    pool: &PgPool,
    codec: &Codec,
    model: &M,
    config: &ProjectorConfig,
    progress: Progress,
    shutdown: &CancellationToken,
) -> anyhow::Result<RebuildReport> {
    let started = Instant::now();
    let name = config.name.as_str();
    prepare(pool, model, name).await.with_context(|| format!("preparing read model {name}"))?;
    let mut lock = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('clio.rebuild:' || $1))")
        .bind(name)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        return Err(Error::RebuildRunning(name.to_string()).into());
    }
    let result = rebuild_locked(kafka_settings, pool, codec, model, config, progress, shutdown, started).await;
    // Closing the session releases the lock even if unlocking fails.
    let _ =
        sqlx::query("SELECT pg_advisory_unlock(hashtext('clio.rebuild:' || $1))").bind(name).execute(&mut *lock).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn rebuild_locked<M: ReadModel>(
    kafka_settings: &KafkaSettings,
    pool: &PgPool,
    codec: &Codec,
    model: &M,
    config: &ProjectorConfig,
    progress: Progress,
    shutdown: &CancellationToken,
    started: Instant,
) -> anyhow::Result<RebuildReport> {
    let name = config.name.as_str();
    let building = schema::rebuild_schema(name);
    let offsets_key = schema::rebuild_offsets_key(name);
    schema::drop_schema(pool, &building).await?;
    sqlx::query("DELETE FROM clio.projection_offsets WHERE projection = $1").bind(&offsets_key).execute(pool).await?;
    schema::prepare(pool, &building, model.migrations()).await?;

    let marks = watermarks(kafka_settings, &config.topics).await?;
    // Each partition starts where its log starts now (retention may have removed the head).
    let (tps, lows): (Vec<TopicPartition>, Vec<i64>) = marks.iter().map(|(tp, (low, _))| (tp.clone(), *low)).unzip();
    let (topics, partitions): (Vec<String>, Vec<i32>) = tps.iter().cloned().unzip();
    sqlx::query(
        "INSERT INTO clio.projection_offsets (projection, topic, partition, next_offset)
         SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])",
    )
    .bind(&offsets_key)
    .bind(&topics)
    .bind(&partitions)
    .bind(&lows)
    .execute(pool)
    .await?;

    let total: i64 = marks.values().map(|(low, high)| high - low).sum();
    let bar = progress_bar(progress, total.max(0) as u64, name);
    let mut positions: HashMap<TopicPartition, i64> = tps.iter().cloned().zip(lows.iter().copied()).collect();
    let mut applier = Applier {
        pool: pool.clone(),
        model,
        target: Target { offsets_key: offsets_key.clone(), schema: building.clone() },
        producer: kafka::producer(kafka_settings)?,
        consumer_name: format!("clio-rebuild-{name}"),
        dead_letters: config.dead_letters.clone(),
        counters: Counters::default(),
    };
    let (sender, mut receiver) = mpsc::channel::<Vec<OwnedMessage>>(4);
    let reader = spawn_reader(kafka_settings, marks.keys().cloned().collect(), config.max_batch, sender)?;
    let mut records = 0u64;
    let mut target = marks.iter().map(|(tp, (_, high))| (tp.clone(), *high)).collect::<HashMap<_, _>>();
    let mut last_log = Instant::now();

    let result: anyhow::Result<()> = async {
        loop {
            // Catch up with `target`, the end offsets measured last.
            while target.iter().any(|(tp, high)| positions.get(tp).copied().unwrap_or(0) < *high) {
                let messages = tokio::select! {
                    _ = shutdown.cancelled() => return Err(Error::Cancelled.into()),
                    messages = receiver.recv() => messages.context("the log reader stopped")?,
                };
                records += messages.len() as u64;
                apply_messages(&mut applier, codec, &messages, &mut positions, shutdown).await?;
                bar.inc(messages.len() as u64);
                if bar.is_hidden() && last_log.elapsed() > Duration::from_secs(5) {
                    last_log = Instant::now();
                    info!(projection = name, done = bar.position(), total = bar.length(), "rebuilding");
                }
            }
            let marks = watermarks(kafka_settings, &config.topics).await?;
            let lag: i64 =
                marks.iter().map(|(tp, (_, high))| (high - positions.get(tp).copied().unwrap_or(0)).max(0)).sum();
            bar.inc_length(lag.max(0) as u64);
            target = marks.iter().map(|(tp, (_, high))| (tp.clone(), *high)).collect();
            if lag <= SWAP_LAG
                && let Some(applied) =
                    swap(&mut applier, codec, &mut receiver, &mut positions, kafka_settings, config, shutdown).await?
            {
                records += applied;
                bar.inc(applied);
                return Ok(());
            }
        }
    }
    .await;
    drop(receiver);
    let _ = reader.await;
    bar.finish_and_clear();
    result?;
    schema::drop_schema(pool, &schema::retired_schema(name)).await?;
    let report = RebuildReport { counters: applier.counters, records, elapsed: started.elapsed() };
    info!(
        projection = name,
        records,
        events = report.counters.events,
        seconds = report.elapsed.as_secs_f64(),
        "rebuild swapped in"
    );
    Ok(report)
}

fn progress_bar(progress: Progress, total: u64, name: &str) -> ProgressBar {
    let bar = match progress {
        Progress::Bar => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
        Progress::Hidden => ProgressBar::hidden(),
    };
    bar.set_length(total);
    bar.set_style(
        ProgressStyle::with_template(
            "rebuild {prefix} [{bar:30}] {human_pos}/{human_len} events  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

/// Decodes and applies one batch of records read by the rebuild's reader.
async fn apply_messages<M: ReadModel>(
    applier: &mut Applier<'_, M>,
    codec: &Codec,
    messages: &[OwnedMessage],
    positions: &mut HashMap<TopicPartition, i64>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let (batch, dead) = applier.decode(codec, messages, shutdown).await.ok_or(Error::Cancelled)?;
    if batch.is_empty() {
        return Ok(());
    }
    let expected: HashMap<TopicPartition, i64> =
        batch.ranges.keys().map(|tp| (tp.clone(), positions.get(tp).copied().unwrap_or(0))).collect();
    match applier.settle(batch, expected, dead, messages, shutdown).await {
        None => Err(Error::Cancelled.into()),
        Some(Settled::Moved(stored)) => bail!("the rebuild's offsets were moved by someone else: {stored:?}"),
        Some(Settled::Applied(ranges)) => {
            for (tp, range) in ranges {
                positions.insert(tp, range.next);
            }
            Ok(())
        }
    }
}

/// The swap transaction. `Some(records applied in it)` when the new model is live; `None`
/// when the tail could not be applied inside it (the caller catches up and tries again).
async fn swap<M: ReadModel>(
    applier: &mut Applier<'_, M>,
    codec: &Codec,
    receiver: &mut mpsc::Receiver<Vec<OwnedMessage>>,
    positions: &mut HashMap<TopicPartition, i64>,
    kafka_settings: &KafkaSettings,
    config: &ProjectorConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<u64>> {
    let name = config.name.as_str();
    let live = ident(name);
    let building = ident(&schema::rebuild_schema(name));
    let retired = ident(&schema::retired_schema(name));
    let mut conn = applier.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    // The live projector locks these rows first in every transaction: from here it waits.
    sqlx::query("SELECT 1 FROM clio.projection_offsets WHERE projection = $1 ORDER BY topic, partition FOR UPDATE")
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
    let ends = watermarks(kafka_settings, &config.topics).await?;
    batch::set_search_path(&mut tx, &applier.target.schema).await?;
    let mut tail: Vec<Vec<OwnedMessage>> = Vec::new();
    let mut applied = 0u64;
    let mut in_tx = positions.clone();
    let mut failed = false;
    while ends.iter().any(|(tp, (_, high))| in_tx.get(tp).copied().unwrap_or(0) < *high) {
        let messages = tokio::select! {
            _ = shutdown.cancelled() => return Err(Error::Cancelled.into()),
            messages = receiver.recv() => messages.context("the log reader stopped")?,
        };
        let (batch, dead) = applier.decode(codec, &messages, shutdown).await.ok_or(Error::Cancelled)?;
        tail.push(messages);
        if !dead.is_empty() || failed {
            failed = true; // dead letters and refusals are the applier's work, outside this transaction
            continue;
        }
        let expected: HashMap<TopicPartition, i64> =
            batch.ranges.keys().map(|tp| (tp.clone(), in_tx.get(tp).copied().unwrap_or(0))).collect();
        match batch::apply_in_tx(&mut tx, applier.model, &applier.target.offsets_key, &batch, &expected).await {
            Ok(Outcome::Applied { events, duplicates }) => {
                applier.counters.events += events as u64;
                applier.counters.duplicates += duplicates as u64;
                applied += tail.last().map_or(0, |m| m.len() as u64);
                for (tp, range) in &batch.ranges {
                    in_tx.insert(tp.clone(), range.next);
                }
            }
            Ok(Outcome::Moved(stored)) => bail!("the rebuild's offsets were moved by someone else: {stored:?}"),
            Err(_) => failed = true,
        }
    }
    if failed {
        tx.rollback().await?;
        for messages in tail {
            apply_messages(applier, codec, &messages, positions, shutdown).await?;
        }
        return Ok(None);
    }
    let live_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if live_exists {
        let sql = format!("ALTER SCHEMA {live} RENAME TO {retired}");
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    let sql = format!("ALTER SCHEMA {building} RENAME TO {live}");
    sqlx::query(&sql).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO clio.projection_offsets (projection, topic, partition, next_offset)
         SELECT $1, topic, partition, next_offset FROM clio.projection_offsets WHERE projection = $2
         ON CONFLICT (projection, topic, partition)
         DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()",
    )
    .bind(name)
    .bind(&applier.target.offsets_key)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM clio.projection_offsets WHERE projection = $1")
        .bind(&applier.target.offsets_key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(applied))
}

/// Low and high watermarks of every partition of `topics`.
async fn watermarks(
    kafka_settings: &KafkaSettings,
    topics: &[String],
) -> anyhow::Result<BTreeMap<TopicPartition, (i64, i64)>> {
    let settings = kafka_settings.clone();
    let topics = topics.to_vec();
    Ok(tokio::task::spawn_blocking(move || kafka::watermarks(&kafka::reader(&settings)?, &topics)).await??)
}

/// Reads every partition from its start, in batches, until the receiver goes away.
fn spawn_reader(
    kafka_settings: &KafkaSettings,
    partitions: Vec<TopicPartition>,
    max_batch: usize,
    sender: mpsc::Sender<Vec<OwnedMessage>>,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let reader = kafka::reader(kafka_settings)?;
    let mut list = TopicPartitionList::new();
    for (topic, partition) in &partitions {
        list.add_partition_offset(topic, *partition, Offset::Beginning)?;
    }
    reader.assign(&list)?;
    Ok(tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(max_batch);
        loop {
            match reader.poll(Duration::from_millis(50)) {
                Some(Ok(message)) => {
                    batch.push(message.detach());
                    if batch.len() < max_batch {
                        continue;
                    }
                }
                Some(Err(error)) => return Err(error.into()),
                None if batch.is_empty() => {
                    if sender.is_closed() {
                        return Ok(());
                    }
                    continue;
                }
                None => {}
            }
            if sender.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(max_batch))).is_err() {
                return Ok(());
            }
        }
    }))
}
