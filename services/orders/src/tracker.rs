//! The issue tracker as the domain reads it: a webhook's body (JIRA's shapes), and the unique
//! labels the adapter puts on the issues it creates, by which a create retried after a timeout
//! finds the issue it made instead of making another, and a webhook names its project.

use serde_json::Value;

/// What starts every label the adapter sets.
const LABEL: &str = "clio-order-";

/// The label of a project's epic (`item_iid` 0) or of one item's issue.
pub fn label(project_id: i64, item_iid: i64) -> String {
    if item_iid == 0 { format!("{LABEL}{project_id}") } else { format!("{LABEL}{project_id}-item-{item_iid}") }
}

/// The project and item an issue's labels name, if one is the adapter's.
pub fn labelled(labels: &[String]) -> Option<(i64, i64)> {
    labels.iter().find_map(|label| {
        let rest = label.strip_prefix(LABEL)?;
        match rest.split_once("-item-") {
            Some((project, item)) => Some((project.parse().ok()?, item.parse().ok()?)),
            None => Some((rest.parse().ok()?, 0)),
        }
    })
}

/// The project and item a webhook's issue is labelled with, if one of its labels is the
/// adapter's.
pub fn issue_labelled(webhook: &Value) -> Option<(i64, i64)> {
    let labels: Vec<String> = webhook["issue"]["fields"]["labels"]
        .as_array()?
        .iter()
        .filter_map(|label| label.as_str().map(str::to_string))
        .collect();
    labelled(&labels)
}

/// One changelog item of an issue update.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangelogItem {
    pub field: String,
    /// The new value's id (a status id for `status`).
    pub to: String,
    pub to_string: String,
}

/// A webhook, read.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackerChange {
    IssueUpdated {
        changelog_id: String,
        items: Vec<ChangelogItem>,
    },
    Comment(Comment),
    /// A webhook kind the adapter does not act on.
    Other {
        webhook_event: String,
    },
}

/// A comment created or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub created: bool,
    pub comment_id: String,
    pub body: String,
    /// The tracker user who wrote it (for an update, who updated it).
    pub author_name: String,
    pub author_email: String,
    pub author_display_name: String,
    /// The restriction (a role or group) when the comment is not visible to everyone.
    pub visibility: Option<String>,
    /// When it was written or last updated, as the tracker says.
    pub updated: String,
}

impl TrackerChange {
    /// Reads a webhook body (already JSON); the reason when it is not a shape the tracker sends.
    pub fn parse(body: &Value) -> Result<Self, String> {
        let Some(kind) = body["webhookEvent"].as_str() else { return Err("no webhookEvent".into()) };
        match kind {
            "jira:issue_updated" => {
                let changelog = &body["changelog"];
                let items = changelog["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| ChangelogItem {
                                field: text(&item["field"]),
                                to: text(&item["to"]),
                                to_string: text(&item["toString"]),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Self::IssueUpdated { changelog_id: text(&changelog["id"]), items })
            }
            "comment_created" | "comment_updated" => {
                let comment = &body["comment"];
                let comment_id = text(&comment["id"]);
                if comment_id.is_empty() {
                    return Err(format!("a {kind} webhook without comment.id"));
                }
                let author = if kind == "comment_updated" && comment["updateAuthor"].is_object() {
                    &comment["updateAuthor"]
                } else {
                    &comment["author"]
                };
                let visibility = comment["visibility"]["value"].as_str().filter(|v| !v.is_empty()).map(str::to_string);
                Ok(Self::Comment(Comment {
                    created: kind == "comment_created",
                    comment_id,
                    body: text(&comment["body"]),
                    author_name: text(&author["name"]),
                    author_email: text(&author["emailAddress"]),
                    author_display_name: text(&author["displayName"]),
                    visibility,
                    updated: text(&comment["updated"]),
                }))
            }
            other => Ok(Self::Other { webhook_event: other.to_string() }),
        }
    }

    pub fn webhook_event(&self) -> &str {
        match self {
            Self::IssueUpdated { .. } => "jira:issue_updated",
            Self::Comment(comment) if comment.created => "comment_created",
            Self::Comment(_) => "comment_updated",
            Self::Other { webhook_event } => webhook_event,
        }
    }
}

/// A JSON string or number as text ("" for anything else): ids come as either.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn labels_name_their_project_and_item() {
        assert_eq!(labelled(&[label(12, 0)]), Some((12, 0)));
        assert_eq!(labelled(&["other".into(), label(12, 3)]), Some((12, 3)));
        assert_eq!(labelled(&["clio-order-x".into()]), None);
    }

    #[test]
    fn the_seeds_webhook_shapes_parse() {
        let updated = json!({"webhookEvent":"jira:issue_updated","issue":{"id":"10","key":"EOSC-1"},"user":{},
            "changelog":{"id":10124,"items":[{"field":"status","fieldtype":"jira","from":"1","fromString":"To Do","to":"2","toString":"In Progress"}]}});
        let TrackerChange::IssueUpdated { changelog_id, items } = TrackerChange::parse(&updated).unwrap() else {
            panic!("an update")
        };
        assert_eq!((changelog_id.as_str(), items[0].to.as_str()), ("10124", "2"));
        let comment = json!({"webhookEvent":"comment_created","comment":{"id":"252789","body":"hi",
            "author":{"name":"anna","emailAddress":"a@x","displayName":"Anna"},"visibility":{"type":"role","value":"Developers"}}});
        let TrackerChange::Comment(comment) = TrackerChange::parse(&comment).unwrap() else { panic!("a comment") };
        assert_eq!(comment.visibility.as_deref(), Some("Developers"));
        assert!(TrackerChange::parse(&json!({"issue":{}})).is_err());
    }
}
