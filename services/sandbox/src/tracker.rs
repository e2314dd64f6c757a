//! An issue tracker's REST API (JIRA's shapes, `rest/api/2`), where the orders domain mirrors
//! orders, under `/tracker`. Callers sign in with basic auth; the user is a comment's author.
//! It has no idempotency key: a create retried is a second issue, unless the caller looks first
//! (`GET search?jql=labels = "..."`). On every comment created or updated and every transition
//! it sends its webhooks (`POST rest/webhooks/1.0/webhook` registers one; `${issue.id}` in the
//! URL is replaced), in JIRA's bodies, retried for about a minute when Clio does not take them.
//!
//! For tests and the demo: `POST /tracker/failures` (`{count | for_seconds, status,
//! retry_after, after_effect}`) fails the next calls, or every call for a while
//! (`after_effect`: a create is made, then the answer is lost, as behind a proxy that timed
//! out); `POST /tracker/latency` (`{ms}`) slows every API call; `GET /tracker/issues` lists
//! every issue with its comments and how many creates each label saw. A person works an issue
//! with the same API under their own user (`POST .../transitions`, `POST .../comment`).

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Sandbox;
use crate::failures::{ScriptedFailures, with_retry_after};

/// The workflow: status id → name (archived is 8).
const STATUSES: &[(&str, &str)] = &[
    ("1", "To Do"),
    ("2", "In Progress"),
    ("3", "Waiting for response"),
    ("4", "Approved"),
    ("5", "Rejected"),
    ("6", "Closed"),
    ("7", "Ready"),
    ("8", "Archived"),
];

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Tracker {
    pub issues: Vec<Issue>,
    pub webhooks: Vec<String>,
    #[serde(skip)]
    pub failures: Option<Failures>,
    pub next_comment: u64,
    pub next_changelog: u64,
    #[serde(skip)]
    pub calls: u32,
    /// How long every API call takes (`POST /tracker/latency`), as a busy tracker's do.
    #[serde(skip)]
    pub latency_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub fields: Value,
    pub status_id: String,
    pub comments: Vec<Value>,
}

/// The tracker's scripted failures; `after_effect`: a create is made before its answer fails.
#[derive(Debug, Clone, Deserialize)]
pub struct Failures {
    #[serde(flatten)]
    pub scripted: ScriptedFailures,
    #[serde(default)]
    pub after_effect: bool,
}

pub fn routes(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/tracker/rest/api/2/search", get(search))
        .route("/tracker/rest/api/2/issue", post(create_issue))
        .route("/tracker/rest/api/2/issue/{key}", get(issue))
        .route("/tracker/rest/api/2/issue/{key}/comment", get(comments).post(add_comment))
        .route("/tracker/rest/api/2/issue/{key}/comment/{id}", put(update_comment))
        .route("/tracker/rest/api/2/issue/{key}/transitions", get(transitions).post(transition))
        .route("/tracker/rest/webhooks/1.0/webhook", post(register))
        .route("/tracker/failures", post(script))
        .route("/tracker/issues", get(all))
        .route("/tracker/latency", post(set_latency))
        .layer(axum::middleware::from_fn_with_state(sandbox.clone(), slowed))
        .with_state(sandbox)
}

async fn slowed(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let latency = lock(&sandbox).latency_ms;
    if latency > 0 && request.uri().path().starts_with("/tracker/rest/api/") {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    next.run(request).await
}

async fn set_latency(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> StatusCode {
    lock(&sandbox).latency_ms = body["ms"].as_u64().unwrap_or(0);
    StatusCode::NO_CONTENT
}

fn lock(sandbox: &Sandbox) -> std::sync::MutexGuard<'_, Tracker> {
    sandbox.tracker.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "errorMessages": [message.into()], "errors": {} }))).into_response()
}

/// The signed-in user, from basic auth.
fn user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = decode_base64(value.strip_prefix("Basic ")?)?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(user, _)| user.to_string()).filter(|user| !user.is_empty())
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.trim().bytes().filter(|c| *c != b'=') {
        buffer = (buffer << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// What a scripted failure says about this call: `Some(response)` answers at once;
/// `after` is an answer to give once the effect is made.
struct Gate {
    now: Option<Response>,
    after: Option<Response>,
}

fn gate(tracker: &mut Tracker, headers: &HeaderMap) -> Gate {
    tracker.calls += 1;
    if user(headers).is_none() {
        return Gate { now: Some(problem(StatusCode::UNAUTHORIZED, "basic auth is required")), after: None };
    }
    let Some(failures) = tracker.failures.as_mut() else { return Gate { now: None, after: None } };
    let Some((status, retry_after)) = failures.scripted.take() else { return Gate { now: None, after: None } };
    let response = with_retry_after(problem(status, "scripted failure"), retry_after);
    if failures.after_effect {
        Gate { now: None, after: Some(response) }
    } else {
        Gate { now: Some(response), after: None }
    }
}

fn issue_json(issue: &Issue) -> Value {
    let mut fields = issue.fields.clone();
    let name = STATUSES.iter().find(|(id, _)| *id == issue.status_id).map_or("", |(_, name)| name);
    fields["status"] = json!({ "id": issue.status_id, "name": name });
    json!({ "id": issue.id, "key": issue.key, "fields": fields })
}

impl Tracker {
    fn find(&mut self, key: &str) -> Option<&mut Issue> {
        self.issues.iter_mut().find(|issue| issue.key == key || issue.id == key)
    }

    /// The webhook calls for `body` about `issue`.
    fn webhooks(&self, issue: &Issue, mut body: Value) -> Vec<(String, Value)> {
        body["issue"] = issue_json(issue);
        self.webhooks.iter().map(|url| (url.replace("${issue.id}", &issue.id), body.clone())).collect()
    }
}

fn send_webhooks(sandbox: &Sandbox, calls: Vec<(String, Value)>) {
    for (url, body) in calls {
        crate::delivery::deliver(sandbox.http.clone(), url, Some(body), "a tracker webhook");
    }
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    jql: String,
}

async fn search(State(sandbox): State<Sandbox>, headers: HeaderMap, Query(query): Query<SearchQuery>) -> Response {
    let mut tracker = lock(&sandbox);
    if let Some(refused) = gate(&mut tracker, &headers).now {
        return refused;
    }
    // The one JQL the adapter writes: labels = "<label>".
    let Some(label) = query.jql.strip_prefix("labels = ").map(|l| l.trim_matches('"').to_string()) else {
        return problem(StatusCode::BAD_REQUEST, format!("this tracker only searches by label, not {:?}", query.jql));
    };
    let issues: Vec<Value> = tracker
        .issues
        .iter()
        .filter(|issue| issue.fields["labels"].as_array().is_some_and(|labels| labels.iter().any(|l| l == &label)))
        .map(issue_json)
        .collect();
    Json(json!({ "total": issues.len(), "issues": issues })).into_response()
}

async fn create_issue(State(sandbox): State<Sandbox>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut tracker = lock(&sandbox);
    let gate = gate(&mut tracker, &headers);
    if let Some(refused) = gate.now {
        return refused;
    }
    let fields = &body["fields"];
    let Some(project) = fields["project"]["key"].as_str() else {
        return problem(StatusCode::BAD_REQUEST, "fields.project must be {\"key\": ...}");
    };
    if fields["issuetype"]["id"].as_str().is_none() || fields["summary"].as_str().is_none_or(str::is_empty) {
        return problem(StatusCode::BAD_REQUEST, "fields.issuetype.id and fields.summary are required");
    }
    let n = tracker.issues.len() + 1;
    let issue = Issue {
        id: format!("{}", 10_000 + n),
        key: format!("{project}-{n}"),
        fields: fields.clone(),
        status_id: "1".into(),
        comments: Vec::new(),
    };
    let answer = json!({ "id": issue.id, "key": issue.key, "self": format!("/rest/api/2/issue/{}", issue.id) });
    tracker.issues.push(issue);
    if let Some(lost) = gate.after {
        return lost;
    }
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn issue(State(sandbox): State<Sandbox>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let mut tracker = lock(&sandbox);
    if let Some(refused) = gate(&mut tracker, &headers).now {
        return refused;
    }
    match tracker.find(&key) {
        Some(issue) => Json(issue_json(issue)).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no issue {key}")),
    }
}

async fn comments(State(sandbox): State<Sandbox>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let mut tracker = lock(&sandbox);
    if let Some(refused) = gate(&mut tracker, &headers).now {
        return refused;
    }
    match tracker.find(&key) {
        Some(issue) => Json(json!({ "total": issue.comments.len(), "comments": issue.comments })).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no issue {key}")),
    }
}

fn person(name: &str) -> Value {
    json!({ "name": name, "emailAddress": format!("{name}@tracker.example"), "displayName": name })
}

async fn add_comment(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let (answer, calls) = {
        let mut tracker = lock(&sandbox);
        let gate = gate(&mut tracker, &headers);
        if let Some(refused) = gate.now {
            return refused;
        }
        let author = user(&headers).unwrap_or_default();
        tracker.next_comment += 1;
        let id = (300_000 + tracker.next_comment).to_string();
        let Some(issue) = tracker.find(&key) else { return problem(StatusCode::NOT_FOUND, format!("no issue {key}")) };
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
        let mut comment = json!({
            "id": id, "body": body["body"], "author": person(&author), "updateAuthor": person(&author),
            "created": now, "updated": now, "properties": body["properties"].as_array().cloned().unwrap_or_default(),
        });
        if body["visibility"].is_object() {
            comment["visibility"] = body["visibility"].clone();
        }
        issue.comments.push(comment.clone());
        let issue = issue.clone();
        let calls = tracker.webhooks(&issue, json!({ "webhookEvent": "comment_created", "comment": comment }));
        if let Some(lost) = gate.after {
            send_webhooks(&sandbox, calls);
            return lost;
        }
        (comment, calls)
    };
    send_webhooks(&sandbox, calls);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn update_comment(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let (answer, calls) = {
        let mut tracker = lock(&sandbox);
        if let Some(refused) = gate(&mut tracker, &headers).now {
            return refused;
        }
        let author = user(&headers).unwrap_or_default();
        let Some(issue) = tracker.find(&key) else { return problem(StatusCode::NOT_FOUND, format!("no issue {key}")) };
        let Some(comment) = issue.comments.iter_mut().find(|c| c["id"] == id.as_str()) else {
            return problem(StatusCode::NOT_FOUND, format!("no comment {id}"));
        };
        comment["body"] = body["body"].clone();
        comment["updateAuthor"] = person(&author);
        comment["updated"] = json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string());
        let comment = comment.clone();
        let issue = issue.clone();
        (comment.clone(), tracker.webhooks(&issue, json!({ "webhookEvent": "comment_updated", "comment": comment })))
    };
    send_webhooks(&sandbox, calls);
    Json(answer).into_response()
}

async fn transitions(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let mut tracker = lock(&sandbox);
    if let Some(refused) = gate(&mut tracker, &headers).now {
        return refused;
    }
    let transitions: Vec<Value> =
        STATUSES.iter().map(|(id, name)| json!({ "id": id, "name": name, "to": { "id": id, "name": name } })).collect();
    Json(json!({ "transitions": transitions })).into_response()
}

async fn transition(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let calls = {
        let mut tracker = lock(&sandbox);
        if let Some(refused) = gate(&mut tracker, &headers).now {
            return refused;
        }
        let to = body["transition"]["id"].as_str().unwrap_or_default().to_string();
        let Some(&(_, to_name)) = STATUSES.iter().find(|(id, _)| *id == to) else {
            return problem(StatusCode::BAD_REQUEST, format!("no transition {to}"));
        };
        tracker.next_changelog += 1;
        let changelog_id = 10_000 + tracker.next_changelog;
        let author = user(&headers).unwrap_or_default();
        let Some(issue) = tracker.find(&key) else { return problem(StatusCode::NOT_FOUND, format!("no issue {key}")) };
        let from = std::mem::replace(&mut issue.status_id, to.clone());
        let from_name = STATUSES.iter().find(|(id, _)| *id == from).map_or("", |(_, name)| name);
        let issue = issue.clone();
        let item = json!({ "field": "status", "fieldtype": "jira", "from": from, "fromString": from_name, "to": to, "toString": to_name });
        tracker.webhooks(
            &issue,
            json!({ "webhookEvent": "jira:issue_updated", "user": person(&author), "changelog": { "id": changelog_id, "items": [item] } }),
        )
    };
    send_webhooks(&sandbox, calls);
    StatusCode::NO_CONTENT.into_response()
}

async fn register(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let Some(url) = body["url"].as_str() else { return problem(StatusCode::BAD_REQUEST, "url is required") };
    let mut tracker = lock(&sandbox);
    if !tracker.webhooks.iter().any(|known| known == url) {
        tracker.webhooks.push(url.to_string());
    }
    (StatusCode::CREATED, Json(json!({ "name": body["name"], "url": url, "events": body["events"] }))).into_response()
}

async fn script(State(sandbox): State<Sandbox>, Json(mut failures): Json<Failures>) -> StatusCode {
    failures.scripted = failures.scripted.armed();
    lock(&sandbox).failures = Some(failures);
    StatusCode::NO_CONTENT
}

async fn all(State(sandbox): State<Sandbox>) -> Json<Value> {
    let tracker = lock(&sandbox);
    let issues: Vec<Value> = tracker
        .issues
        .iter()
        .map(|issue| {
            let mut listed = issue_json(issue);
            listed["comments"] = json!(issue.comments);
            listed
        })
        .collect();
    let mut creates_by_label = serde_json::Map::new();
    for issue in &tracker.issues {
        for label in issue.fields["labels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let count = creates_by_label.get(label).and_then(Value::as_u64).unwrap_or(0) + 1;
            creates_by_label.insert(label.to_string(), json!(count));
        }
    }
    Json(
        json!({ "issues": issues, "by_label": creates_by_label, "calls": tracker.calls, "webhooks": tracker.webhooks }),
    )
}
