//! `clio ledger audit`: reads every ledger event from the log (the truth, not a read model)
//! and checks conservation per debtor.

use anyhow::{Context as _, bail};
use clio_ledger::LedgerEvent;
use clio_ledger::audit::Audit;
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use rdkafka::Message as _;

use crate::cli::AuditSettings;

pub async fn audit(settings: &AuditSettings) -> anyhow::Result<()> {
    let codec = Codec::new(&settings.registry.registry_url);
    let (kafka_settings, topic) = (settings.kafka.clone(), settings.topic.clone());
    let (sender, mut receiver) = tokio::sync::mpsc::channel(10_000);
    let reading = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let reader = kafka::reader(&kafka_settings)?;
        for partition in 0..kafka::partition_count(&reader, &topic).with_context(|| format!("topic {topic}"))? {
            kafka::read_partition(&reader, &topic, partition, 0, |message| {
                let _ = sender.blocking_send(message);
            })?;
        }
        Ok(())
    });
    let mut audit = Audit::default();
    let mut records = 0u64;
    while let Some(message) = receiver.recv().await {
        records += 1;
        if records.is_multiple_of(100_000) {
            eprintln!("  {records} events read");
        }
        let Some(payload) = message.payload() else { continue };
        let event: LedgerEvent = codec.decode_as(payload).await.with_context(|| {
            format!("event at {}/{}/{} does not decode", message.topic(), message.partition(), message.offset())
        })?;
        audit.record(&event);
    }
    reading.await??;
    let report = audit.report();
    let mut violations = 0;
    for debtor in &report {
        let verdict = if debtor.balanced() { "ok" } else { "MONEY CREATED OR LOST" };
        println!(
            "debtor {}: {} accounts, principals {}, in flight {}, sum {}: {verdict}",
            debtor.debtor_id,
            debtor.accounts,
            debtor.principals,
            debtor.in_flight,
            debtor.principals + debtor.in_flight
        );
        violations += usize::from(!debtor.balanced());
    }
    println!("{records} events, {} debtors, {violations} out of balance", report.len());
    if violations > 0 {
        bail!("conservation violated for {violations} debtor(s)");
    }
    Ok(())
}
