//! Sending commands to the retry domain: what its routes, its commands and its worker share.

use clio_retry::decide::Retry;
use clio_retry::messages::RetryCommand;
use clio_runtime::codec::Codec;
use rdkafka::producer::FutureProducer;

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
        clio_plug::send_command::<Retry>(&self.producer, &self.codec, &self.commands_topic, command).await
    }
}

pub use clio_plug::now_micros;
