//! A domain's section of `/console/`: one SQL statement over its read model, shown as a table
//! whose columns are the statement's (every column text: cast in the SQL). The domain names
//! the statement ([`Domain::console`](crate::Domain::console)); [`panels_of`] puts it in the
//! domain's schema.

use std::sync::Arc;

use clio_gateway::console::{Panel, Panels, Reading, Table};
use clio_projection::query::Query;
use sqlx::{Column as _, PgPool, Row as _};

use crate::{Domain, Resources};

pub struct SqlPanel {
    pub title: &'static str,
    pub pool: PgPool,
    /// The statement, its schema filled in.
    pub sql: String,
}

/// The console sections `domain` names, over its read model at its home.
pub fn panels_of(domain: &dyn Domain, resources: &Resources) -> Panels {
    let schema = domain.home().schema();
    domain
        .console()
        .into_iter()
        .map(|(title, query): (&'static str, Query)| {
            Arc::new(SqlPanel { title, pool: resources.pool.clone(), sql: query.in_schema(&schema) }) as Arc<dyn Panel>
        })
        .collect()
}

impl Panel for SqlPanel {
    fn title(&self) -> String {
        self.title.to_string()
    }

    fn read(&self) -> Reading<'_> {
        Box::pin(async move {
            let rows = sqlx::query(&self.sql).fetch_all(&self.pool).await.map_err(|error| error.to_string())?;
            let mut table = Table::default();
            if let Some(first) = rows.first() {
                table.columns = first.columns().iter().map(|column| column.name().to_string()).collect();
            }
            for row in rows {
                let mut cells = Vec::with_capacity(table.columns.len());
                for index in 0..table.columns.len() {
                    let cell: Option<String> = row.try_get(index).map_err(|error| error.to_string())?;
                    cells.push(cell.unwrap_or_default());
                }
                table.rows.push(cells);
            }
            Ok(table)
        })
    }
}
