//! Sending commands to the matching domain: what its commands and routes share.

use anyhow::Context as _;
use clio_aggregate::Aggregate as _;
use clio_matching::entity::Matching;
use clio_matching::messages::MatchingCommand;
use clio_runtime::codec::Codec;
use clio_runtime::kafka::{Outgoing, send_all};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureProducer;

/// How many commands a bulk send hands the producer before it waits for their
/// acknowledgements. The producer queues them in the order given, so rows of one entity keep
/// their file's order.
const CHUNK: usize = 2_000;

/// The matching domain's commands topic, and what it takes to produce to it.
#[derive(Clone)]
pub struct MatchingClient {
    pub producer: FutureProducer,
    pub codec: Codec,
    pub commands_topic: String,
}

impl MatchingClient {
    /// Produces `command`, keyed by its entity, and waits for the broker's acknowledgement.
    pub async fn send(&self, command: &MatchingCommand) -> anyhow::Result<()> {
        clio_plug::send_command::<Matching>(&self.producer, &self.codec, &self.commands_topic, command).await
    }

    /// Produces every command, in order, a chunk at a time, and waits for every
    /// acknowledgement; `acknowledged` hears how many more the broker took after each chunk.
    pub async fn send_all(&self, commands: &[MatchingCommand], acknowledged: impl Fn(usize)) -> anyhow::Result<()> {
        let topic = &self.commands_topic;
        for chunk in commands.chunks(CHUNK) {
            let mut outgoing = Vec::with_capacity(chunk.len());
            for command in chunk {
                let payload = self
                    .codec
                    .encode(topic, command)
                    .await
                    .with_context(|| format!("encoding a command for {topic}"))?;
                outgoing.push(Outgoing {
                    topic: topic.clone(),
                    partition: None,
                    key: Some(Matching::entity_key(command).into_bytes()),
                    payload: Some(payload),
                    headers: OwnedHeaders::new(),
                });
            }
            send_all(&self.producer, outgoing).await.with_context(|| format!("producing to {topic}"))?;
            acknowledged(chunk.len());
        }
        Ok(())
    }
}

pub use clio_plug::now_micros;
