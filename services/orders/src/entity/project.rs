//! `project:<id>`: one marketplace order, mirrored in the tracker and back.
//!
//! - Marketplace → tracker: a project becomes an epic, each item an issue linked to it, each
//!   message a comment on its item's issue (a project's on the epic). Whatever arrives before
//!   its parent asks for the parent first; what waits for an issue is asked for when it links.
//!   A marketplace change of an item's status moves its issue to the workflow status that means
//!   it (once the issue exists).
//! - Tracker → marketplace: a status change of an item's issue becomes the item's status (by
//!   the tracker's status id); a voucher id its user secret; a comment a message (an edit made
//!   while the message is still being posted follows once it is).
//! - No echoes: a comment the adapter wrote, or one mirroring a marketplace message, is not sent
//!   back; a restricted comment stays internal; a marketplace message the adapter posted is not
//!   mirrored (message events wait while a post is under way, so its id is known first); a
//!   status equal to the last synced one sends nothing, either way; the marketplace's event for
//!   a status the adapter set there moves nothing in the tracker.
//! - Nothing twice: every marketplace event and tracker change is taken once (by its dedup key),
//!   and every call is a retry task with an id of its own, which the retry domain runs once.

use std::collections::{BTreeMap, BTreeSet};

use crate::tracker::text;
use clio_aggregate::{Context, Decision};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{OrdersDecision, project_key};
use crate::config::OrdersConfig;
use crate::marketplace::{MarketplaceEvent, Resource};
use crate::messages::{OrdersCommand as C, OrdersEvent as E, *};
use crate::tasks::{
    MARKETPLACE_UPDATE, Purpose, TRACKER_COMMENT, TRACKER_ISSUE, TRACKER_TRANSITION, comment_task_id, issue_task_id,
    marketplace_task_id, purpose, task, transition_task_id,
};
use crate::tracker::{Comment, TrackerChange, issue_labelled, label};

/// A tracker issue: asked for, then linked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub requested: bool,
    pub issue_id: String,
    pub issue_key: String,
}

impl Issue {
    pub fn linked(&self) -> bool {
        !self.issue_key.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub issue: Issue,
    /// The marketplace's status type, as its events last said.
    pub status_type: String,
    /// The status type last sent to the marketplace (or seen there): a tracker change to it
    /// again sends nothing.
    pub synced_status: String,
    /// Status updates the adapter sent to the marketplace whose events have not come back:
    /// task id → status type. Those events are echoes, not changes to take to the tracker.
    #[serde(default)]
    pub echoes: BTreeMap<String, String>,
}

/// A marketplace message as the project knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Posted by the adapter, from a tracker comment: never mirrored back.
    pub from_tracker: bool,
    pub item_iid: i64,
    pub comment_requested: bool,
    /// Its comment, once made.
    pub comment_id: String,
}

/// A tracker comment sent to the marketplace as a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentComment {
    pub task_id: String,
    /// The message it made; 0 until the marketplace answered.
    pub message_id: i64,
    /// The comment's latest edit made while its message was being posted (empty: none), and
    /// the dedup key of that edit: sent once the message exists.
    #[serde(default)]
    pub pending_edit: String,
    #[serde(default)]
    pub pending_edit_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub project_id: i64,
    pub epic: Issue,
    pub items: BTreeMap<i64, Item>,
    pub messages: BTreeMap<i64, Message>,
    /// Tracker comment id → the message it was sent as.
    pub sent_comments: BTreeMap<String, SentComment>,
    /// The dedup keys of every marketplace event and tracker change taken.
    pub seen: BTreeSet<String>,
    /// Marketplace updates under way: task id → the item (0: the project).
    pub updating: BTreeMap<String, i64>,
    /// Marketplace message events waiting for those posts: (dedup key, event).
    pub parked: Vec<(String, String)>,
}

/// A decision being made: its events are applied to a copy of the state as they are added, so
/// each step sees what the earlier ones did.
struct Plan {
    state: ProjectState,
    decision: OrdersDecision,
    now: i64,
}

impl Plan {
    fn new(state: &ProjectState, project_id: i64, context: &Context) -> Self {
        let mut state = state.clone();
        state.project_id = project_id;
        Self { state, decision: Decision::nothing(), now: context.now_micros }
    }

    fn emit(&mut self, event: E) {
        self.state.apply(&event);
        self.decision.events.push(event);
    }

    fn call(&mut self, task_id: &str, task_type: &str, params: Value, context: &Context) -> bool {
        match task(task_id, task_type, &params, &project_key(self.state.project_id), context) {
            Ok(foreign) => {
                self.decision.foreign.push(foreign);
                true
            }
            Err(reason) => {
                self.decision = Decision::invalid(reason);
                false
            }
        }
    }

    fn done(self) -> OrdersDecision {
        self.decision
    }

    /// Asks for the epic, unless it was.
    fn ensure_epic(&mut self, context: &Context) {
        if self.state.epic.requested {
            return;
        }
        self.request_issue(0, context);
    }

    /// Asks for an item's issue once the epic it links to exists.
    fn ensure_item_issue(&mut self, item_iid: i64, context: &Context) {
        self.ensure_epic(context);
        let requested = self.state.items.get(&item_iid).is_some_and(|item| item.issue.requested);
        if !requested && self.state.epic.linked() {
            self.request_issue(item_iid, context);
        }
    }

    fn request_issue(&mut self, item_iid: i64, context: &Context) {
        let project_id = self.state.project_id;
        let task_id = issue_task_id(project_id, item_iid);
        let label = label(project_id, item_iid);
        let params = json!({
            "project_id": project_id,
            "item_iid": item_iid,
            "label": label,
            "epic_key": self.state.epic.issue_key,
        });
        if self.call(&task_id, TRACKER_ISSUE, params, context) {
            let now = self.now;
            self.emit(E::TrackerIssueRequested(TrackerIssueRequested {
                project_id,
                item_iid,
                task_id,
                label,
                ts: now,
            }));
        }
    }

    /// The issue a message's comment goes on, if it exists.
    fn issue_of(&self, item_iid: i64) -> Option<String> {
        let issue =
            if item_iid == 0 { Some(&self.state.epic) } else { self.state.items.get(&item_iid).map(|i| &i.issue) };
        issue.filter(|issue| issue.linked()).map(|issue| issue.issue_key.clone())
    }

    /// Mirrors a message (or its edit) once its issue exists; until then asks for the issue.
    fn request_comment(&mut self, message_id: i64, revision: &str, context: &Context) {
        let Some(message) = self.state.messages.get(&message_id).cloned() else { return };
        let Some(issue_key) = self.issue_of(message.item_iid) else {
            if message.item_iid == 0 {
                self.ensure_epic(context);
            } else {
                self.ensure_item_issue(message.item_iid, context);
            }
            return;
        };
        let project_id = self.state.project_id;
        let task_id = comment_task_id(project_id, message_id, revision);
        let params = json!({
            "project_id": project_id,
            "item_iid": message.item_iid,
            "message_id": message_id,
            "issue_key": issue_key,
            "comment_id": message.comment_id,
        });
        if self.call(&task_id, TRACKER_COMMENT, params, context) {
            let now = self.now;
            self.emit(E::CommentRequested(CommentRequested {
                project_id,
                item_iid: message.item_iid,
                message_id,
                issue_key,
                task_id,
                update: !revision.is_empty(),
                ts: now,
            }));
        }
    }

    /// What was waiting for the issue of `item_iid` (0: the epic), asked for now.
    fn after_link(&mut self, item_iid: i64, transition: bool, context: &Context) {
        let status_type = self.state.items.get(&item_iid).map(|item| item.status_type.clone()).unwrap_or_default();
        if item_iid > 0 && transition {
            self.request_transition(item_iid, &status_type, "link", context);
        }
        if item_iid == 0 {
            let waiting: Vec<i64> =
                self.state.items.iter().filter(|(_, item)| !item.issue.requested).map(|(iid, _)| *iid).collect();
            for iid in waiting {
                self.request_issue(iid, context);
            }
        }
        let messages: Vec<i64> = self
            .state
            .messages
            .iter()
            .filter(|(_, m)| m.item_iid == item_iid && !m.from_tracker && !m.comment_requested)
            .map(|(id, _)| *id)
            .collect();
        for message_id in messages {
            self.request_comment(message_id, "", context);
        }
    }

    /// Moves an item's issue to the workflow status that means `status_type`, if one does.
    fn request_transition(&mut self, item_iid: i64, status_type: &str, source: &str, context: &Context) {
        let Some(status_id) = OrdersConfig::builtin().tracker_status(status_type) else { return };
        let Some(issue_key) = self.issue_of(item_iid) else { return };
        let project_id = self.state.project_id;
        let task_id = transition_task_id(project_id, item_iid, source);
        let params =
            json!({ "project_id": project_id, "item_iid": item_iid, "issue_key": issue_key, "status_id": status_id });
        if self.call(&task_id, TRACKER_TRANSITION, params, context) {
            let now = self.now;
            self.emit(E::TrackerTransitionRequested(TrackerTransitionRequested {
                project_id,
                item_iid,
                issue_key,
                status_type: status_type.to_string(),
                status_id: status_id.to_string(),
                task_id,
                ts: now,
            }));
        }
    }

    fn ignore_tracker(&mut self, item_iid: i64, issue_id: &str, dedup_key: &str, webhook_event: &str, reason: String) {
        let (project_id, now) = (self.state.project_id, self.now);
        self.emit(E::TrackerChangeIgnored(TrackerChangeIgnored {
            project_id,
            item_iid,
            issue_id: issue_id.to_string(),
            dedup_key: dedup_key.to_string(),
            webhook_event: webhook_event.to_string(),
            reason,
            ts: now,
        }));
    }

    fn update_marketplace(&mut self, item_iid: i64, kind: &str, source: &str, detail: Value, context: &Context) {
        let project_id = self.state.project_id;
        let task_id = marketplace_task_id(project_id, kind, source);
        let params = json!({ "project_id": project_id, "item_iid": item_iid, "kind": kind, "detail": detail });
        if self.call(&task_id, MARKETPLACE_UPDATE, params, context) {
            let now = self.now;
            self.emit(E::MarketplaceUpdateRequested(MarketplaceUpdateRequested {
                project_id,
                item_iid,
                task_id,
                kind: kind.to_string(),
                source_id: source.to_string(),
                detail: detail.to_string(),
                ts: now,
            }));
        }
    }
}

impl ProjectState {
    /// One marketplace event for this project.
    pub fn receive_marketplace(&self, c: &ReceiveMarketplaceEvent, context: &Context) -> OrdersDecision {
        let now = context.now_micros;
        if self.seen.contains(&c.dedup_key) {
            return Decision::events(vec![E::DuplicateIgnored(DuplicateIgnored {
                project_id: c.project_id,
                dedup_key: c.dedup_key.clone(),
                ts: now,
            })]);
        }
        let mut plan = Plan::new(self, c.project_id, context);
        let ignore = |reason: String| {
            E::MarketplaceEventIgnored(MarketplaceEventIgnored {
                project_id: c.project_id,
                dedup_key: c.dedup_key.clone(),
                event: c.event.clone(),
                reason,
                ts: now,
            })
        };
        let parsed = serde_json::from_str::<Value>(&c.event)
            .map_err(|error| error.to_string())
            .and_then(|event| MarketplaceEvent::parse(&event).map_err(|refused| refused.reason));
        let event = match parsed {
            Ok(event) if event.project_id == c.project_id => event,
            Ok(event) => return Decision::events(vec![ignore(format!("the event is project {}'s", event.project_id))]),
            Err(reason) => return Decision::events(vec![ignore(reason)]),
        };
        if event.resource == Resource::Message {
            if self.messages.get(&event.message_id).is_some_and(|m| m.from_tracker) {
                return Decision::events(vec![ignore(format!(
                    "message {} was posted by the adapter from a tracker comment: not mirrored back",
                    event.message_id
                ))]);
            }
            if self.posting() {
                return Decision::events(vec![E::MarketplaceEventParked(MarketplaceEventParked {
                    project_id: c.project_id,
                    dedup_key: c.dedup_key.clone(),
                    event: c.event.clone(),
                    ts: now,
                })]);
            }
        }
        let text = |field: &str| event.after(field).and_then(Value::as_str).unwrap_or_default().to_string();
        let status_type = text("status.type");
        let item = self.items.get(&event.item_iid);
        // A status the marketplace took from the tracker (its echo), or the one already synced,
        // moves nothing in the tracker.
        let status_changed = event.resource == Resource::ProjectItem
            && !status_type.is_empty()
            && item.is_none_or(|item| {
                item.synced_status != status_type && !item.echoes.values().any(|s| *s == status_type)
            });
        plan.emit(E::MarketplaceEventReceived(MarketplaceEventReceived {
            project_id: c.project_id,
            item_iid: event.item_iid,
            message_id: event.message_id,
            resource: event.resource.as_str().to_string(),
            event_type: if event.create { "create" } else { "update" }.to_string(),
            status_type: status_type.clone(),
            status_value: text("status.value"),
            dedup_key: c.dedup_key.clone(),
            event: c.event.clone(),
            ts: now,
        }));
        match event.resource {
            Resource::Project => plan.ensure_epic(context),
            Resource::ProjectItem => {
                plan.ensure_item_issue(event.item_iid, context);
                if status_changed {
                    plan.request_transition(event.item_iid, &status_type, &digest(&c.dedup_key), context);
                }
            }
            Resource::Message => {
                let (comment_requested, linked) = plan
                    .state
                    .messages
                    .get(&event.message_id)
                    .map_or((false, false), |m| (m.comment_requested, !m.comment_id.is_empty()));
                if !comment_requested {
                    plan.request_comment(event.message_id, "", context);
                } else if linked && !event.create {
                    // An edit of a mirrored message: its comment gets the new content.
                    let revision = c.dedup_key.rsplit(':').next().unwrap_or_default().to_string();
                    plan.request_comment(event.message_id, &revision, context);
                }
            }
        }
        plan.done()
    }

    /// One tracker webhook for an issue of this project.
    pub fn receive_tracker(&self, c: &ReceiveTrackerChange, context: &Context) -> OrdersDecision {
        let mut plan = Plan::new(self, c.project_id, context);
        let body = serde_json::from_str::<Value>(&c.body).map_err(|error| format!("the body is not JSON: {error}"));
        let webhook = body.as_ref().ok().and_then(|body| body["webhookEvent"].as_str()).unwrap_or_default().to_string();
        let change = body.as_ref().map_err(Clone::clone).and_then(TrackerChange::parse);
        let change = match change {
            Ok(change) => change,
            Err(reason) => {
                plan.ignore_tracker(0, &c.issue_id, "", &webhook, reason);
                return plan.done();
            }
        };
        let item_iid = if self.epic.issue_id == c.issue_id && self.epic.linked() {
            Some(0)
        } else {
            self.items.iter().find(|(_, item)| item.issue.issue_id == c.issue_id).map(|(iid, _)| *iid)
        };
        let overtaken =
            item_iid.is_none().then(|| body.ok().and_then(|body| self.overtaken_create(&body, c))).flatten();
        let item_iid = match (item_iid, overtaken) {
            (Some(item_iid), _) => Some(item_iid),
            (None, Some((item_iid, issue_key))) => {
                plan.emit(E::TrackerIssueLinked(TrackerIssueLinked {
                    project_id: c.project_id,
                    item_iid,
                    issue_id: c.issue_id.clone(),
                    issue_key,
                    task_id: issue_task_id(c.project_id, item_iid),
                    ts: context.now_micros,
                }));
                // The provider's own status move, in this very webhook, is newer than the
                // marketplace's status: the issue is not moved back to it.
                let moves_status = matches!(&change, TrackerChange::IssueUpdated { items, .. }
                    if items.iter().any(|item| item.field == "status"));
                plan.after_link(item_iid, !moves_status, context);
                Some(item_iid)
            }
            (None, None) => None,
        };
        let Some(item_iid) = item_iid else {
            plan.ignore_tracker(
                0,
                &c.issue_id,
                "",
                &webhook,
                format!("issue {} is not one of project {}'s", c.issue_id, c.project_id),
            );
            return plan.done();
        };
        let dedup_key = match &change {
            TrackerChange::IssueUpdated { changelog_id, .. } => format!("changelog:{changelog_id}"),
            TrackerChange::Comment(comment) if comment.created => format!("comment:{}:created", comment.comment_id),
            TrackerChange::Comment(comment) => {
                format!("comment:{}:updated:{}:{}", comment.comment_id, comment.updated, digest(&comment.body))
            }
            TrackerChange::Other { webhook_event } => format!("{webhook_event}:{}", digest(&c.body)),
        };
        if self.seen.contains(&dedup_key) {
            return Decision::events(vec![E::DuplicateIgnored(DuplicateIgnored {
                project_id: c.project_id,
                dedup_key,
                ts: context.now_micros,
            })]);
        }
        match change {
            TrackerChange::IssueUpdated { changelog_id, items } => {
                let mut acted = false;
                for change in items {
                    match change.field.as_str() {
                        "status" => {
                            acted = true;
                            plan.status_change(
                                item_iid,
                                &c.issue_id,
                                &dedup_key,
                                &changelog_id,
                                &change.to,
                                &change.to_string,
                                context,
                            );
                        }
                        "CP-VoucherID" if item_iid > 0 => {
                            acted = true;
                            plan.received(
                                item_iid,
                                &c.issue_id,
                                &dedup_key,
                                "voucher",
                                json!({"voucher_id": change.to_string}),
                            );
                            let detail = json!({"user_secrets": {"voucher_id": change.to_string}});
                            plan.update_marketplace(item_iid, "voucher", &changelog_id, detail, context);
                        }
                        _ => {}
                    }
                }
                if !acted {
                    plan.ignore_tracker(
                        item_iid,
                        &c.issue_id,
                        &dedup_key,
                        &webhook,
                        "no status or voucher change".into(),
                    );
                }
            }
            TrackerChange::Comment(comment) => plan.comment(item_iid, &c.issue_id, &dedup_key, &comment, context),
            TrackerChange::Other { webhook_event } => {
                plan.ignore_tracker(
                    item_iid,
                    &c.issue_id,
                    &dedup_key,
                    &webhook_event,
                    "a webhook kind the adapter does not act on".into(),
                );
            }
        }
        plan.done()
    }

    /// The item (0: the epic) whose issue a webhook names by the adapter's label while that
    /// issue's create is still under way, with the issue's key. A webhook can overtake the
    /// create's own answer (a provider quicker than the worker's report, or the answer lost and
    /// the create retried), and it proves the issue exists: dropping it would lose the change.
    fn overtaken_create(&self, body: &Value, c: &ReceiveTrackerChange) -> Option<(i64, String)> {
        let (project_id, item_iid) = issue_labelled(body)?;
        let issue = if item_iid == 0 { &self.epic } else { &self.items.get(&item_iid)?.issue };
        let issue_key = text(&body["issue"]["key"]);
        let creating = project_id == c.project_id && issue.requested && !issue.linked();
        (creating && !issue_key.is_empty()).then_some((item_iid, issue_key))
    }

    /// A retry task's outcome.
    pub fn outcome(&self, project_id: i64, purpose: &Purpose, o: &TaskOutcome, context: &Context) -> OrdersDecision {
        let mut plan = Plan::new(self, project_id, context);
        let now = context.now_micros;
        let result: Value = serde_json::from_str(&o.result).unwrap_or(Value::Null);
        let failed = o.status != "SUCCESS";
        let failure = |item_iid: i64, what: &str| {
            E::SyncFailed(SyncFailed {
                project_id,
                item_iid,
                task_id: o.task_id.clone(),
                what: what.to_string(),
                error_class: o.error_class.clone(),
                reason: if o.reason.is_empty() { o.status.clone() } else { o.reason.clone() },
                ts: now,
            })
        };
        match purpose {
            Purpose::Poll => return Decision::nothing(),
            Purpose::Issue { item_iid } => {
                let issue = if *item_iid == 0 { Some(&self.epic) } else { self.items.get(item_iid).map(|i| &i.issue) };
                if issue.is_some_and(Issue::linked) {
                    return Decision::nothing();
                }
                if failed {
                    plan.emit(failure(*item_iid, "tracker_issue"));
                } else {
                    plan.emit(E::TrackerIssueLinked(TrackerIssueLinked {
                        project_id,
                        item_iid: *item_iid,
                        issue_id: text(&result["issue_id"]),
                        issue_key: text(&result["issue_key"]),
                        task_id: o.task_id.clone(),
                        ts: now,
                    }));
                    plan.after_link(*item_iid, true, context);
                }
            }
            Purpose::Comment { message_id } => {
                let item_iid = self.messages.get(message_id).map_or(0, |m| m.item_iid);
                if failed {
                    plan.emit(failure(item_iid, "comment"));
                } else {
                    let comment_id = text(&result["comment_id"]);
                    let skipped = text(&result["skipped"]);
                    let known = self.messages.get(message_id).map(|m| m.comment_id.as_str()).unwrap_or_default();
                    if comment_id != known || !skipped.is_empty() {
                        plan.emit(E::CommentLinked(CommentLinked {
                            project_id,
                            item_iid,
                            message_id: *message_id,
                            comment_id,
                            skipped,
                            task_id: o.task_id.clone(),
                            ts: now,
                        }));
                    }
                }
            }
            Purpose::Transition { item_iid } => {
                if failed {
                    plan.emit(failure(*item_iid, "tracker_transition"));
                } else {
                    plan.emit(E::TrackerTransitioned(TrackerTransitioned {
                        project_id,
                        item_iid: *item_iid,
                        status_id: text(&result["status_id"]),
                        already: result["already"].as_bool().unwrap_or(false),
                        task_id: o.task_id.clone(),
                        ts: now,
                    }));
                }
            }
            Purpose::Marketplace { kind, source } => {
                let Some(&item_iid) = self.updating.get(&o.task_id) else { return Decision::nothing() };
                if failed {
                    plan.emit(failure(item_iid, kind));
                } else {
                    let message_id = result["message_id"].as_i64().unwrap_or(0);
                    plan.emit(E::MarketplaceUpdateDone(MarketplaceUpdateDone {
                        project_id,
                        item_iid,
                        task_id: o.task_id.clone(),
                        kind: kind.clone(),
                        source_id: source.clone(),
                        message_id,
                        ts: now,
                    }));
                    // An edit of the comment made while its message was being posted.
                    let pending = self.sent_comments.get(source).filter(|_| kind == "message" && message_id > 0);
                    if let Some(sent) = pending.filter(|sent| !sent.pending_edit.is_empty()) {
                        let edit = format!("{source}-{}", digest(&sent.pending_edit_key));
                        let detail = json!({"message_id": message_id, "content": sent.pending_edit});
                        plan.update_marketplace(item_iid, "message_update", &edit, detail, context);
                    }
                }
                // The message events that waited for the posts: taken again now that every
                // message the adapter posted has its id.
                if is_post(&o.task_id) && !plan.state.posting() {
                    for (dedup_key, event) in &self.parked {
                        plan.decision.commands.push((
                            project_key(project_id),
                            C::ReceiveMarketplaceEvent(ReceiveMarketplaceEvent {
                                project_id,
                                dedup_key: dedup_key.clone(),
                                event: event.clone(),
                                ts: now,
                            }),
                        ));
                    }
                }
            }
        }
        plan.done()
    }

    pub fn apply(&mut self, event: &E) {
        match event {
            E::MarketplaceEventReceived(e) => {
                self.project_id = e.project_id;
                self.seen.insert(e.dedup_key.clone());
                match e.resource.as_str() {
                    "project_item" => {
                        let item = self.items.entry(e.item_iid).or_default();
                        if !e.status_type.is_empty() {
                            item.status_type = e.status_type.clone();
                            item.synced_status = e.status_type.clone();
                            let echo = item.echoes.iter().find(|(_, s)| **s == e.status_type).map(|(t, _)| t.clone());
                            if let Some(task_id) = echo {
                                item.echoes.remove(&task_id);
                            }
                        }
                    }
                    "message" => {
                        self.messages
                            .entry(e.message_id)
                            .or_insert_with(|| Message { item_iid: e.item_iid, ..Message::default() });
                        if e.item_iid > 0 {
                            self.items.entry(e.item_iid).or_default();
                        }
                    }
                    _ => {}
                }
            }
            E::MarketplaceEventIgnored(e) if !e.dedup_key.is_empty() => {
                self.seen.insert(e.dedup_key.clone());
            }
            E::MarketplaceEventParked(e) => self.parked.push((e.dedup_key.clone(), e.event.clone())),
            E::TrackerIssueRequested(e) => {
                self.project_id = e.project_id;
                self.issue_mut(e.item_iid).requested = true;
            }
            E::TrackerIssueLinked(e) => {
                let issue = self.issue_mut(e.item_iid);
                issue.requested = true;
                issue.issue_id = e.issue_id.clone();
                issue.issue_key = e.issue_key.clone();
            }
            E::CommentRequested(e) => {
                self.messages.entry(e.message_id).or_default().comment_requested = true;
            }
            E::CommentLinked(e) => {
                let message = self.messages.entry(e.message_id).or_default();
                message.comment_requested = true;
                message.comment_id = e.comment_id.clone();
            }
            E::TrackerChangeReceived(e) => {
                self.seen.insert(e.dedup_key.clone());
                if e.change == "comment_updated" {
                    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
                    let sent = self.sent_comments.get_mut(&text(&detail["comment_id"]));
                    if let Some(sent) = sent.filter(|sent| sent.message_id == 0) {
                        sent.pending_edit = text(&detail["body"]);
                        sent.pending_edit_key = e.dedup_key.clone();
                    }
                }
            }
            E::TrackerChangeIgnored(e) if !e.dedup_key.is_empty() => {
                self.seen.insert(e.dedup_key.clone());
            }
            E::MarketplaceUpdateRequested(e) => {
                self.updating.insert(e.task_id.clone(), e.item_iid);
                self.apply_update_requested(e);
            }
            E::MarketplaceUpdateDone(e) => {
                if e.kind == "message" && e.message_id > 0 {
                    let sent = self.sent_comments.entry(e.source_id.clone()).or_default();
                    sent.message_id = e.message_id;
                    sent.pending_edit.clear();
                    sent.pending_edit_key.clear();
                    self.messages.insert(
                        e.message_id,
                        Message { from_tracker: true, item_iid: e.item_iid, ..Message::default() },
                    );
                }
                self.end_update(&e.task_id);
            }
            E::SyncFailed(e) => {
                for item in self.items.values_mut() {
                    item.echoes.remove(&e.task_id);
                }
                self.end_update(&e.task_id);
            }
            _ => {}
        }
    }

    fn apply_update_requested(&mut self, e: &MarketplaceUpdateRequested) {
        match e.kind.as_str() {
            "status" => {
                let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
                let status = text(&detail["status"]["type"]);
                let item = self.items.entry(e.item_iid).or_default();
                item.synced_status = status.clone();
                item.echoes.insert(e.task_id.clone(), status);
            }
            "message" => {
                self.sent_comments
                    .insert(e.source_id.clone(), SentComment { task_id: e.task_id.clone(), ..SentComment::default() });
            }
            _ => {}
        }
    }

    /// A marketplace update ended (done or failed); the last message post's end releases the
    /// parked message events (its decision sent them again).
    fn end_update(&mut self, task_id: &str) {
        if self.updating.remove(task_id).is_some() && is_post(task_id) && !self.posting() {
            self.parked.clear();
        }
    }

    /// Whether a message post to the marketplace is under way (its message id not known yet).
    fn posting(&self) -> bool {
        self.updating.keys().any(|task_id| is_post(task_id))
    }

    fn issue_mut(&mut self, item_iid: i64) -> &mut Issue {
        if item_iid == 0 { &mut self.epic } else { &mut self.items.entry(item_iid).or_default().issue }
    }
}

impl Plan {
    fn received(&mut self, item_iid: i64, issue_id: &str, dedup_key: &str, change: &str, detail: Value) {
        let (project_id, now) = (self.state.project_id, self.now);
        self.emit(E::TrackerChangeReceived(TrackerChangeReceived {
            project_id,
            item_iid,
            issue_id: issue_id.to_string(),
            dedup_key: dedup_key.to_string(),
            change: change.to_string(),
            detail: detail.to_string(),
            ts: now,
        }));
    }

    #[allow(clippy::too_many_arguments)]
    fn status_change(
        &mut self,
        item_iid: i64,
        issue_id: &str,
        dedup_key: &str,
        changelog_id: &str,
        to: &str,
        to_name: &str,
        context: &Context,
    ) {
        let event = "jira:issue_updated";
        if item_iid == 0 {
            self.ignore_tracker(0, issue_id, dedup_key, event, "a project's epic has no marketplace status".into());
            return;
        }
        let Some(status) = OrdersConfig::builtin().marketplace_status(to) else {
            let reason =
                format!("tracker status {to} ({to_name}) maps to no marketplace status (archived or not configured)");
            self.ignore_tracker(item_iid, issue_id, dedup_key, event, reason);
            return;
        };
        let synced = self.state.items.get(&item_iid).map(|item| item.synced_status.clone()).unwrap_or_default();
        if synced == status {
            self.ignore_tracker(
                item_iid,
                issue_id,
                dedup_key,
                event,
                format!("{status} is already the marketplace's status"),
            );
            return;
        }
        self.received(item_iid, issue_id, dedup_key, "status", json!({"status_id": to, "status": status}));
        let detail = json!({"status": {"value": to_name, "type": status}});
        self.update_marketplace(item_iid, "status", changelog_id, detail, context);
    }

    fn comment(&mut self, item_iid: i64, issue_id: &str, dedup_key: &str, comment: &Comment, context: &Context) {
        let event = if comment.created { "comment_created" } else { "comment_updated" };
        let config = OrdersConfig::builtin();
        let mirrored = self.state.messages.iter().find(|(_, m)| m.comment_id == comment.comment_id).map(|(id, _)| *id);
        let reason = if comment.author_name == config.tracker.username {
            Some("written by the adapter itself: not sent back".to_string())
        } else if let Some(message_id) = mirrored {
            Some(format!("the comment mirrors marketplace message {message_id}: not sent back"))
        } else {
            comment.visibility.as_ref().map(|restricted| format!("restricted to {restricted}: stays internal"))
        };
        if let Some(reason) = reason {
            self.ignore_tracker(item_iid, issue_id, dedup_key, event, reason);
            return;
        }
        let sent = self.state.sent_comments.get(&comment.comment_id).cloned();
        self.received(
            item_iid,
            issue_id,
            dedup_key,
            event,
            json!({"comment_id": comment.comment_id, "body": comment.body}),
        );
        match sent {
            None => {
                let mut detail = json!({
                    "content": comment.body,
                    "scope": "public",
                    "author": {
                        "email": comment.author_email,
                        "name": if comment.author_display_name.is_empty() { &comment.author_name } else { &comment.author_display_name },
                        "role": config.marketplace.author_role,
                    },
                });
                if item_iid > 0 {
                    detail["project_item_id"] = json!(item_iid);
                }
                self.update_marketplace(item_iid, "message", &comment.comment_id, detail, context);
            }
            Some(sent) if sent.message_id > 0 => {
                let source = format!("{}-{}", comment.comment_id, digest(dedup_key));
                let detail = json!({"message_id": sent.message_id, "content": comment.body});
                self.update_marketplace(item_iid, "message_update", &source, detail, context);
            }
            // Its message is still being posted: the edit (kept by the change just taken) is
            // sent once the message exists.
            Some(_) => {}
        }
    }
}

/// Whether a task posts a message to the marketplace.
fn is_post(task_id: &str) -> bool {
    matches!(purpose(task_id), Some((_, Purpose::Marketplace { kind, .. })) if kind == "message")
}

/// A short hash, for ids made from text.
fn digest(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(text.as_bytes()).iter().take(6).map(|byte| format!("{byte:02x}")).collect()
}
