//! `clio ledger audit`: reads every ledger event from the log (the truth, not a read model)
//! and checks conservation per debtor, exactly, also while transfers flow:
//! 1. the cut: every partition's end offset, taken together, bounds what is read;
//! 2. each partition is read to its end outcome by outcome (the `clio.cause` and
//!    `clio.event-index/count` headers); an outcome still being written at the end of the cut
//!    is left out whole, as a restore would finish it; a copy of an event already read (same
//!    `clio.event-id`) is left out;
//! 3. credits that are in the cut without their sender's commit (the processor sends a credit
//!    before the sender's events) count as in flight the other way, and are confirmed by
//!    reading the sender's partition on past the cut, for up to `--settle-seconds`; a credit
//!    whose commit never comes is reported as money created.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clio_aggregate::partition_for_key;
use clio_ledger::LedgerEvent;
use clio_ledger::audit::{Audit, ChangeKey, commit_of};
use clio_runtime::codec::Codec;
use clio_runtime::{headers, kafka};
use rdkafka::Message as _;
use rdkafka::consumer::Consumer as _;
use rdkafka::message::OwnedMessage;

/// The events of one cause's outcome, as they are read.
struct Outcome {
    cause: Option<String>,
    count: usize,
    first_offset: i64,
    events: Vec<LedgerEvent>,
}

/// What reading one partition of the cut found.
struct PartitionRead {
    events: u64,
    /// Where reading on after the cut starts: the first event of an outcome left out, or the
    /// end of the cut.
    resume_at: i64,
}

/// Audits the ledger's events on `topic`; fails when money was created or lost. Waits up to
/// `settle` for the commits of credits applied ahead of them.
pub async fn audit(
    kafka_settings: &clio_runtime::settings::KafkaSettings,
    registry_url: &str,
    topic: &str,
    settle: Duration,
) -> anyhow::Result<()> {
    let codec = Codec::new(registry_url);
    let topic = topic.to_string();
    let kafka_settings = kafka_settings.clone();
    let ends = {
        let (kafka_settings, topic) = (kafka_settings.clone(), topic.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<i64>> {
            let reader = kafka::reader(&kafka_settings)?;
            let partitions = kafka::partition_count(&reader, &topic).with_context(|| format!("topic {topic}"))?;
            (0..partitions)
                .map(|p| Ok(reader.fetch_watermarks(&topic, p, kafka::METADATA_TIMEOUT)?.1))
                .collect::<anyhow::Result<Vec<i64>>>()
        })
        .await??
    };

    let mut audit = Audit::default();
    let mut resume_at = Vec::with_capacity(ends.len());
    let mut records = 0u64;
    for (partition, &end) in ends.iter().enumerate() {
        let read = read_cut(&kafka_settings, &codec, &topic, partition as i32, end, &mut audit, records).await?;
        records += read.events;
        resume_at.push(read.resume_at);
    }

    let ahead = audit.credits_ahead();
    let unconfirmed = if ahead.is_empty() {
        Vec::new()
    } else {
        let wanted: BTreeSet<ChangeKey> = ahead.iter().map(|(key, _)| *key).collect();
        let missing = confirm(&kafka_settings, &codec, &topic, &resume_at, wanted, settle).await?;
        ahead.iter().filter(|(key, _)| missing.contains(key)).copied().collect()
    };

    let report = audit.report();
    let mut violations = 0;
    for debtor in &report {
        let verdict = if debtor.balanced() { "ok" } else { "MONEY CREATED OR LOST" };
        println!(
            "debtor {}: {} accounts, principals {}, in flight {}, sum {}: {verdict}",
            debtor.debtor_id,
            debtor.accounts,
            debtor.principals,
            debtor.in_flight - debtor.ahead,
            debtor.sum()
        );
        violations += usize::from(!debtor.balanced());
    }
    let confirmed = ahead.len() - unconfirmed.len();
    if confirmed > 0 {
        println!(
            "{confirmed} credit(s) were applied before their sender's commit reached the cut; each commit followed"
        );
    }
    for ((debtor, sender, change), amount) in &unconfirmed {
        println!(
            "debtor {debtor}: a credit of {amount} from account {sender} (change {change}) was applied, \
             but account {sender} never committed it: MONEY CREATED"
        );
    }
    println!("{records} events, {} debtors, {violations} out of balance", report.len());
    if violations > 0 || !unconfirmed.is_empty() {
        bail!(
            "conservation violated: {violations} debtor(s) out of balance, {} credit(s) without a commit",
            unconfirmed.len()
        );
    }
    Ok(())
}

/// Reads one partition up to `end` into `audit`, a whole outcome at a time.
async fn read_cut(
    kafka_settings: &clio_runtime::settings::KafkaSettings,
    codec: &Codec,
    topic: &str,
    partition: i32,
    end: i64,
    audit: &mut Audit,
    records_before: u64,
) -> anyhow::Result<PartitionRead> {
    let mut receiver = stream(kafka_settings, topic, partition, 0, end);
    let mut open: Option<Outcome> = None;
    let mut events = 0u64;
    let mut seen = HashSet::new();
    let record_all = |audit: &mut Audit, outcome: Outcome| outcome.events.iter().for_each(|e| audit.record(e));
    while let Some(message) = receiver.recv().await {
        let message = message?;
        events += 1;
        if (records_before + events).is_multiple_of(100_000) {
            eprintln!("  {} events read", records_before + events);
        }
        let Some(payload) = message.payload() else { continue };
        // A copy of an event already read (two owners for a moment: docs/delivery.md).
        let id = headers::get(&message, headers::EVENT_ID).and_then(|id| u128::from_str_radix(id, 16).ok());
        if id.is_some_and(|id| !seen.insert(id)) {
            continue;
        }
        let event: LedgerEvent = codec.decode_as(payload).await.with_context(|| {
            format!("event at {}/{}/{} does not decode", message.topic(), message.partition(), message.offset())
        })?;
        let cause = headers::get(&message, headers::CAUSE).map(str::to_string);
        let index: usize = headers::get(&message, headers::EVENT_INDEX).and_then(|i| i.parse().ok()).unwrap_or(0);
        let count: usize = headers::get(&message, headers::EVENT_COUNT).and_then(|c| c.parse().ok()).unwrap_or(1);
        if open.as_ref().is_some_and(|o| o.cause.is_none() || o.cause != cause) {
            // An outcome followed by another is taken as it is, as a restore takes it.
            record_all(audit, open.take().expect("checked"));
        }
        let outcome =
            open.get_or_insert_with(|| Outcome { cause, count, first_offset: message.offset(), events: Vec::new() });
        outcome.events.push(event);
        if index + 1 >= outcome.count {
            record_all(audit, open.take().expect("just filled"));
        }
    }
    Ok(PartitionRead { events, resume_at: open.map_or(end, |o| o.first_offset) })
}

/// Reads on past the cut until every credit in `wanted` has its sender's commit on the log,
/// or `settle` has passed; returns the credits still without one.
async fn confirm(
    kafka_settings: &clio_runtime::settings::KafkaSettings,
    codec: &Codec,
    topic: &str,
    resume_at: &[i64],
    mut wanted: BTreeSet<ChangeKey>,
    settle: Duration,
) -> anyhow::Result<BTreeSet<ChangeKey>> {
    let partitions = resume_at.len() as i32;
    // The sender's commit is on the sender account's partition.
    let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
    for (debtor, sender, _) in &wanted {
        let partition = partition_for_key(format!("{debtor}/{sender}").as_bytes(), partitions);
        positions.insert(partition, resume_at[partition as usize]);
    }
    let deadline = Instant::now() + settle;
    loop {
        for (&partition, from) in positions.iter_mut() {
            let end = {
                let (kafka_settings, topic) = (kafka_settings.clone(), topic.to_string());
                tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
                    Ok(kafka::reader(&kafka_settings)?.fetch_watermarks(&topic, partition, kafka::METADATA_TIMEOUT)?.1)
                })
                .await??
            };
            let mut receiver = stream(kafka_settings, topic, partition, *from, end);
            while let Some(message) = receiver.recv().await {
                let Some(payload) = message?.payload().map(<[u8]>::to_vec) else { continue };
                if let Ok(event) = codec.decode_as::<LedgerEvent>(&payload).await
                    && let Some((key, _)) = commit_of(&event)
                {
                    wanted.remove(&key);
                }
            }
            *from = end;
        }
        if wanted.is_empty() || Instant::now() >= deadline {
            return Ok(wanted);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The records of `partition` in `[from, until)`, read on a blocking thread.
fn stream(
    kafka_settings: &clio_runtime::settings::KafkaSettings,
    topic: &str,
    partition: i32,
    from: i64,
    until: i64,
) -> tokio::sync::mpsc::Receiver<anyhow::Result<OwnedMessage>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(10_000);
    let (kafka_settings, topic) = (kafka_settings.clone(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let read = kafka::reader(&kafka_settings).and_then(|reader| {
            kafka::read_range(&reader, &topic, partition, from, until, |message| {
                let _ = sender.blocking_send(Ok(message));
            })
        });
        if let Err(error) = read {
            let _ =
                sender.blocking_send(Err(anyhow::Error::from(error).context(format!("reading {topic}/{partition}"))));
        }
    });
    receiver
}
