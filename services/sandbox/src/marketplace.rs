//! A marketplace's OMS API (the EOSC Marketplace's `api/v1/oms`), where the orders domain reads
//! events and writes statuses and messages, under `/marketplace`. As the real one: events have
//! no id, their timestamps are serialised to the second and read strictly after
//! `from_timestamp`; a PATCH takes 7 status types (not `created`); a message is written as
//! provider or mediator only; a `user_direct` message's content reads as `<OBFUSCATED>`; after
//! every event it calls the OMS's trigger URL (set with `PATCH /api/v1/oms/{oms}`), retrying a
//! failed call for about a minute.
//!
//! The customer's side, for tests and the demo: `POST /marketplace/orders` places an order
//! (`{owner: {name, email}, name, items: [{service, offer, ...}]}`), `POST
//! /marketplace/projects/{id}/messages` writes as the customer, `POST
//! /marketplace/projects/{id}/items/{iid}/status` (`{type, value}`) changes an item's status as
//! the marketplace's own people do. `POST /marketplace/failures` (`{count | for_seconds,
//! status, retry_after}`) fails the next OMS calls, or every call for a while; `POST /marketplace/repeat`
//! (`{times}`) lists every event that many times; `GET /marketplace/received` says what the OMS
//! wrote, and how many calls it made.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::failures::{ScriptedFailures, with_retry_after};

const STATUS_TYPES: &[&str] =
    &["registered", "in_progress", "waiting_for_response", "ready", "approved", "rejected", "closed"];

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Marketplace {
    pub projects: BTreeMap<i64, Value>,
    #[serde(with = "by_project_and_iid")]
    pub items: BTreeMap<(i64, i64), Value>,
    pub messages: BTreeMap<i64, Value>,
    /// Every event, in order, with its precise time.
    pub events: Vec<(DateTime<Utc>, Value)>,
    pub trigger_url: String,
    /// The next `count` OMS calls fail with `status`.
    #[serde(skip)]
    pub failures: Option<ScriptedFailures>,
    /// Each event listed this many times (at-least-once delivery, exaggerated).
    pub repeat: u32,
    /// What the OMS wrote: `{method, path, body}`.
    pub received: Vec<Value>,
    #[serde(skip)]
    pub calls: u32,
}

/// Items keyed by (project, iid) as a list of entries: JSON keys are strings.
mod by_project_and_iid {
    use std::collections::BTreeMap;

    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(items: &BTreeMap<(i64, i64), Value>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(items.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<(i64, i64), Value>, D::Error> {
        Ok(Vec::<((i64, i64), Value)>::deserialize(deserializer)?.into_iter().collect())
    }
}

pub fn routes(sandbox: Sandbox) -> Router {
    let oms = "/marketplace/api/v1/oms/{oms}";
    Router::new()
        .route(oms, patch(configure))
        .route(&format!("{oms}/events"), get(events))
        .route(&format!("{oms}/projects/{{project}}"), get(project))
        .route(&format!("{oms}/projects/{{project}}/project_items/{{iid}}"), get(item).patch(update_item))
        .route(&format!("{oms}/messages"), get(messages).post(write_message))
        .route(&format!("{oms}/messages/{{id}}"), get(message).patch(edit_message))
        .route("/marketplace/orders", post(place_order))
        .route("/marketplace/projects/{project}/messages", post(customer_message))
        .route("/marketplace/projects/{project}/items/{iid}/status", post(set_status))
        .route("/marketplace/failures", post(script))
        .route("/marketplace/repeat", post(repeat))
        .route("/marketplace/received", get(received))
        .with_state(sandbox)
}

fn lock(sandbox: &Sandbox) -> std::sync::MutexGuard<'_, Marketplace> {
    sandbox.marketplace.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Counts the call; a scripted failure or a missing token answers instead.
fn gate(market: &mut Marketplace, headers: &HeaderMap) -> Option<Response> {
    market.calls += 1;
    if headers.get("x-user-token").is_none_or(|token| token.is_empty()) {
        return Some(problem(StatusCode::UNAUTHORIZED, "X-User-Token is required"));
    }
    let (status, retry_after) = market.failures.as_mut()?.take()?;
    Some(with_retry_after(problem(status, "scripted failure"), retry_after))
}

impl Marketplace {
    /// Records an event and returns the trigger to call.
    fn event(&mut self, kind: &str, resource: &str, ids: Value, changes: Option<Value>) -> String {
        let at = Utc::now();
        let mut event = json!({
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "type": kind,
            "resource": resource,
        });
        if let Some(ids) = ids.as_object() {
            for (name, value) in ids {
                event[name] = value.clone();
            }
        }
        if let Some(changes) = changes {
            event["changes"] = changes;
        }
        self.events.push((at, event));
        self.trigger_url.clone()
    }
}

/// Calls the OMS's trigger, as the marketplace's job does after an event commits.
fn call_trigger(sandbox: &Sandbox, url: String) {
    if url.is_empty() {
        return;
    }
    crate::delivery::deliver(sandbox.http.clone(), url, None, "the marketplace's trigger call");
}

async fn configure(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let mut market = lock(&sandbox);
    market.trigger_url = body["trigger"]["url"].as_str().unwrap_or_default().to_string();
    Json(json!({ "trigger": { "url": market.trigger_url, "method": "post" } })).into_response()
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    from_timestamp: String,
    limit: Option<usize>,
}

async fn events(State(sandbox): State<Sandbox>, headers: HeaderMap, Query(query): Query<EventsQuery>) -> Response {
    let mut market = lock(&sandbox);
    if let Some(refused) = gate(&mut market, &headers) {
        return refused;
    }
    let Ok(from) = DateTime::parse_from_rfc3339(&query.from_timestamp) else {
        return problem(StatusCode::BAD_REQUEST, "from_timestamp must be ISO 8601");
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let times = market.repeat.max(1) as usize;
    let events: Vec<Value> = market
        .events
        .iter()
        .filter(|(at, _)| *at > from)
        .flat_map(|(_, event)| std::iter::repeat_n(event.clone(), times))
        .take(limit)
        .collect();
    Json(json!({ "events": events })).into_response()
}

async fn project(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((_, project)): Path<(String, i64)>,
) -> Response {
    let mut market = lock(&sandbox);
    if let Some(refused) = gate(&mut market, &headers) {
        return refused;
    }
    match market.projects.get(&project) {
        Some(found) => Json(found.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no project {project}")),
    }
}

async fn item(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((_, project, iid)): Path<(String, i64, i64)>,
) -> Response {
    let mut market = lock(&sandbox);
    if let Some(refused) = gate(&mut market, &headers) {
        return refused;
    }
    match market.items.get(&(project, iid)) {
        Some(found) => {
            let mut found = found.clone();
            if found["user_secrets"].is_object() {
                found["user_secrets"] = json!("<OBFUSCATED>");
            }
            Json(found).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, format!("no item {iid} in project {project}")),
    }
}

async fn update_item(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((_, project, iid)): Path<(String, i64, i64)>,
    Json(body): Json<Value>,
) -> Response {
    let changed = {
        let mut market = lock(&sandbox);
        if let Some(refused) = gate(&mut market, &headers) {
            return refused;
        }
        if let Some(status_type) = body["status"]["type"].as_str()
            && !STATUS_TYPES.contains(&status_type)
        {
            return problem(StatusCode::BAD_REQUEST, format!("status.type {status_type:?} is not one a PATCH takes"));
        }
        let path = format!("projects/{project}/project_items/{iid}");
        market.received.push(json!({ "method": "PATCH", "path": path, "body": body }));
        change_item(&mut market, project, iid, &body)
    };
    changed_item(&sandbox, changed, project, iid)
}

/// The marketplace's own people change an item's status (`{type, value}`), as its web pages
/// let a provider or an administrator do: an event like any other, not a call of the OMS's.
async fn set_status(
    State(sandbox): State<Sandbox>,
    Path((project, iid)): Path<(i64, i64)>,
    Json(status): Json<Value>,
) -> Response {
    let changed = change_item(&mut lock(&sandbox), project, iid, &json!({ "status": status }));
    changed_item(&sandbox, changed, project, iid)
}

/// The answer to an item change: the item, its event's trigger called; or 404.
fn changed_item(sandbox: &Sandbox, changed: Option<(String, Value)>, project: i64, iid: i64) -> Response {
    match changed {
        Some((trigger, item)) => {
            call_trigger(sandbox, trigger);
            Json(item).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, format!("no item {iid} in project {project}")),
    }
}

/// Changes an item's status and user secrets as `body` says: the trigger to call and the item;
/// `None`: there is no such item.
fn change_item(market: &mut Marketplace, project: i64, iid: i64, body: &Value) -> Option<(String, Value)> {
    let item = market.items.get_mut(&(project, iid))?;
    let mut changes = Vec::new();
    if body["status"].is_object() {
        let before = item["status"].clone();
        item["status"] = body["status"].clone();
        changes.push(json!({"field": "status.value", "before": before["value"], "after": body["status"]["value"]}));
        changes.push(json!({"field": "status.type", "before": before["type"], "after": body["status"]["type"]}));
    }
    if let Some(secrets) = body["user_secrets"].as_object() {
        for (name, value) in secrets {
            item["user_secrets"][name] = value.clone();
            changes.push(
                json!({"field": format!("user_secrets.{name}"), "before": "<OBFUSCATED>", "after": "<OBFUSCATED>"}),
            );
        }
    }
    let item = item.clone();
    let ids = json!({"project_id": project, "project_item_id": iid});
    Some((market.event("update", "project_item", ids, Some(json!(changes))), item))
}

#[derive(Debug, Deserialize)]
struct MessagesQuery {
    project_id: i64,
    project_item_id: Option<i64>,
}

fn readable(message: &Value) -> Value {
    let mut message = message.clone();
    if message["scope"] == "user_direct" {
        message["content"] = json!("<OBFUSCATED>");
    }
    // GET answers carry neither parent id (the seed's parser required them).
    if let Some(object) = message.as_object_mut() {
        object.remove("project_id");
        object.remove("project_item_id");
    }
    message
}

async fn messages(State(sandbox): State<Sandbox>, headers: HeaderMap, Query(query): Query<MessagesQuery>) -> Response {
    let mut market = lock(&sandbox);
    if let Some(refused) = gate(&mut market, &headers) {
        return refused;
    }
    let listed: Vec<Value> = market
        .messages
        .values()
        .filter(|m| m["project_id"] == query.project_id && m["project_item_id"].as_i64() == query.project_item_id)
        .map(readable)
        .collect();
    Json(json!({ "messages": listed })).into_response()
}

async fn message(State(sandbox): State<Sandbox>, headers: HeaderMap, Path((_, id)): Path<(String, i64)>) -> Response {
    let mut market = lock(&sandbox);
    if let Some(refused) = gate(&mut market, &headers) {
        return refused;
    }
    match market.messages.get(&id) {
        Some(found) => Json(readable(found)).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no message {id}")),
    }
}

/// Stores a message and its create event; the trigger to call and the message.
fn store_message(market: &mut Marketplace, mut message: Value) -> (String, Value) {
    let id = market.messages.keys().next_back().copied().unwrap_or(0) + 1;
    message["id"] = json!(id);
    message["created_at"] = json!(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    let mut ids = json!({"project_id": message["project_id"], "message_id": id});
    if message["project_item_id"].is_i64() {
        ids["project_item_id"] = message["project_item_id"].clone();
    }
    market.messages.insert(id, message.clone());
    (market.event("create", "message", ids, None), message)
}

async fn write_message(State(sandbox): State<Sandbox>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let (trigger, message) = {
        let mut market = lock(&sandbox);
        if let Some(refused) = gate(&mut market, &headers) {
            return refused;
        }
        market.received.push(json!({ "method": "POST", "path": "messages", "body": body }));
        let role = body["author"]["role"].as_str().unwrap_or_default();
        if !["provider", "mediator"].contains(&role) {
            return problem(StatusCode::BAD_REQUEST, "author.role must be provider or mediator");
        }
        if body["author"]["email"].as_str().is_none() || body["content"].as_str().is_none() {
            return problem(StatusCode::BAD_REQUEST, "author.email and content are required");
        }
        let Some(project) = body["project_id"].as_i64().filter(|p| market.projects.contains_key(p)) else {
            return problem(StatusCode::NOT_FOUND, "no such project");
        };
        let mut message = json!({
            "project_id": project,
            "author": body["author"],
            "content": body["content"],
            "scope": body["scope"].as_str().unwrap_or("public"),
        });
        if let Some(iid) = body["project_item_id"].as_i64() {
            message["project_item_id"] = json!(iid);
        }
        store_message(&mut market, message)
    };
    call_trigger(&sandbox, trigger);
    (StatusCode::CREATED, Json(message)).into_response()
}

async fn edit_message(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((_, id)): Path<(String, i64)>,
    Json(body): Json<Value>,
) -> Response {
    let (trigger, message) = {
        let mut market = lock(&sandbox);
        if let Some(refused) = gate(&mut market, &headers) {
            return refused;
        }
        market.received.push(json!({ "method": "PATCH", "path": format!("messages/{id}"), "body": body }));
        let Some(message) = market.messages.get_mut(&id) else {
            return problem(StatusCode::NOT_FOUND, format!("no message {id}"));
        };
        let before = message["content"].clone();
        message["content"] = body["content"].clone();
        let (message, mut ids) = (message.clone(), json!({"project_id": message["project_id"], "message_id": id}));
        if message["project_item_id"].is_i64() {
            ids["project_item_id"] = message["project_item_id"].clone();
        }
        let changes = json!([{"field": "content", "before": before, "after": body["content"]}]);
        (market.event("update", "message", ids, Some(changes)), message)
    };
    call_trigger(&sandbox, trigger);
    Json(message).into_response()
}

async fn place_order(State(sandbox): State<Sandbox>, Json(order): Json<Value>) -> Response {
    let mut triggers = Vec::new();
    let project_id = {
        let mut market = lock(&sandbox);
        let project_id = market.projects.keys().next_back().copied().unwrap_or(0) + 1;
        let items = order["items"].as_array().cloned().unwrap_or_default();
        let project = json!({
            "id": project_id,
            "owner": order["owner"],
            "project_items": (1..=items.len()).collect::<Vec<_>>(),
            "attributes": {
                "name": order["name"],
                "customer_typology": order["customer_typology"].as_str().unwrap_or("single_user"),
                "organization": order["organization"],
                "scientific_domains": order["scientific_domains"],
                "country": order["country"],
                "collaboration_countries": [],
                "user_group_name": order["user_group_name"],
            },
        });
        market.projects.insert(project_id, project);
        triggers.push(market.event("create", "project", json!({"project_id": project_id}), None));
        for (n, attributes) in items.into_iter().enumerate() {
            let iid = n as i64 + 1;
            let item = json!({
                "id": iid,
                "project_id": project_id,
                "status": {"value": "created", "type": "created"},
                "attributes": attributes,
                "oms_params": {"order_target": "provider@sandbox.example"},
                "user_secrets": {},
            });
            market.items.insert((project_id, iid), item);
            triggers.push(market.event(
                "create",
                "project_item",
                json!({"project_id": project_id, "project_item_id": iid}),
                None,
            ));
        }
        project_id
    };
    for trigger in triggers {
        call_trigger(&sandbox, trigger);
    }
    (StatusCode::CREATED, Json(json!({ "project_id": project_id }))).into_response()
}

async fn customer_message(
    State(sandbox): State<Sandbox>,
    Path(project): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let (trigger, message) = {
        let mut market = lock(&sandbox);
        let Some(owner) = market.projects.get(&project).map(|p| p["owner"].clone()) else {
            return problem(StatusCode::NOT_FOUND, format!("no project {project}"));
        };
        let mut message = json!({
            "project_id": project,
            "author": {"email": owner["email"], "name": owner["name"], "role": "user"},
            "content": body["content"],
            "scope": body["scope"].as_str().unwrap_or("public"),
        });
        if let Some(iid) = body["project_item_id"].as_i64() {
            message["project_item_id"] = json!(iid);
        }
        store_message(&mut market, message)
    };
    call_trigger(&sandbox, trigger);
    (StatusCode::CREATED, Json(message)).into_response()
}

async fn script(State(sandbox): State<Sandbox>, Json(failures): Json<ScriptedFailures>) -> StatusCode {
    lock(&sandbox).failures = Some(failures.armed());
    StatusCode::NO_CONTENT
}

async fn repeat(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> StatusCode {
    lock(&sandbox).repeat = body["times"].as_u64().unwrap_or(1) as u32;
    StatusCode::NO_CONTENT
}

async fn received(State(sandbox): State<Sandbox>) -> Json<Value> {
    let market = lock(&sandbox);
    let items: Vec<Value> = market.items.values().cloned().collect();
    let messages: Vec<Value> = market.messages.values().cloned().collect();
    Json(
        json!({ "received": market.received, "calls": market.calls, "items": items, "messages": messages, "events": market.events.len() }),
    )
}
