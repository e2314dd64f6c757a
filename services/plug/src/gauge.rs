//! A domain's figure for `/metrics`: one SQL statement over its read model whose rows are label
//! values (text) and, last, a count.

use clio_gateway::metrics::{Collecting, Sample, Source};
use sqlx::{PgPool, Row as _};

/// A gauge read with one query at each scrape.
pub struct SqlGauge {
    pub pool: PgPool,
    /// The statement, its schema filled in.
    pub sql: String,
    pub name: &'static str,
    pub help: &'static str,
    /// The names of the label columns, in the statement's order; the count comes after them.
    pub labels: &'static [&'static str],
}

impl Source for SqlGauge {
    fn collect(&self) -> Collecting<'_> {
        Box::pin(async move {
            let rows = sqlx::query(&self.sql).fetch_all(&self.pool).await.map_err(|error| error.to_string())?;
            let mut samples = Vec::with_capacity(rows.len());
            for row in rows {
                let mut labels = Vec::with_capacity(self.labels.len());
                for (index, name) in self.labels.iter().enumerate() {
                    let value: Option<String> = row.try_get(index).map_err(|error| error.to_string())?;
                    labels.push(((*name).to_string(), value.unwrap_or_default()));
                }
                let count: i64 = row.try_get(self.labels.len()).map_err(|error| error.to_string())?;
                samples.push(Sample {
                    name: self.name.to_string(),
                    help: self.help.to_string(),
                    labels,
                    value: count as f64,
                });
            }
            Ok(samples)
        })
    }
}
