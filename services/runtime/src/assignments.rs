//! Which partitions a group consumer holds, with a generation per assignment, so that a loop
//! can tell a partition it has prepared (restored, positioned) from one that was revoked and
//! assigned again in the meantime and must be prepared afresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tracing::{debug, error, info, warn};

/// The current assignment, updated by the rebalance callback and read by the loop.
#[derive(Debug, Default)]
pub struct Assignments {
    current: Mutex<HashMap<(String, i32), u64>>,
    next: AtomicU64,
}

impl Assignments {
    /// The generation of the assignment that gave this consumer `topic`/`partition`, or `None`
    /// when the partition is not assigned to it now.
    pub fn generation(&self, topic: &str, partition: i32) -> Option<u64> {
        self.lock().get(&(topic.to_string(), partition)).copied()
    }

    /// The partitions of `topic` this consumer holds now, with their generations.
    pub fn held(&self, topic: &str) -> Vec<(i32, u64)> {
        let mut held: Vec<(i32, u64)> =
            self.lock().iter().filter(|((t, _), _)| t == topic).map(|((_, p), g)| (*p, *g)).collect();
        held.sort_unstable();
        held
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i32), u64>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A consumer context that keeps an [`Assignments`] current.
#[derive(Debug, Default, Clone)]
pub struct TrackingContext {
    pub assignments: Arc<Assignments>,
}

/// A consumer's errors while the broker is away are reported once by the loop that meets them
/// ([`crate::outage`]); librdkafka's own line for each reconnect attempt is kept at debug level.
impl ClientContext for TrackingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let connection = fac == "FAIL" || log_message.contains("Connection refused");
        match level {
            _ if connection => debug!(target: "librdkafka", "librdkafka: {fac} {log_message}"),
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                error!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
            RDKafkaLogLevel::Warning => warn!(target: "librdkafka", "librdkafka: {fac} {log_message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                info!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
            RDKafkaLogLevel::Debug => debug!(target: "librdkafka", "librdkafka: {fac} {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let unreachable = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
        );
        if unreachable {
            debug!(%error, reason, "the broker is unreachable");
        } else {
            error!(%error, reason, "librdkafka reported an error");
        }
    }
}

impl ConsumerContext for TrackingContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut current = self.assignments.lock();
        match rebalance {
            Rebalance::Assign(list) => {
                for element in list.elements() {
                    let generation = self.assignments.next.fetch_add(1, Ordering::SeqCst) + 1;
                    current.insert((element.topic().to_string(), element.partition()), generation);
                }
                info!(partitions = ?list.elements().iter().map(|e| format!("{}/{}", e.topic(), e.partition())).collect::<Vec<_>>(), "partitions assigned");
            }
            Rebalance::Revoke(list) => {
                for element in list.elements() {
                    current.remove(&(element.topic().to_string(), element.partition()));
                }
                info!(partitions = list.count(), "partitions revoked");
            }
            Rebalance::Error(error) => warn!(%error, "rebalance error"),
        }
    }
}
