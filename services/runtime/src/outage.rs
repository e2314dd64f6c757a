//! Riding out a broker outage. librdkafka reconnects by itself; what a consumer loop sees
//! meanwhile is a stream of errors (transport failures, all brokers down), queued at the pace
//! of librdkafka's reconnect attempts, many a second. A loop hands each to [`Outage::failed`],
//! which logs the outage once (then every minute) and lets the loop ask again after `pause`;
//! [`Outage::recovered`] logs its end.
//!
//! A consumer's pause must be short: its errors wait in the same queue as its records and its
//! rebalance events, so a second's pause per error leaves a minute's outage minutes of queued
//! errors to drain, with the partitions' reassignment stuck behind them.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long a consumer loop waits after an error before asking again: enough that an error
/// repeated at once cannot spin a core, short enough to drain a queue of them quickly.
pub const CONSUMER_PAUSE: Duration = Duration::from_millis(10);
/// How long a loop that produces waits after a refused send before trying again.
pub const PRODUCER_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Outage {
    since: Option<Instant>,
    last_logged: Option<Instant>,
    errors: u64,
}

impl Outage {
    /// Records an error of `what` and waits `pause` (less when shutdown comes). Returns
    /// `false` when shutdown came.
    pub async fn failed(&mut self, what: &str, error: &str, pause: Duration, shutdown: &CancellationToken) -> bool {
        let now = Instant::now();
        self.errors += 1;
        let since = *self.since.get_or_insert(now);
        if self.last_logged.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60)) {
            self.last_logged = Some(now);
            warn!(%error, seconds = since.elapsed().as_secs(), errors = self.errors,
                  "{what}: the broker does not answer; waiting for it (work resumes when it returns)");
        }
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }

    /// Marks the end of an outage, if there was one.
    pub fn recovered(&mut self, what: &str) {
        if let Some(since) = self.since.take() {
            info!(seconds = since.elapsed().as_secs_f64(), errors = self.errors, "{what}: the broker answers again");
            self.last_logged = None;
            self.errors = 0;
        }
    }
}
