//! A marketplace's OMS events as the domain reads them. The marketplace has no event ids and
//! serialises timestamps to the second, reading strictly after the resume point, so events of
//! the resume point's second come again: each event's [`dedup_key`](MarketplaceEvent::dedup_key)
//! is what makes it the same when delivered again. `before`/`after` of a change may be any JSON
//! value, null included.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Project,
    ProjectItem,
    Message,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Project => "project",
            Resource::ProjectItem => "project_item",
            Resource::Message => "message",
        }
    }
}

/// One field's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// A marketplace event the domain takes.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketplaceEvent {
    pub timestamp: DateTime<Utc>,
    /// True for `create`, false for `update`.
    pub create: bool,
    pub resource: Resource,
    pub project_id: i64,
    /// 0 when the event is not about an item (a project message, or the project).
    pub item_iid: i64,
    pub message_id: i64,
    pub changes: Vec<Change>,
}

/// An event the domain does not take, and why; `project_id` when it could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub project_id: i64,
    pub reason: String,
}

impl Refused {
    fn new(project_id: i64, reason: impl Into<String>) -> Self {
        Self { project_id, reason: reason.into() }
    }
}

/// A marketplace timestamp as the resume point keeps it: RFC 3339, whole seconds, `Z`.
pub fn resume_point(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl MarketplaceEvent {
    /// Reads one event of `GET /events`.
    pub fn parse(event: &Value) -> Result<Self, Refused> {
        let project_id = id(&event["project_id"]).unwrap_or(0);
        let refuse = |reason: String| Refused::new(project_id, reason);
        let Some(object) = event.as_object() else { return Err(refuse("the event is not a JSON object".into())) };
        let create = match object.get("type").and_then(Value::as_str) {
            Some("create") => true,
            Some("update") => false,
            Some("delete") => {
                return Err(refuse("a delete event: accepted and ignored (the marketplace no longer deletes)".into()));
            }
            other => return Err(refuse(format!("unknown event type {other:?}"))),
        };
        let resource = match object.get("resource").and_then(Value::as_str) {
            Some("project") => Resource::Project,
            Some("project_item") => Resource::ProjectItem,
            Some("message") => Resource::Message,
            other => return Err(refuse(format!("unknown resource {other:?}"))),
        };
        let timestamp = object
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| {
                refuse(format!("the timestamp {} is not RFC 3339", object.get("timestamp").unwrap_or(&Value::Null)))
            })?;
        let project_id = id(&event["project_id"])
            .ok_or_else(|| refuse(format!("project_id {} is not a positive integer", event["project_id"])))?;
        let optional = |name: &str| match object.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(value) => id(value).ok_or_else(|| refuse(format!("{name} {value} is not a positive integer"))),
        };
        let item_iid = optional("project_item_id")?;
        let message_id = optional("message_id")?;
        match resource {
            Resource::ProjectItem if item_iid == 0 => {
                return Err(refuse("a project_item event without project_item_id".into()));
            }
            Resource::Message if message_id == 0 => return Err(refuse("a message event without message_id".into())),
            _ => {}
        }
        let changes = match object.get("changes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(changes)) => changes
                .iter()
                .map(|change| match change["field"].as_str() {
                    Some(field) => Ok(Change {
                        field: field.to_string(),
                        before: change["before"].clone(),
                        after: change["after"].clone(),
                    }),
                    None => Err(refuse(format!("a change without a field: {change}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(refuse(format!("changes is not a list: {other}"))),
        };
        Ok(Self { timestamp, create, resource, project_id, item_iid, message_id, changes })
    }

    /// The same event delivered again has the same key: resource, type, ids, timestamp and a
    /// hash of its changes.
    pub fn dedup_key(&self) -> String {
        let mut hash = Sha256::new();
        for change in &self.changes {
            hash.update(change.field.as_bytes());
            hash.update([0]);
            hash.update(change.before.to_string().as_bytes());
            hash.update([0]);
            hash.update(change.after.to_string().as_bytes());
            hash.update([1]);
        }
        let digest = hash.finalize();
        let short: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        format!(
            "{}:{}:{}:{}:{}:{}:{short}",
            self.resource.as_str(),
            if self.create { "create" } else { "update" },
            self.project_id,
            self.item_iid,
            self.message_id,
            resume_point(self.timestamp),
        )
    }

    /// The value a change of `field` ends with.
    pub fn after(&self, field: &str) -> Option<&Value> {
        self.changes.iter().find(|change| change.field == field).map(|change| &change.after)
    }
}

/// A marketplace id: a positive integer, or a string of one.
fn id(value: &Value) -> Option<i64> {
    let id = match value {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (id > 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_real_cassettes_event_parses_with_untyped_changes() {
        let event = json!({"timestamp":"2021-05-25T21:07:44Z","type":"update","resource":"project_item",
            "changes":[{"after":"ready","field":"status.type","before":"created"},{"field":"user_secrets.x","before":null,"after":{"a":1}}],
            "project_id":1436,"project_item_id":3});
        let parsed = MarketplaceEvent::parse(&event).expect("parses");
        assert_eq!((parsed.project_id, parsed.item_iid, parsed.create), (1436, 3, false));
        assert_eq!(parsed.after("status.type"), Some(&json!("ready")));
        assert!(parsed.dedup_key().starts_with("project_item:update:1436:3:0:2021-05-25T21:07:44Z:"));
    }

    #[test]
    fn deletes_unknown_resources_and_bad_ids_are_refused_with_the_reason() {
        let delete = json!({"timestamp":"2021-05-25T21:07:44Z","type":"delete","resource":"project","project_id":7});
        assert_eq!(MarketplaceEvent::parse(&delete).unwrap_err().project_id, 7);
        let unknown = json!({"timestamp":"2021-05-25T21:07:44Z","type":"create","resource":"invoice","project_id":7});
        assert!(MarketplaceEvent::parse(&unknown).unwrap_err().reason.contains("invoice"));
        let bad = json!({"timestamp":"2021-05-25T21:07:44Z","type":"create","resource":"project","project_id":"seven"});
        assert!(MarketplaceEvent::parse(&bad).unwrap_err().reason.contains("project_id"));
        let no_item =
            json!({"timestamp":"2021-05-25T21:07:44Z","type":"create","resource":"project_item","project_id":7});
        assert!(MarketplaceEvent::parse(&no_item).unwrap_err().reason.contains("project_item_id"));
    }

    #[test]
    fn the_same_event_again_has_the_same_key_and_a_different_change_another() {
        let one = json!({"timestamp":"2021-05-25T21:07:44Z","type":"update","resource":"message","project_id":1,"message_id":9,
            "changes":[{"field":"content","before":"a","after":"b"}]});
        let mut other = one.clone();
        other["changes"][0]["after"] = json!("c");
        let key = |event: &Value| MarketplaceEvent::parse(event).map(|e| e.dedup_key()).unwrap_or_default();
        assert_eq!(key(&one), key(&one.clone()));
        assert_ne!(key(&one), key(&other));
    }
}
