//! The entries of `platform.dead_letters` as operators read them.

use chrono::{DateTime, Utc};
use clio_platform_projection::queries;
use serde::Serialize;

use crate::{DeadLetters, Error, Position};

/// One record one consumer could not handle.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub consumer: String,
    pub record_key: String,
    pub reason: String,
    pub value_bytes: i64,
    /// PARKED or REPLAYED.
    pub status: String,
    /// Dead letters received for it (a re-sent batch, a failure after a replay).
    pub copies: i32,
    pub dead_letter_topic: String,
    pub dead_letter_partition: i32,
    pub dead_letter_offset: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub replays: i32,
    pub replayed_by: Option<String>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replayed_to_partition: Option<i32>,
    pub replayed_to_offset: Option<i64>,
}

impl Entry {
    pub fn position(&self) -> Position {
        (self.source_topic.clone(), self.source_partition, self.source_offset)
    }
}

/// Which entries: each condition that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Filter {
    /// PARKED or REPLAYED.
    pub status: Option<String>,
    /// The source topic.
    pub topic: Option<String>,
    /// Text the reason contains.
    pub reason: Option<String>,
}

impl Filter {
    /// Refuses a status that is neither PARKED nor REPLAYED.
    pub fn check(&self) -> Result<(), Error> {
        match self.status.as_deref() {
            None | Some("PARKED" | "REPLAYED") => Ok(()),
            Some(other) => Err(Error::BadFilter(format!("status {other:?} is neither PARKED nor REPLAYED"))),
        }
    }
}

impl DeadLetters {
    /// Entries `filter` selects, oldest first, skipping `skip`, at most `limit`.
    pub async fn page(&self, filter: &Filter, skip: i64, limit: i64) -> Result<Vec<Entry>, Error> {
        filter.check()?;
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Ok(sqlx::query_as(&queries::PAGE.in_schema(&self.schema))
            .bind(text(&filter.status))
            .bind(text(&filter.topic))
            .bind(text(&filter.reason))
            .bind(skip.max(0))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The entries of one source record (one per consumer that refused it); empty when none.
    pub async fn of_record(&self, (topic, partition, offset): &Position) -> Result<Vec<Entry>, Error> {
        Ok(sqlx::query_as(&queries::OF_RECORD.in_schema(&self.schema))
            .bind(topic)
            .bind(partition)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// Entries by status and source topic, for `/metrics`.
impl clio_gateway::metrics::Source for DeadLetters {
    fn collect(&self) -> clio_gateway::metrics::Collecting<'_> {
        Box::pin(async move {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(&queries::COUNTS.in_schema(&self.schema))
                .fetch_all(&self.pool)
                .await
                .map_err(|error| error.to_string())?;
            Ok(rows
                .into_iter()
                .map(|(status, topic, entries)| {
                    clio_gateway::metrics::Sample::new(
                        "clio_dead_letters",
                        "Dead-letter entries (record and consumer) by status and source topic.",
                        &[("status", &status), ("source_topic", &topic)],
                        entries as f64,
                    )
                })
                .collect())
        })
    }
}

/// The console's dead-letter section: every parked entry, with a button that replays it.
impl clio_gateway::console::Panel for DeadLetters {
    fn title(&self) -> String {
        "Dead letters".into()
    }

    fn read(&self) -> clio_gateway::console::Reading<'_> {
        Box::pin(async move {
            let parked = Filter { status: Some("PARKED".into()), ..Filter::default() };
            let entries = self.page(&parked, 0, 200).await.map_err(|error| error.to_string())?;
            let columns = ["record", "consumer", "reason", "copies", "replays", "first seen"];
            let mut table = clio_gateway::console::Table {
                columns: columns.iter().map(|c| (*c).to_string()).collect(),
                ..Default::default()
            };
            for entry in entries {
                table.rows.push(vec![
                    crate::position_text(&entry.position()),
                    entry.consumer.clone(),
                    entry.reason.clone(),
                    entry.copies.to_string(),
                    entry.replays.to_string(),
                    entry.first_seen.format("%F %T").to_string(),
                ]);
                table.actions.push(Some(clio_gateway::console::Action {
                    label: "Replay".into(),
                    path: "/v1/dead-letters/replay".into(),
                    body: serde_json::json!({
                        "topic": entry.source_topic, "partition": entry.source_partition, "offset": entry.source_offset
                    }),
                }));
            }
            Ok(table)
        })
    }
}
