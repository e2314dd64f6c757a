//! How a marketplace maps to an issue tracker (`orders.toml`, built in): the tracker's project,
//! issue types and custom field ids, its workflow status ids, and the adapter's own tracker user.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The mapping, as `orders.toml` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    pub tracker: Tracker,
    pub marketplace: Marketplace,
    /// Tracker workflow status id → marketplace status type ("" or absent: no update).
    pub statuses: BTreeMap<String, String>,
    /// Custom field name → its id ("" : not sent).
    pub fields: BTreeMap<String, String>,
    /// Select field → value → option id.
    pub select_values: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracker {
    pub username: String,
    pub project_key: String,
    pub epic_issue_type_id: String,
    pub issue_type_id: String,
    pub marketplace_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marketplace {
    /// provider or mediator: the only roles an OMS may write messages as.
    pub author_role: String,
}

/// The marketplace's project item status types a PATCH accepts (all but `created`).
pub const WRITABLE_STATUSES: &[&str] =
    &["registered", "in_progress", "waiting_for_response", "ready", "approved", "rejected", "closed"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("orders.toml: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("orders.toml: tracker status {id} maps to {status:?}, which the marketplace does not take")]
    Status { id: String, status: String },
    #[error("orders.toml: an OMS writes messages as provider or mediator, not {0:?}")]
    Role(String),
}

impl OrdersConfig {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)?;
        if !["provider", "mediator"].contains(&config.marketplace.author_role.as_str()) {
            return Err(ConfigError::Role(config.marketplace.author_role.clone()));
        }
        for (id, status) in &config.statuses {
            if !status.is_empty() && !WRITABLE_STATUSES.contains(&status.as_str()) {
                return Err(ConfigError::Status { id: id.clone(), status: status.clone() });
            }
        }
        Ok(config)
    }

    /// The built-in mapping (`services/orders/orders.toml`).
    pub fn builtin() -> &'static Self {
        static BUILTIN: OnceLock<OrdersConfig> = OnceLock::new();
        BUILTIN.get_or_init(|| match Self::parse(include_str!("../orders.toml")) {
            Ok(config) => config,
            // The file is part of the build, and a test parses it.
            Err(error) => panic!("the built-in {error}"),
        })
    }

    /// The marketplace status a tracker status id means; `None`: archived or not configured.
    pub fn marketplace_status(&self, tracker_status_id: &str) -> Option<&str> {
        self.statuses.get(tracker_status_id).map(String::as_str).filter(|status| !status.is_empty())
    }

    /// The tracker status id that means a marketplace status type (the first listed for it);
    /// `None`: no tracker status does (`created`).
    pub fn tracker_status(&self, status_type: &str) -> Option<&str> {
        self.statuses
            .iter()
            .find(|(_, status)| !status.is_empty() && status.as_str() == status_type)
            .map(|(id, _)| id.as_str())
    }

    /// A custom field's id, unless it is not configured.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str).filter(|id| !id.is_empty())
    }

    /// A select field's option id for `value`.
    pub fn select(&self, group: &str, value: &str) -> Option<&str> {
        self.select_values.get(group)?.get(value).map(String::as_str).filter(|id| !id.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_mapping_parses_and_maps_by_status_id() {
        let config = OrdersConfig::builtin();
        assert_eq!(config.marketplace_status("1"), Some("registered"));
        assert_eq!(config.marketplace_status("7"), Some("ready"));
        assert_eq!(config.marketplace_status("8"), None, "archived");
        assert_eq!(config.marketplace_status("99"), None, "unknown");
        assert_eq!(config.tracker_status("ready"), Some("7"));
        assert_eq!(config.tracker_status("registered"), Some("1"), "todo");
        assert_eq!(config.tracker_status("created"), None);
        assert_eq!(config.tracker_status(""), None, "archived maps nothing back");
        assert_eq!(config.field("CP-ProjectInformation"), None, "unconfigured fields are skipped");
    }

    #[test]
    fn a_status_the_marketplace_does_not_take_is_refused() {
        let text = include_str!("../orders.toml").replace(r#""7" = "ready""#, r#""7" = "created""#);
        assert!(matches!(OrdersConfig::parse(&text), Err(ConfigError::Status { .. })));
    }
}
