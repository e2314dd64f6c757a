//! The statements that read the ledger's tables, for its routes, its clock, its demo and the
//! benchmarks; each is `queries/<name>.sql`, beside the migrations that define the tables.

use clio_projection::include_query;
use clio_projection::query::Query;

/// Routes: the accounts service's fetch API.
pub const REACHABLE: Query = include_query!("reachable");
pub const ACCOUNT_CONFIG: Query = include_query!("account_config");
/// Routes: pages of balances, transfer history and open transfers, as JSON arrays.
pub const BALANCES_PAGE: Query = include_query!("balances_page");
pub const TRANSFERS_PAGE: Query = include_query!("transfers_page");
pub const PREPARED_TRANSFERS_PAGE: Query = include_query!("prepared_transfers_page");
/// The clock.
pub const ROOT_CONFIGS: Query = include_query!("root_configs");
pub const DUE_FOR_MAINTENANCE: Query = include_query!("due_for_maintenance");
/// The demo's seed and stream.
pub const LIVE_ACCOUNTS: Query = include_query!("live_accounts");
pub const OPEN_REQUESTS: Query = include_query!("open_requests");
pub const ISSUED_REQUESTS: Query = include_query!("issued_requests");
pub const ISSUING_REFUSALS: Query = include_query!("issuing_refusals");
/// The benchmarks' coordinator and latency probe.
pub const DIRECT_TRANSFERS_SINCE: Query = include_query!("direct_transfers_since");
pub const DIRECT_CREDITS: Query = include_query!("direct_credits");
pub const CONFIG_SEQNUMS: Query = include_query!("config_seqnums");

/// Every query, for the test that runs each against a migrated schema.
/// For `/metrics`.
pub const METRICS_TRANSFERS: Query = include_query!("metrics_transfers");

/// For `/console/`.
pub const CONSOLE_AUDIT: Query = include_query!("console_audit");
/// For `/console/`.
pub const CONSOLE_LARGEST: Query = include_query!("console_largest");

pub const ALL: &[Query] = &[
    CONSOLE_AUDIT,
    CONSOLE_LARGEST,
    METRICS_TRANSFERS,
    REACHABLE,
    ACCOUNT_CONFIG,
    BALANCES_PAGE,
    TRANSFERS_PAGE,
    PREPARED_TRANSFERS_PAGE,
    ROOT_CONFIGS,
    DUE_FOR_MAINTENANCE,
    LIVE_ACCOUNTS,
    OPEN_REQUESTS,
    ISSUED_REQUESTS,
    ISSUING_REFUSALS,
    DIRECT_TRANSFERS_SINCE,
    DIRECT_CREDITS,
    CONFIG_SEQNUMS,
];
