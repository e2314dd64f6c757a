//! The tally's processor running inside a test, and the tally commands tests send.

use std::time::Duration;

use clio_runtime::codec::Codec;
use clio_runtime::processor::{self, ProcessorConfig, ProcessorTopics};
use tokio_util::sync::CancellationToken;

use crate::harness::TestEnv;
use crate::tally::{Deposit, Export, Schedule, Tally, TallyCommand, Transfer};

pub fn deposit(id: &str, counter: &str, amount: i64) -> (String, TallyCommand) {
    (counter.to_string(), TallyCommand::Deposit(Deposit { command_id: id.into(), counter: counter.into(), amount }))
}

pub fn transfer(id: &str, from: &str, to: &str, amount: i64) -> (String, TallyCommand) {
    (
        from.to_string(),
        TallyCommand::Transfer(Transfer { command_id: id.into(), counter: from.into(), to: to.into(), amount }),
    )
}

pub fn schedule(id: &str, counter: &str, delay_ms: i64, amount: i64) -> (String, TallyCommand) {
    (
        counter.to_string(),
        TallyCommand::Schedule(Schedule { command_id: id.into(), counter: counter.into(), delay_ms, amount }),
    )
}

pub fn export(id: &str, counter: &str, to_topic: &str, to_counter: &str, amount: i64) -> (String, TallyCommand) {
    let command = Export {
        command_id: id.into(),
        counter: counter.into(),
        to_topic: to_topic.into(),
        to_counter: to_counter.into(),
        amount,
    };
    (counter.to_string(), TallyCommand::Export(command))
}

/// A processor running in this test's runtime; stops when the guard drops.
pub struct Running {
    token: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<processor::Counters>>>,
}

impl Running {
    pub fn start(env: &TestEnv, topics: &ProcessorTopics) -> Self {
        let config = ProcessorConfig {
            topics: topics.clone(),
            group_id: format!("{}-group", topics.commands),
            max_batch: 50,
            linger: Duration::from_millis(5),
            snapshot_interval: Duration::ZERO,
            ..ProcessorConfig::for_domain("tally")
        };
        let token = CancellationToken::new();
        let (kafka, codec, stop) = (env.kafka.clone(), Codec::new(&env.registry_url), token.clone());
        let task = tokio::spawn(async move { processor::run::<Tally>(&kafka, codec, config, stop).await });
        Self { token, task: Some(task) }
    }

    pub async fn stop(mut self) -> processor::Counters {
        self.token.cancel();
        self.task.take().expect("running").await.expect("joined").expect("processor ran cleanly")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}
