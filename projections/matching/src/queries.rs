//! The statements that read the matching domain's tables, for its commands and routes; each is
//! `queries/<name>.sql`, beside the migrations that define the tables.

use clio_projection::include_query;
use clio_projection::query::Query;

pub const MIDS_AT_LOCATION: Query = include_query!("mids_at_location");
pub const MIDS_PAGE: Query = include_query!("mids_page");
pub const MID: Query = include_query!("mid");
pub const PAYMENTS_PAGE: Query = include_query!("payments_page");
pub const MERCHANT_TRANSACTIONS_PAGE: Query = include_query!("merchant_transactions_page");
pub const MATCHES_PAGE: Query = include_query!("matches_page");
pub const COUNTERS: Query = include_query!("counters");
pub const FORCE_MATCH_SIDES: Query = include_query!("force_match_sides");
pub const EXPORTS_PAGE: Query = include_query!("exports_page");
pub const STREAMED_PAGE: Query = include_query!("streamed_page");

/// Every query, for the test that prepares each against a migrated schema.
/// For `/metrics`.
pub const METRICS_PAYMENTS: Query = include_query!("metrics_payments");

/// For `/console/`.
pub const CONSOLE_MATCH_RATE: Query = include_query!("console_match_rate");

pub const ALL: &[Query] = &[
    CONSOLE_MATCH_RATE,
    METRICS_PAYMENTS,
    MIDS_AT_LOCATION,
    MIDS_PAGE,
    MID,
    PAYMENTS_PAGE,
    MERCHANT_TRANSACTIONS_PAGE,
    MATCHES_PAGE,
    COUNTERS,
    FORCE_MATCH_SIDES,
    EXPORTS_PAGE,
    STREAMED_PAGE,
];
