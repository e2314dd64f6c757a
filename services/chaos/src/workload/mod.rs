//! The workload driver: every domain at once, through stock clients and the gateway, as
//! integrators and the outside world use the platform, until told to stop. Each part writes
//! down what the platform acknowledged, for the checks.
//!
//! - [`ledger`]: the demo debtor's holders and two-phase transfers among them (every
//!   partition), through a Kafka producer;
//! - [`retry`]: joins through the gateway against the sandbox's scheme (some slow, some
//!   refused, some failing first), and HTTP tasks against the sandbox's echo that fail first
//!   with a Retry-After, through a Kafka producer;
//! - [`matching`]: a merchant's stores onboarded, then a batch of Visa auths and the
//!   merchant's own file imported with `clio matching import` every few seconds;
//! - [`orders`]: orders placed on the sandbox's marketplace with a customer's question, and a
//!   provider working each one's issue in the sandbox's tracker;
//! - [`bad`]: records no processor can read, on purpose, whose dead letters the checks expect.

pub mod bad;
pub mod ledger;
pub mod matching;
pub mod orders;
pub mod retry;

use std::time::Duration;

use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;

/// Where the platform under test is.
#[derive(Clone)]
pub struct Target {
    pub gateway: String,
    pub sandbox: String,
    pub kafka: KafkaSettings,
    pub registry: String,
    pub database_url: String,
    pub pool: PgPool,
}

/// What the workload had acknowledged when it stopped.
#[derive(Debug, Default)]
pub struct Produced {
    pub ledger: clio_ledger_plug::demo::Journal,
    pub retry: retry::Sent,
    pub matching: matching::Sent,
    pub orders: orders::Sent,
    pub bad: Vec<bad::BadRecord>,
}

/// Tries `attempt` every half second until it succeeds or `patience` has passed, as a client
/// does while the platform restarts; the last error otherwise.
pub async fn patiently<T>(
    patience: Duration,
    mut attempt: impl AsyncFnMut() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if tokio::time::Instant::now() >= deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
