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

/// Every event once (by its id) and every outcome whole (indexes 0..count, each once).
pub async fn integrity(target: &Target) -> anyhow::Result<(bool, String)> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for topic in EVENT_TOPICS {
        let messages = read_all(&target.kafka, topic).await;
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut outcomes: BTreeMap<&str, (usize, BTreeSet<usize>)> = BTreeMap::new();
        for message in &messages {
            let Some(id) = header(message, headers::EVENT_ID) else {
                problems.push(format!("{topic} offset {}: no event id", message.offset()));
                continue;
            };
            *ids.entry(id).or_default() += 1;
            let cause = header(message, headers::CAUSE).unwrap_or("");
            let index = header(message, headers::EVENT_INDEX).and_then(|i| i.parse().ok()).unwrap_or(0);
            let count = header(message, headers::EVENT_COUNT).and_then(|c| c.parse().ok()).unwrap_or(1);
            let outcome = outcomes.entry(cause).or_insert((count, BTreeSet::new()));
            outcome.1.insert(index);
        }
        let doubled: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).map(|(id, n)| format!("{id} ×{n}")).collect();
        let partial: Vec<_> = outcomes
            .iter()
            .filter(|(_, (count, indexes))| indexes.len() != *count || indexes.iter().any(|i| i >= count))
            .map(|(cause, (count, indexes))| format!("{cause}: {} of {count}", indexes.len()))
            .collect();
        if !doubled.is_empty() {
            problems.push(format!(
                "{topic}: {} events twice, e.g. {:?}",
                doubled.len(),
                &doubled[..doubled.len().min(3)]
            ));
        }
        if !partial.is_empty() {
            problems.push(format!(
                "{topic}: {} outcomes partial, e.g. {:?}",
                partial.len(),
                &partial[..partial.len().min(3)]
            ));
        }
        summary.push(format!("{topic}: {} events, {} outcomes", messages.len(), outcomes.len()));
    }
    let detail = if problems.is_empty() { summary.join("; ") } else { problems.join("; ") };
    Ok((problems.is_empty(), detail))
}

/// Each transfer the workload prepared has its answer (prepared or rejected), and each one it
/// finalized was finalized exactly once.
pub async fn ledger_outcomes(target: &Target, journal: &Journal) -> anyhow::Result<(bool, String)> {
    let codec = Codec::new(&target.registry);
    let (mut answered, mut finalized) = (BTreeMap::<(i64, i64), usize>::new(), BTreeMap::<(i64, i64), usize>::new());
    for message in read_all(&target.kafka, "ledger.events").await {
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
    for message in read_all(&target.kafka, "retry.events").await {
        let Some(payload) = message.payload() else { continue };
        if let Ok(RetryEvent::TaskCreated(t)) = codec.decode_as::<RetryEvent>(payload).await {
            *created.entry(t.task_id).or_default() += 1;
        }
    }
    let mut matched: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: BTreeMap<String, usize> = BTreeMap::new();
    for message in read_all(&target.kafka, "matching.events").await {
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
