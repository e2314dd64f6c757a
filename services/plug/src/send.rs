//! Producing one command to a domain's commands topic, keyed by the entity it is addressed
//! to: what each domain's client (its routes, its CLI, its workers) does to send.

use anyhow::Context as _;
use clio_aggregate::Aggregate;
use clio_runtime::codec::Codec;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Produces `command` of aggregate `A` to `topic`, keyed by its entity, and waits for the
/// broker's acknowledgement.
pub async fn send_command<A: Aggregate>(
    producer: &FutureProducer,
    codec: &Codec,
    topic: &str,
    command: &A::Command,
) -> anyhow::Result<()> {
    let payload = codec.encode(topic, command).await.with_context(|| format!("encoding a command for {topic}"))?;
    let key = A::entity_key(command);
    let record = FutureRecord::<str, [u8]>::to(topic).key(&key).payload(&payload);
    producer
        .send(record, std::time::Duration::from_secs(30))
        .await
        .map_err(|(error, _)| error)
        .with_context(|| format!("producing to {topic}"))?;
    Ok(())
}
