//! Records made bad on purpose: bytes that are not Confluent-framed Avro, produced to the
//! ledger's and the retry domain's commands topics as a broken client would. Each must end as
//! one dead letter with its reason, and nothing else may.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::producer::FutureRecord;

use super::Target;

/// The key every bad record's key starts with.
pub const KEY_PREFIX: &str = "chaos-bad-";

/// Where a bad record landed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BadRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Produces `count` bad records to each commands topic; where they landed.
pub async fn produce(target: &Target, tag: &str, count: usize) -> anyhow::Result<Vec<BadRecord>> {
    let producer = clio_runtime::kafka::producer(&target.kafka).context("the bad records' producer")?;
    let mut landed = Vec::new();
    for topic in ["ledger.commands", "retry.commands"] {
        for n in 0..count {
            let key = format!("{KEY_PREFIX}{tag}-{n}");
            let payload = format!("not Avro: chaos {tag} {n}");
            // Sent once: a second copy would be a second bad record (the checks allow for it by
            // key, but there is no need to make one).
            let record = FutureRecord::to(topic).key(&key).payload(&payload);
            let delivery = producer
                .send(record, Duration::from_secs(600))
                .await
                .map_err(|(error, _)| error)
                .with_context(|| format!("producing a bad record to {topic}"))?;
            let (partition, offset) = (delivery.partition, delivery.offset);
            landed.push(BadRecord { topic: topic.to_string(), partition, offset });
        }
    }
    Ok(landed)
}
