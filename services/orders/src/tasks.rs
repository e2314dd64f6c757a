//! The retry tasks the domain asks for: every call to the marketplace and to the tracker is one
//! (`services/retry/task-types.toml`, types `orders_*`), under an id that says which entity
//! its outcome goes back to and what it was for.

use clio_aggregate::{Context, ForeignCommand};
use serde_json::Value;

use crate::messages::CreateTask;

/// Reads the marketplace's events after a resume point.
pub const MARKETPLACE_EVENTS: &str = "orders_marketplace_events";
/// Finds (by its label) or creates an issue: a project's epic or an item's issue.
pub const TRACKER_ISSUE: &str = "orders_tracker_issue";
/// Mirrors a marketplace message as a comment, or updates it.
pub const TRACKER_COMMENT: &str = "orders_tracker_comment";
/// Moves an item's issue to a workflow status (unless it is there).
pub const TRACKER_TRANSITION: &str = "orders_tracker_transition";
/// Changes the marketplace: an item's status or voucher, a message posted or edited.
pub const MARKETPLACE_UPDATE: &str = "orders_marketplace_update";

/// Events asked for in one read; a full page is followed by another read.
pub const PAGE: i64 = 100;

/// What a task was for, read back from its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Poll,
    Issue { item_iid: i64 },
    Comment { message_id: i64 },
    Transition { item_iid: i64 },
    Marketplace { kind: String, source: String },
}

pub fn poll_task_id(read: u64) -> String {
    format!("orders:poll:{read}")
}

pub fn issue_task_id(project_id: i64, item_iid: i64) -> String {
    format!("orders:issue:{project_id}:{item_iid}")
}

/// `revision`: empty for the first mirror, a distinct text per later edit.
pub fn comment_task_id(project_id: i64, message_id: i64, revision: &str) -> String {
    if revision.is_empty() {
        format!("orders:comment:{project_id}:{message_id}")
    } else {
        format!("orders:comment:{project_id}:{message_id}:{revision}")
    }
}

/// `source`: what asked for it (a digest of the marketplace event, or `link` once the issue
/// exists).
pub fn transition_task_id(project_id: i64, item_iid: i64, source: &str) -> String {
    format!("orders:transition:{project_id}:{item_iid}:{source}")
}

pub fn marketplace_task_id(project_id: i64, kind: &str, source: &str) -> String {
    format!("orders:mp:{project_id}:{kind}:{source}")
}

/// The project a task's outcome belongs to (0: the feed's), and what the task was for. An
/// operator's requeue makes `<id>-requeued-<n>`, which reads as the task it repeats.
pub fn purpose(task_id: &str) -> Option<(i64, Purpose)> {
    let task_id = task_id.split_once("-requeued-").map_or(task_id, |(original, _)| original);
    let mut parts = task_id.strip_prefix("orders:")?.splitn(4, ':');
    let kind = parts.next()?;
    if kind == "poll" {
        return Some((0, Purpose::Poll));
    }
    let project_id: i64 = parts.next()?.parse().ok()?;
    let purpose = match kind {
        "issue" => Purpose::Issue { item_iid: parts.next()?.parse().ok()? },
        "comment" => Purpose::Comment { message_id: parts.next()?.parse().ok()? },
        "transition" => Purpose::Transition { item_iid: parts.next()?.parse().ok()? },
        "mp" => {
            Purpose::Marketplace { kind: parts.next()?.to_string(), source: parts.next().unwrap_or("").to_string() }
        }
        _ => return None,
    };
    Some((project_id, purpose))
}

/// The retry task `task_id` of `task_type` with `params`, answering to `reply_key` on the
/// topic the deciding command came from, under the type's own policy.
pub fn task(
    task_id: &str,
    task_type: &str,
    params: &Value,
    reply_key: &str,
    context: &Context,
) -> Result<ForeignCommand, String> {
    let create = CreateTask {
        task_id: task_id.to_string(),
        task_type: task_type.to_string(),
        params: params.to_string(),
        idempotency_key: format!("{task_id}@{}", context.cause),
        reply_topic: context.cause.topic.clone(),
        reply_key: reply_key.to_string(),
        policy: String::new(),
        not_before: 0,
        ts: context.now_micros,
    };
    ForeignCommand::to_domain("retry", task_id, "clio.retry.CreateTask", &create)
        .map_err(|error| format!("the {task_type} task cannot be encoded: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_id_says_where_its_outcome_goes_even_when_requeued() {
        assert_eq!(purpose(&poll_task_id(3)), Some((0, Purpose::Poll)));
        assert_eq!(purpose(&issue_task_id(12, 3)), Some((12, Purpose::Issue { item_iid: 3 })));
        assert_eq!(
            purpose(&format!("{}-requeued-99", issue_task_id(12, 0))),
            Some((12, Purpose::Issue { item_iid: 0 }))
        );
        assert_eq!(purpose(&comment_task_id(12, 40, "ab12")), Some((12, Purpose::Comment { message_id: 40 })));
        assert_eq!(
            purpose(&marketplace_task_id(12, "status", "10124")),
            Some((12, Purpose::Marketplace { kind: "status".into(), source: "10124".into() }))
        );
        assert_eq!(purpose(&transition_task_id(12, 3, "link")), Some((12, Purpose::Transition { item_iid: 3 })));
        assert_eq!(purpose("export:x"), None);
    }
}
