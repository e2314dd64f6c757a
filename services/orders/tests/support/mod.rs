//! Builders for the orders scenarios: marketplace events as the OMS API serialises them,
//! tracker webhooks as JIRA sends them, and the retry domain's answers to the domain's tasks.

#![allow(dead_code)]

use clio_orders::entity::Orders;
use clio_orders::messages::*;
use clio_orders::tasks::purpose;
use clio_testkit::scenario::World;
use serde_json::{Value, json};

pub const PROJECT: i64 = 1436;

pub fn event(kind: &str, resource: &str, second: u32, ids: Value, changes: Value) -> Value {
    let mut event = json!({
        "timestamp": format!("2026-11-22T10:00:{second:02}Z"),
        "type": kind,
        "resource": resource,
        "project_id": PROJECT,
    });
    if let Some(ids) = ids.as_object() {
        for (name, value) in ids {
            event[name] = value.clone();
        }
    }
    if !changes.is_null() {
        event["changes"] = changes;
    }
    event
}

pub fn project_created(second: u32) -> Value {
    event("create", "project", second, json!({}), Value::Null)
}

pub fn item_created(iid: i64, second: u32) -> Value {
    event("create", "project_item", second, json!({"project_item_id": iid}), Value::Null)
}

pub fn message_created(message_id: i64, item_iid: Option<i64>, second: u32) -> Value {
    let ids = match item_iid {
        Some(iid) => json!({"message_id": message_id, "project_item_id": iid}),
        None => json!({"message_id": message_id}),
    };
    event("create", "message", second, ids, Value::Null)
}

pub fn poll() -> OrdersCommand {
    OrdersCommand::PollMarketplace(PollMarketplace { poll_id: "t1".into(), ts: 0 })
}

/// The retry domain's answer to task `task_id`: a success with `result`.
pub fn success(task_id: &str, result: Value) -> OrdersCommand {
    OrdersCommand::TaskOutcome(TaskOutcome {
        task_id: task_id.into(),
        idempotency_key: String::new(),
        status: "SUCCESS".into(),
        result: result.to_string(),
        error_class: String::new(),
        reason: String::new(),
        attempts: 1,
        ts: 0,
    })
}

pub fn failure(task_id: &str, reason: &str) -> OrdersCommand {
    OrdersCommand::TaskOutcome(TaskOutcome {
        task_id: task_id.into(),
        idempotency_key: String::new(),
        status: "FAILED".into(),
        result: String::new(),
        error_class: "http_5xx".into(),
        reason: reason.into(),
        attempts: 15,
        ts: 0,
    })
}

/// The read the feed asked for last answers `events`.
pub fn read_answers(world: &mut World<Orders>, events: Vec<Value>) -> Vec<OrdersEvent> {
    let task_id = last_task(world, "orders_marketplace_events").0;
    world.send(success(&task_id, json!({ "events": events })))
}

/// The tasks asked for so far: (task id, type, params).
pub fn tasks(world: &World<Orders>) -> Vec<(String, String, Value)> {
    world
        .foreign
        .iter()
        .filter_map(|foreign| {
            let create: CreateTask = apache_avro::from_value(&foreign.value).ok()?;
            Some((create.task_id, create.task_type, serde_json::from_str(&create.params).ok()?))
        })
        .collect()
}

pub fn tasks_of(world: &World<Orders>, task_type: &str) -> Vec<(String, Value)> {
    tasks(world).into_iter().filter(|(_, t, _)| t == task_type).map(|(id, _, params)| (id, params)).collect()
}

pub fn last_task(world: &World<Orders>, task_type: &str) -> (String, Value) {
    tasks_of(world, task_type).pop().unwrap_or_else(|| panic!("no {task_type} task"))
}

/// Feeds `events` through a trigger and the feed's read.
pub fn deliver(world: &mut World<Orders>, events: Vec<Value>) -> Vec<OrdersEvent> {
    let mut out = world.send(poll());
    out.extend(read_answers(world, events));
    out
}

/// Answers every tracker issue task not answered yet, as the tracker would (EOSC-<n>).
pub fn link_issues(world: &mut World<Orders>) -> Vec<OrdersEvent> {
    let mut out = Vec::new();
    loop {
        let linked: Vec<String> = world
            .events
            .iter()
            .filter_map(|e| match e {
                OrdersEvent::TrackerIssueLinked(l) => Some(l.task_id.clone()),
                OrdersEvent::SyncFailed(f) => Some(f.task_id.clone()),
                _ => None,
            })
            .collect();
        let open: Vec<(String, Value)> =
            tasks_of(world, "orders_tracker_issue").into_iter().filter(|(id, _)| !linked.contains(id)).collect();
        if open.is_empty() {
            return out;
        }
        for (task_id, params) in open {
            let iid = params["item_iid"].as_i64().unwrap_or(0);
            let key = format!("EOSC-{}", 100 + iid);
            out.extend(
                world.send(success(&task_id, json!({"issue_id": format!("{}", 10_000 + iid), "issue_key": key}))),
            );
        }
    }
}

pub fn webhook(issue_id: &str, body: Value) -> OrdersCommand {
    OrdersCommand::ReceiveTrackerChange(ReceiveTrackerChange {
        project_id: PROJECT,
        issue_id: issue_id.into(),
        body: body.to_string(),
        ts: 0,
    })
}

pub fn status_changed(changelog_id: i64, to: &str, to_name: &str) -> Value {
    json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "x"}, "user": {"name": "anna"},
        "changelog": {"id": changelog_id, "items": [{"field": "status", "fieldtype": "jira", "from": "1", "fromString": "To Do", "to": to, "toString": to_name}]}})
}

pub fn comment(kind: &str, comment_id: &str, author: &str, body: &str, visibility: Option<&str>) -> Value {
    let mut comment = json!({"id": comment_id, "body": body, "updated": "2026-11-22T10:00:00.000+0000",
        "author": {"name": author, "emailAddress": format!("{author}@provider.example"), "displayName": author.to_uppercase()}});
    if let Some(value) = visibility {
        comment["visibility"] = json!({"type": "role", "value": value});
    }
    json!({"webhookEvent": kind, "comment": comment, "issue": {"id": "x"}})
}

/// What the world's events say of `kind`, by name.
pub fn names(events: &[OrdersEvent]) -> Vec<&'static str> {
    use clio_aggregate::RecordSet as _;
    events.iter().map(|e| e.record_name().rsplit('.').next().unwrap_or_default()).collect()
}

pub fn project_of(task_id: &str) -> i64 {
    purpose(task_id).map_or(-1, |(project, _)| project)
}
