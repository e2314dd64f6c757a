//! MID changes as operators ask for them (the routes and `clio matching mids`), checked before
//! they go on the log.

use clio_matching::entity::mid::recast;
use clio_matching::messages::{OnboardMid, UpdateMid};
use clio_matching::mids::{Mid, MidError};
use serde::Deserialize;
use serde_json::Value;

/// The details an update may change; those left out stay as the read model has them.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct MidChanges {
    /// The loyalty merchant's slug.
    #[arg(long)]
    pub merchant: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub postcode: Option<String>,
    #[arg(long)]
    pub location_id: Option<String>,
    #[arg(long)]
    pub merchant_internal_id: Option<String>,
}

/// Which MID: provider, type, identifier.
pub type MidPath = (String, String, String);

/// The update of the MID at `path` (`current`, its read-model row as JSON) by `changes`.
pub fn updated(current: &Value, path: MidPath, changes: MidChanges, by: &str, ts: i64) -> Result<UpdateMid, MidError> {
    let field = |given: Option<String>, name: &str| {
        given.unwrap_or_else(|| current[name].as_str().unwrap_or_default().to_string())
    };
    let (provider, mid_type, identifier) = path;
    let update = UpdateMid {
        merchant: field(changes.merchant, "merchant"),
        location: field(changes.location, "location"),
        postcode: field(changes.postcode, "postcode"),
        location_id: field(changes.location_id, "location_id"),
        merchant_internal_id: field(changes.merchant_internal_id, "merchant_internal_id"),
        provider,
        mid_type,
        identifier,
        by: by.to_string(),
        ts,
    };
    Mid::from_record(&recast::<_, OnboardMid>(&update))?;
    Ok(update)
}
