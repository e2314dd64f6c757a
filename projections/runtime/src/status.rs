//! Where each projection stands: its stored offsets, the broker's end offsets, and the lag.

use std::collections::BTreeMap;

use anyhow::Context as _;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use sqlx::PgPool;

use crate::schema;

/// One partition of one projection (or of a rebuild in progress, `<name>~rebuild`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatus {
    pub projection: String,
    pub topic: String,
    pub partition: i32,
    /// The next offset to apply, as stored in `clio.projection_offsets`; `None` before the
    /// projection has applied anything from this partition.
    pub next_offset: Option<i64>,
    /// The broker's end offset (high watermark).
    pub end_offset: i64,
    /// Records not applied yet.
    pub lag: i64,
}

/// The status of each named projection (with the topics it reads), partition by partition.
pub async fn status(
    kafka_settings: &KafkaSettings,
    pool: &PgPool,
    projections: &[(String, Vec<String>)],
) -> anyhow::Result<Vec<PartitionStatus>> {
    schema::migrate_platform(pool).await?;
    let rows: Vec<(String, String, i32, i64)> =
        sqlx::query_as("SELECT projection, topic, partition, next_offset FROM clio.projection_offsets")
            .fetch_all(pool)
            .await
            .context("reading clio.projection_offsets")?;
    let stored: BTreeMap<(String, String, i32), i64> =
        rows.into_iter().map(|(projection, topic, partition, next)| ((projection, topic, partition), next)).collect();
    let settings = kafka_settings.clone();
    let topics: Vec<String> = projections.iter().flat_map(|(_, topics)| topics.clone()).collect();
    let marks = tokio::task::spawn_blocking(move || kafka::watermarks(&kafka::reader(&settings)?, &topics))
        .await?
        .context("reading end offsets")?;

    let mut out = Vec::new();
    for (name, topics) in projections {
        for key in [name.clone(), schema::rebuild_offsets_key(name)] {
            let rebuilding = key != *name;
            if rebuilding && !stored.keys().any(|(p, _, _)| *p == key) {
                continue;
            }
            for ((topic, partition), (low, high)) in marks.iter().filter(|((t, _), _)| topics.contains(t)) {
                let next_offset = stored.get(&(key.clone(), topic.clone(), *partition)).copied();
                let lag = (high - next_offset.unwrap_or(0).max(*low)).max(0);
                out.push(PartitionStatus {
                    projection: key.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    next_offset,
                    end_offset: *high,
                    lag,
                });
            }
        }
    }
    Ok(out)
}
