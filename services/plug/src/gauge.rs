//! A domain's figure for `/metrics`: one SQL statement over its read model whose rows are label
//! values (text) and, last, a count. The domain describes it ([`Gauge`], from
//! [`Domain::gauges`](crate::Domain::gauges)); [`sources_of`] puts it in the domain's schema.

use std::sync::Arc;

use clio_gateway::metrics::{Collecting, Sample, Source, Sources};
use clio_projection::query::Query;
use sqlx::{PgPool, Row as _};

use crate::{Domain, Resources};

/// What a domain's gauge is: where `/metrics` reports it, and the query that reads it.
#[derive(Debug, Clone, Copy)]
pub struct Gauge {
    /// The source's name in `clio_metrics_source_up`.
    pub source: &'static str,
    pub name: &'static str,
    pub help: &'static str,
    /// The names of the label columns, in the statement's order; the count comes after them.
    pub labels: &'static [&'static str],
    pub query: Query,
}

/// A gauge read with one query at each scrape.
pub struct SqlGauge {
    pub pool: PgPool,
    /// The statement, its schema filled in.
    pub sql: String,
    pub gauge: Gauge,
}

/// The gauges `domain` describes, over its read model at its home.
pub fn sources_of(domain: &dyn Domain, resources: &Resources) -> Sources {
    let schema = domain.home().schema();
    domain
        .gauges()
        .into_iter()
        .map(|gauge| {
            let sql = gauge.query.in_schema(&schema);
            let source: Arc<dyn Source> = Arc::new(SqlGauge { pool: resources.pool.clone(), sql, gauge });
            (gauge.source.to_string(), source)
        })
        .collect()
}

impl Source for SqlGauge {
    fn collect(&self) -> Collecting<'_> {
        Box::pin(async move {
            let rows = sqlx::query(&self.sql).fetch_all(&self.pool).await.map_err(|error| error.to_string())?;
            let Gauge { name, help, labels: label_names, .. } = self.gauge;
            let mut samples = Vec::with_capacity(rows.len());
            for row in rows {
                let mut labels = Vec::with_capacity(label_names.len());
                for (index, label) in label_names.iter().enumerate() {
                    let value: Option<String> = row.try_get(index).map_err(|error| error.to_string())?;
                    labels.push(((*label).to_string(), value.unwrap_or_default()));
                }
                let count: i64 = row.try_get(label_names.len()).map_err(|error| error.to_string())?;
                samples.push(Sample { name: name.to_string(), help: help.to_string(), labels, value: count as f64 });
            }
            Ok(samples)
        })
    }
}
