//! The orders domain's calls, as retry handlers: the marketplace's OMS API and the issue
//! tracker's REST API (JIRA's shapes). Neither has an idempotency key for what it creates, so
//! every create looks first for what an earlier attempt may have made: an issue by its unique
//! label, a comment by the property naming its message, a message by its author and content.
//!
//! - `orders_marketplace_events`: `GET {oms}/events?from_timestamp=&limit=` → `{events}`.
//! - `orders_tracker_issue`: the project (and item) from the marketplace, its issue found by
//!   label or created with the configured fields → `{issue_id, issue_key}`.
//! - `orders_tracker_comment`: the message from the marketplace (a `user_direct` one is
//!   skipped: the marketplace hides its content), its comment found, updated or created →
//!   `{comment_id}` or `{skipped}`.
//! - `orders_tracker_transition`: an item's issue moved to a workflow status, unless it is in it
//!   (`GET issue`, then the transition that leads there) → `{status_id, already}`.
//! - `orders_marketplace_update`: an item's status or voucher (`PATCH`), a message posted (found
//!   first) or edited → `{message_id}` for a message.

use std::time::Duration;

use clio_orders::config::OrdersConfig;
use clio_orders::fields::{epic_fields, item_fields};
use clio_orders::tracker::text;
use clio_retry::classify::{ErrorClass, classify_http};
use serde_json::{Value, json};

use crate::handlers::{Answer, Outcome, Run, call, excerpt};

/// The property a mirrored comment carries, naming its marketplace message.
const MESSAGE_PROPERTY: &str = "clio.message";

/// Where the marketplace and the tracker are, and how the adapter signs in to each.
#[derive(Debug, Clone, Default)]
pub struct OrdersPeers {
    /// The marketplace's base URL (`{base}/api/v1/oms/{oms_id}/...`); empty: none configured.
    pub marketplace_url: String,
    pub oms_id: String,
    /// Sent as `X-User-Token`.
    pub marketplace_token: String,
    /// The tracker's base URL (`{base}/rest/api/2/...`); empty: none configured.
    pub tracker_url: String,
    /// Basic auth: the adapter's tracker user and its API token.
    pub tracker_user: String,
    pub tracker_token: String,
}

/// A call's answer, or the run's outcome when it failed.
type Called<T> = Result<T, Outcome>;

impl OrdersPeers {
    fn oms(&self, path: &str) -> String {
        format!("{}/api/v1/oms/{}/{path}", self.marketplace_url.trim_end_matches('/'), self.oms_id)
    }

    fn jira(&self, path: &str) -> String {
        format!("{}/rest/api/2/{path}", self.tracker_url.trim_end_matches('/'))
    }

    fn marketplace(&self, client: &reqwest::Client, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        client
            .request(method, self.oms(path))
            .timeout(Duration::from_secs(20))
            .header("X-User-Token", &self.marketplace_token)
    }

    fn tracker(&self, client: &reqwest::Client, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        client
            .request(method, self.jira(path))
            .timeout(Duration::from_secs(20))
            .basic_auth(&self.tracker_user, Some(&self.tracker_token))
    }

    /// Runs one of the orders handlers.
    pub async fn perform(&self, client: &reqwest::Client, run: &Run) -> Outcome {
        let configured = match run.handler.as_str() {
            "orders_marketplace_events" | "orders_marketplace_update" => !self.marketplace_url.is_empty(),
            _ => !self.marketplace_url.is_empty() && !self.tracker_url.is_empty(),
        };
        if !configured {
            return Outcome::failed(ErrorClass::Unknown, "this worker has no marketplace or tracker configured");
        }
        let result = match run.handler.as_str() {
            "orders_marketplace_events" => self.events(client, &run.params).await,
            "orders_tracker_issue" => self.issue(client, &run.params).await,
            "orders_tracker_comment" => self.comment(client, &run.params).await,
            "orders_tracker_transition" => self.transition(client, &run.params).await,
            "orders_marketplace_update" => self.update(client, &run.params).await,
            other => Err(Outcome::failed(ErrorClass::Unknown, format!("no orders handler called {other:?}"))),
        };
        match result {
            Ok(result) => Outcome::Success { result },
            Err(outcome) => outcome,
        }
    }

    async fn events(&self, client: &reqwest::Client, params: &Value) -> Called<Value> {
        let since = params["since"].as_str().filter(|s| !s.is_empty()).unwrap_or("1970-01-01T00:00:00Z");
        let limit = params["limit"].as_i64().unwrap_or(100).to_string();
        let request = self.marketplace(
            client,
            reqwest::Method::GET,
            &query("events", &[("from_timestamp", since), ("limit", &limit)]),
        );
        let answer = send(request, "the marketplace").await?;
        Ok(json!({ "events": answer["events"] }))
    }

    async fn issue(&self, client: &reqwest::Client, params: &Value) -> Called<Value> {
        let label = params["label"].as_str().unwrap_or_default();
        if label.is_empty() {
            return Err(Outcome::failed(ErrorClass::Http4xx, "an issue task needs its label"));
        }
        let jql = format!("labels = \"{label}\"");
        let search = self.tracker(
            client,
            reqwest::Method::GET,
            &query("search", &[("jql", jql.as_str()), ("fields", "summary")]),
        );
        let found = send(search, "the tracker").await?;
        if let Some(issue) = found["issues"].as_array().and_then(|issues| issues.first()) {
            return Ok(json!({ "issue_id": text(&issue["id"]), "issue_key": text(&issue["key"]), "found": true }));
        }
        let (project_id, item_iid) =
            (params["project_id"].as_i64().unwrap_or(0), params["item_iid"].as_i64().unwrap_or(0));
        let project =
            send(self.marketplace(client, reqwest::Method::GET, &format!("projects/{project_id}")), "the marketplace")
                .await?;
        let config = OrdersConfig::builtin();
        let fields = if item_iid == 0 {
            epic_fields(config, &project, label)
        } else {
            let path = format!("projects/{project_id}/project_items/{item_iid}");
            let item = send(self.marketplace(client, reqwest::Method::GET, &path), "the marketplace").await?;
            item_fields(config, &project, &item, params["epic_key"].as_str().unwrap_or_default(), label)
        };
        let created = send(self.tracker(client, reqwest::Method::POST, "issue").json(&fields), "the tracker").await?;
        Ok(json!({ "issue_id": text(&created["id"]), "issue_key": text(&created["key"]), "found": false }))
    }

    async fn comment(&self, client: &reqwest::Client, params: &Value) -> Called<Value> {
        let message_id = params["message_id"].as_i64().unwrap_or(0);
        let issue_key = params["issue_key"].as_str().unwrap_or_default();
        let message =
            send(self.marketplace(client, reqwest::Method::GET, &format!("messages/{message_id}")), "the marketplace")
                .await?;
        let scope = message["scope"].as_str().unwrap_or("public");
        if scope == "user_direct" {
            return Ok(json!({ "skipped": "a user_direct message: the marketplace hides its content from the OMS" }));
        }
        let author = text(&message["author"]["name"]);
        let body = if author.is_empty() {
            text(&message["content"])
        } else {
            format!("[{author}] {}", text(&message["content"]))
        };
        let comment_id = params["comment_id"].as_str().unwrap_or_default();
        if !comment_id.is_empty() {
            let path = format!("issue/{issue_key}/comment/{comment_id}");
            send(self.tracker(client, reqwest::Method::PUT, &path).json(&json!({ "body": body })), "the tracker")
                .await?;
            return Ok(json!({ "comment_id": comment_id }));
        }
        let listed = self.tracker(
            client,
            reqwest::Method::GET,
            &query(&format!("issue/{issue_key}/comment"), &[("expand", "properties")]),
        );
        let comments = send(listed, "the tracker").await?;
        let made = comments["comments"].as_array().into_iter().flatten().find(|comment| {
            comment["properties"].as_array().into_iter().flatten().any(|property| {
                property["key"] == MESSAGE_PROPERTY && property["value"]["message_id"].as_i64() == Some(message_id)
            })
        });
        if let Some(comment) = made {
            return Ok(json!({ "comment_id": text(&comment["id"]), "found": true }));
        }
        let mut comment = json!({
            "body": body,
            "properties": [{ "key": MESSAGE_PROPERTY, "value": { "message_id": message_id } }],
        });
        if scope == "internal" {
            // The marketplace's internal messages stay away from the customer in the tracker too.
            comment["visibility"] = json!({ "type": "role", "value": "Service Desk Team" });
        }
        let path = format!("issue/{issue_key}/comment");
        let created = send(self.tracker(client, reqwest::Method::POST, &path).json(&comment), "the tracker").await?;
        Ok(json!({ "comment_id": text(&created["id"]), "found": false }))
    }

    async fn transition(&self, client: &reqwest::Client, params: &Value) -> Called<Value> {
        let issue_key = params["issue_key"].as_str().unwrap_or_default();
        let status_id = params["status_id"].as_str().unwrap_or_default();
        let path = query(&format!("issue/{issue_key}"), &[("fields", "status")]);
        let issue = send(self.tracker(client, reqwest::Method::GET, &path), "the tracker").await?;
        if text(&issue["fields"]["status"]["id"]) == status_id {
            return Ok(json!({ "status_id": status_id, "already": true }));
        }
        let path = format!("issue/{issue_key}/transitions");
        let offered = send(self.tracker(client, reqwest::Method::GET, &path), "the tracker").await?;
        let leads_there = offered["transitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|transition| text(&transition["to"]["id"]) == status_id);
        let Some(transition) = leads_there else {
            let message = format!("the tracker offers no transition of {issue_key} to status {status_id}");
            return Err(Outcome::failed(ErrorClass::Http4xx, message));
        };
        let body = json!({ "transition": { "id": text(&transition["id"]) } });
        send(self.tracker(client, reqwest::Method::POST, &path).json(&body), "the tracker").await?;
        Ok(json!({ "status_id": status_id, "already": false }))
    }

    async fn update(&self, client: &reqwest::Client, params: &Value) -> Called<Value> {
        let (project_id, item_iid) =
            (params["project_id"].as_i64().unwrap_or(0), params["item_iid"].as_i64().unwrap_or(0));
        let detail = &params["detail"];
        match params["kind"].as_str().unwrap_or_default() {
            "status" | "voucher" => {
                let path = format!("projects/{project_id}/project_items/{item_iid}");
                send(self.marketplace(client, reqwest::Method::PATCH, &path).json(detail), "the marketplace").await?;
                Ok(json!({}))
            }
            "message" => {
                let (project, item) = (project_id.to_string(), item_iid.to_string());
                let mut pairs = vec![("project_id", project.as_str())];
                if item_iid > 0 {
                    pairs.push(("project_item_id", item.as_str()));
                }
                let path = query("messages", &pairs);
                let listed = send(self.marketplace(client, reqwest::Method::GET, &path), "the marketplace").await?;
                let posted = listed["messages"].as_array().into_iter().flatten().find(|message| {
                    message["content"] == detail["content"] && message["author"]["email"] == detail["author"]["email"]
                });
                if let Some(message) = posted {
                    return Ok(json!({ "message_id": message["id"], "found": true }));
                }
                let mut body = detail.clone();
                body["project_id"] = json!(project_id);
                let created =
                    send(self.marketplace(client, reqwest::Method::POST, "messages").json(&body), "the marketplace")
                        .await?;
                Ok(json!({ "message_id": created["id"], "found": false }))
            }
            "message_update" => {
                let message_id = detail["message_id"].as_i64().unwrap_or(0);
                let path = format!("messages/{message_id}");
                let body = json!({ "content": detail["content"] });
                send(self.marketplace(client, reqwest::Method::PATCH, &path).json(&body), "the marketplace").await?;
                Ok(json!({ "message_id": message_id }))
            }
            other => Err(Outcome::failed(ErrorClass::Http4xx, format!("no marketplace update of kind {other:?}"))),
        }
    }
}

/// Sends `request`; a 2xx answer's body as JSON (null when empty), any other as the failure
/// its class says, naming `peer`.
async fn send(request: reqwest::RequestBuilder, peer: &str) -> Called<Value> {
    let Answer { status, retry_after_ms, text } = call(request).await.map_err(|failure| match failure {
        Outcome::Failed { class, message, .. } => Outcome::failed(class, format!("{peer}: {message}")),
        other => other,
    })?;
    match classify_http(Some(status), false) {
        None => Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
        Some(class) => Err(Outcome::Failed {
            class,
            message: format!("{peer} answered HTTP {status}"),
            http_status: Some(status),
            body_excerpt: excerpt(&text),
            retry_after_ms,
        }),
    }
}

/// `path?name=value&...`, encoded.
fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    encoded.extend_pairs(pairs);
    format!("{path}?{}", encoded.finish())
}
