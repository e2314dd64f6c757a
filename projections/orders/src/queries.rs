//! The statements that read the orders tables, for its routes; each is `queries/<name>.sql`,
//! beside the migrations that define the tables.

use clio_projection::include_query;
use clio_projection::query::Query;

pub const ORDERS_PAGE: Query = include_query!("orders_page");
pub const ORDER: Query = include_query!("order");
pub const SYNC_FAILURES_PAGE: Query = include_query!("sync_failures_page");
pub const PROJECT_OF_ISSUE: Query = include_query!("project_of_issue");

/// Every query, for the test that prepares each against a migrated schema.
/// For `/metrics`.
pub const METRICS_SYNC_FAILURES: Query = include_query!("metrics_sync_failures");
pub const METRICS_SYNCS: Query = include_query!("metrics_syncs");

/// For `/console/`.
pub const CONSOLE_FAILING: Query = include_query!("console_failing");

pub const ALL: &[Query] =
    &[CONSOLE_FAILING, METRICS_SYNC_FAILURES, METRICS_SYNCS, ORDERS_PAGE, ORDER, SYNC_FAILURES_PAGE, PROJECT_OF_ISSUE];
