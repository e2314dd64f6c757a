//! Which partitions a group consumer holds, with a generation per assignment, so that a loop
//! can tell a partition it has prepared (restored, positioned) from one that was revoked and
//! assigned again in the meantime and must be prepared afresh; and the offsets it has finished
//! but not committed yet, which a revocation commits before the partitions move.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

/// The current assignment, updated by the rebalance callback and read by the loop.
#[derive(Debug, Default)]
pub struct Assignments {
    current: Mutex<HashMap<(String, i32), u64>>,
    next: AtomicU64,
    /// Per partition, the next offset to commit: what comes before it is done.
    finished: Mutex<HashMap<(String, i32), i64>>,
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

    /// Records that everything before these offsets of `topic` is done (never moving back).
    pub fn finished(&self, topic: &str, offsets: &BTreeMap<i32, i64>) {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        for (&partition, &next) in offsets {
            let entry = finished.entry((topic.to_string(), partition)).or_insert(next);
            *entry = (*entry).max(next);
        }
    }

    /// The finished offsets of `topic` not committed yet, forgotten here: the caller commits
    /// them (and gives them back with [`Assignments::finished`] should that fail).
    pub fn take_finished(&self, topic: &str) -> BTreeMap<i32, i64> {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        let taken: BTreeMap<i32, i64> =
            finished.iter().filter(|((t, _), _)| t == topic).map(|((_, p), next)| (*p, *next)).collect();
        finished.retain(|(t, _), _| t != topic);
        taken
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i32), u64>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `offsets` of `topic` as a list to commit.
pub fn offsets_list(topic: &str, offsets: &BTreeMap<i32, i64>) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for (&partition, &next) in offsets {
        // Only fails for an offset that is not a position, which these never are.
        let _ = list.add_partition_offset(topic, partition, Offset::Offset(next));
    }
    list
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
    /// Before partitions move, what was finished on them is committed, so that their next
    /// owner does not read it again. (A consumer that lost them to an expired session is
    /// refused, and the next owner skips what it finds done on the log.)
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else { return };
        let mut offsets = TopicPartitionList::new();
        {
            let mut finished = self.assignments.finished.lock().unwrap_or_else(|e| e.into_inner());
            for element in list.elements() {
                if let Some(next) = finished.remove(&(element.topic().to_string(), element.partition())) {
                    let _ = offsets.add_partition_offset(element.topic(), element.partition(), Offset::Offset(next));
                }
            }
        }
        if offsets.count() > 0
            && let Err(error) = consumer.commit(&offsets, CommitMode::Sync)
        {
            debug!(%error, "committing finished offsets before a revocation did not work; the next owner skips them");
        }
    }

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
