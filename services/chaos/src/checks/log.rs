//! Checks on the log, the truth the read models are built from.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clio_ledger::LedgerEvent;
use clio_ledger_plug::demo::Journal;
use clio_matching::messages::MatchingEvent;
use clio_retry::messages::RetryEvent;
use clio_runtime::codec::Codec;
use clio_runtime::headers;
use clio_testkit::records::read_all;
use rdkafka::Message as _;
use rdkafka::message::{Headers as _, OwnedMessage};

use crate::workload::{Produced, Target};

/// Each domain's events topic.
pub const EVENT_TOPICS: [&str; 4] = ["ledger.events", "retry.events", "matching.events", "orders.events"];

fn header<'a>(message: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    let headers = message.headers()?;
    headers.iter().find(|h| h.key == name).and_then(|h| h.value).and_then(|v| std::str::from_utf8(v).ok())
}

/// `clio ledger audit`: no money created or lost.
pub async fn audit(target: &Target) -> anyhow::Result<(bool, String)> {
    let audited =
        clio_ledger_plug::audit::audit(&target.kafka, &target.registry, "ledger.events", Duration::from_secs(60)).await;
    Ok(match audited {
        Ok(()) => (true, "balanced: every debtor's money conserved".into()),
        Err(error) => (false, format!("{error:#}")),
    })
}

/// Every outcome whole (indexes 0..count, each there) and every event id with one content.
/// An event can be on the log twice with the same id: written by an instance that had lost its
/// partition without knowing yet, as well as by the new owner (docs/delivery.md); readers take
/// the first and leave the copy out, so a copy must be the same bytes.
pub async fn integrity(target: &Target) -> anyhow::Result<(bool, String)> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for topic in EVENT_TOPICS {
        let messages = read_all(&target.kafka, topic).await;
        let mut first: BTreeMap<&str, &OwnedMessage> = BTreeMap::new();
        let mut outcomes: BTreeMap<&str, (usize, BTreeSet<usize>)> = BTreeMap::new();
        let (mut copies, mut differing) = (0usize, Vec::new());
        for message in &messages {
            let Some(id) = header(message, headers::EVENT_ID) else {
                problems.push(format!("{topic} offset {}: no event id", message.offset()));
                continue;
            };
            if let Some(original) = first.get(id) {
                copies += 1;
                if original.payload() != message.payload() || original.key() != message.key() {
                    differing.push(format!("{id} at offsets {} and {}", original.offset(), message.offset()));
                }
                continue;
            }
            first.insert(id, message);
            let cause = header(message, headers::CAUSE).unwrap_or("");
            let index = header(message, headers::EVENT_INDEX).and_then(|i| i.parse().ok()).unwrap_or(0);
            let count = header(message, headers::EVENT_COUNT).and_then(|c| c.parse().ok()).unwrap_or(1);
            let outcome = outcomes.entry(cause).or_insert((count, BTreeSet::new()));
            outcome.1.insert(index);
        }
        let partial: Vec<_> = outcomes
            .iter()
            .filter(|(_, (count, indexes))| indexes.len() != *count || indexes.iter().any(|i| i >= count))
            .map(|(cause, (count, indexes))| format!("{cause}: {} of {count}", indexes.len()))
            .collect();
        if !differing.is_empty() {
            problems.push(format!(
                "{topic}: {} event ids with two different contents, e.g. {:?}",
                differing.len(),
                &differing[..differing.len().min(3)]
            ));
        }
        if !partial.is_empty() {
            problems.push(format!(
                "{topic}: {} outcomes partial, e.g. {:?}",
                partial.len(),
                &partial[..partial.len().min(3)]
            ));
        }
        summary.push(format!(
            "{topic}: {} events, {} outcomes, {copies} copies of an event by id (same bytes)",
            messages.len() - copies,
            outcomes.len()
        ));
    }
    let detail = if problems.is_empty() { summary.join("; ") } else { problems.join("; ") };
    Ok((problems.is_empty(), detail))
}

/// The records of `topic`, each event id once (the first copy, as every reader takes it).
async fn events_once(target: &Target, topic: &str) -> Vec<OwnedMessage> {
    let mut seen = BTreeSet::new();
    read_all(&target.kafka, topic)
        .await
        .into_iter()
        .filter(|message| header(message, headers::EVENT_ID).is_none_or(|id| seen.insert(id.to_string())))
        .collect()
}

/// Each transfer the workload prepared has its answer (prepared or rejected), and each one it
/// finalized was finalized exactly once.
pub async fn ledger_outcomes(target: &Target, journal: &Journal) -> anyhow::Result<(bool, String)> {
    let codec = Codec::new(&target.registry);
    let (mut answered, mut finalized) = (BTreeMap::<(i64, i64), usize>::new(), BTreeMap::<(i64, i64), usize>::new());
    for message in events_once(target, "ledger.events").await {
        let Some(payload) = message.payload() else { continue };
        match codec.decode_as::<LedgerEvent>(payload).await {
            Ok(LedgerEvent::PreparedTransfer(p)) if p.coordinator_type == "direct" => {
                *answered.entry((p.coordinator_id, p.coordinator_request_id)).or_default() += 1;
            }
            Ok(LedgerEvent::RejectedTransfer(r)) if r.coordinator_type == "direct" => {
                *answered.entry((r.coordinator_id, r.coordinator_request_id)).or_default() += 1;
            }
            Ok(LedgerEvent::FinalizedTransfer(f)) if f.coordinator_type == "direct" => {
                *finalized.entry((f.coordinator_id, f.coordinator_request_id)).or_default() += 1;
            }
            _ => {}
        }
    }
    let unanswered: Vec<_> = journal.prepared.iter().filter(|key| !answered.contains_key(key)).collect();
    let wrong: Vec<_> = journal
        .finalized
        .iter()
        .filter_map(|(sender, request, _)| {
            let n = finalized.get(&(*sender, *request)).copied().unwrap_or(0);
            (n != 1).then(|| format!("{sender}/{request} finalized {n} times"))
        })
        .collect();
    let passed = unanswered.is_empty() && wrong.is_empty();
    let detail = if passed {
        format!(
            "{} transfers prepared, each answered; {} finalized, each once",
            journal.prepared.len(),
            journal.finalized.len()
        )
    } else {
        format!("unanswered {unanswered:?}; {wrong:?}")
    };
    Ok((passed, detail))
}

/// Each retry task the workload created was created once on the log, and each match the
/// matching workload expects was decided once, with a merchant row of its own.
pub async fn decided_once(target: &Target, produced: &Produced) -> anyhow::Result<(bool, String)> {
    let codec = Codec::new(&target.registry);
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for message in events_once(target, "retry.events").await {
        let Some(payload) = message.payload() else { continue };
        if let Ok(RetryEvent::TaskCreated(t)) = codec.decode_as::<RetryEvent>(payload).await {
            *created.entry(t.task_id).or_default() += 1;
        }
    }
    let mut matched: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: BTreeMap<String, usize> = BTreeMap::new();
    for message in events_once(target, "matching.events").await {
        let Some(payload) = message.payload() else { continue };
        if let Ok(MatchingEvent::Matched(m)) = codec.decode_as::<MatchingEvent>(payload).await {
            *matched.entry(m.payment_transaction_id).or_default() += 1;
            *rows.entry(m.merchant_transaction_id).or_default() += 1;
        }
    }
    let tasks: Vec<&String> =
        produced.retry.joins.iter().map(|(_, _, id)| id).chain(produced.retry.http.iter()).collect();
    let mut problems: Vec<String> = tasks
        .iter()
        .filter_map(|id| {
            let n = created.get(*id).copied().unwrap_or(0);
            (n != 1).then(|| format!("task {id} created {n} times"))
        })
        .collect();
    problems.extend(matched.iter().filter(|(_, n)| **n > 1).map(|(p, n)| format!("payment {p} matched {n} times")));
    problems.extend(rows.iter().filter(|(_, n)| **n > 1).map(|(r, n)| format!("row {r} used {n} times")));
    let passed = problems.is_empty();
    let detail = if passed {
        format!("{} tasks created once each; {} matches, each payment and row once", tasks.len(), matched.len())
    } else {
        format!("{} problems, e.g. {:?}", problems.len(), &problems[..problems.len().min(5)])
    };
    Ok((passed, detail))
}
