//! Sending commands to the retry domain: what its routes, its commands and its worker share.

use anyhow::Context as _;
use clio_aggregate::Aggregate as _;
use clio_retry::decide::Retry;
use clio_retry::messages::RetryCommand;
use clio_runtime::codec::Codec;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The retry domain's commands topic, and what it takes to produce to it.
#[derive(Clone)]
pub struct RetryClient {
    pub producer: FutureProducer,
    pub codec: Codec,
    pub commands_topic: String,
}

impl RetryClient {
    /// Produces `command`, keyed by its task, and waits for the broker's acknowledgement.
    pub async fn send(&self, command: &RetryCommand) -> anyhow::Result<()> {
        let topic = &self.commands_topic;
        let payload =
            self.codec.encode(topic, command).await.with_context(|| format!("encoding a command for {topic}"))?;
        let key = Retry::entity_key(command);
        let record = FutureRecord::<str, [u8]>::to(topic).key(&key).payload(&payload);
        self.producer
            .send(record, std::time::Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("producing to {topic}"))?;
        Ok(())
    }
}

/// Microseconds since the epoch, now.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
