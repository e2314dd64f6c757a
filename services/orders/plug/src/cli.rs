//! `clio orders ...` for operators: the orders and what could not be synced, from the read
//! models; a read of the marketplace's events now.

use clap::{Args, Subcommand};
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings};

// `clio orders ...` (a doc comment here would become the subcommand's about).
#[derive(Subcommand, Debug)]
pub enum OrdersAction {
    /// List orders (marketplace projects): the epic, and each item's marketplace status,
    /// tracker issue and tracker status.
    List {
        /// Start after this project id (the last one of the previous page).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        access: OrdersAccess,
    },
    /// One order as JSON: its items, messages both ways, tracker links and what could not be
    /// synced.
    Show {
        /// The marketplace project id.
        project_id: i64,
        #[command(flatten)]
        access: OrdersAccess,
    },
    /// What could not be synced or was left aside (echoes, internal comments, unmapped
    /// statuses, unknown issues, calls that gave up), newest first, with the reason.
    Failures {
        /// Only this project's.
        #[arg(long)]
        project: Option<i64>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        access: OrdersAccess,
    },
    /// Read the marketplace's events now, as its trigger does: after an outage in which its
    /// trigger calls were lost. Safe to run at any time.
    Sync {
        #[command(flatten)]
        access: OrdersAccess,
    },
}

/// Where the orders domain's commands read (its read models) and write (its commands topic).
#[derive(Args, Debug, Clone)]
pub struct OrdersAccess {
    /// The Postgres schema of the orders read models.
    #[arg(long, default_value = "orders")]
    pub schema: String,
    /// The orders commands topic.
    #[arg(long, default_value = "orders.commands")]
    pub topic: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}
