//! The statements that read `platform.dead_letters` (`queries/<name>.sql`, beside the
//! migration that defines it).

use clio_projection::include_query;
use clio_projection::query::Query;

pub const PAGE: Query = include_query!("page");
pub const OF_RECORD: Query = include_query!("of_record");
pub const COUNTS: Query = include_query!("counts");

/// Every query, for the test that prepares each against a migrated schema.
pub const ALL: &[Query] = &[PAGE, OF_RECORD, COUNTS];
