//! Where each processor stands: its consumer group's committed offsets against the end of its
//! commands topic, per partition (the console's and `/metrics`' processor lag).

use std::sync::Arc;

use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};

/// One partition of a processor's commands topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorPosition {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The next offset the group will read (None: it has committed nothing there).
    pub committed: Option<i64>,
    pub end: i64,
}

impl ProcessorPosition {
    pub fn lag(&self) -> i64 {
        self.end - self.committed.unwrap_or(0)
    }
}

/// Each domain's processor group and its commands topic.
pub fn processor_groups(domains: &[Arc<dyn clio_plug::Domain>]) -> Vec<(String, String)> {
    domains
        .iter()
        .map(|domain| {
            let config = domain.home().processor_config();
            (config.group_id, config.topics.commands)
        })
        .collect()
}

/// Where each `(group, topic)` stands. Blocking: call it off the async threads.
pub fn processors(kafka: &KafkaSettings, groups: &[(String, String)]) -> Result<Vec<ProcessorPosition>, String> {
    let mut positions = Vec::new();
    for (group, topic) in groups {
        // A consumer that names the group to read its commits; it never joins the group.
        let consumer: BaseConsumer =
            kafka::consumer_config(kafka, group).map_err(|e| e.to_string())?.create().map_err(|e| e.to_string())?;
        let partitions = kafka::partition_count(&consumer, topic).map_err(|e| e.to_string())?;
        let mut wanted = TopicPartitionList::new();
        for partition in 0..partitions {
            wanted.add_partition(topic, partition);
        }
        let committed = consumer.committed_offsets(wanted, kafka::METADATA_TIMEOUT).map_err(|e| e.to_string())?;
        for partition in 0..partitions {
            let (_, end) =
                consumer.fetch_watermarks(topic, partition, kafka::METADATA_TIMEOUT).map_err(|e| e.to_string())?;
            let committed = match committed.find_partition(topic, partition).map(|p| p.offset()) {
                Some(Offset::Offset(offset)) => Some(offset),
                _ => None,
            };
            positions.push(ProcessorPosition { group: group.clone(), topic: topic.clone(), partition, committed, end });
        }
    }
    Ok(positions)
}
