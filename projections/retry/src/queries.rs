//! The statements that read the retry domain's tables, for its routes and commands; each is
//! `queries/<name>.sql`, beside the migrations that define the tables.

use clio_projection::include_query;
use clio_projection::query::Query;

pub const TASKS_PAGE: Query = include_query!("tasks_page");
pub const TASK: Query = include_query!("task");
pub const TASK_STATUS: Query = include_query!("task_status");
pub const ANOMALIES: Query = include_query!("anomalies");
pub const PURGEABLE: Query = include_query!("purgeable");

/// Every query, for the test that prepares each against a migrated schema.
/// For `/metrics`.
pub const METRICS_TASKS: Query = include_query!("metrics_tasks");
pub const METRICS_ATTEMPTS: Query = include_query!("metrics_attempts");

/// For `/console/`.
pub const CONSOLE_ATTENTION: Query = include_query!("console_attention");

pub const ALL: &[Query] =
    &[CONSOLE_ATTENTION, METRICS_TASKS, METRICS_ATTEMPTS, TASKS_PAGE, TASK, TASK_STATUS, ANOMALIES, PURGEABLE];
