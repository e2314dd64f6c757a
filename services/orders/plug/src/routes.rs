//! The orders domain over HTTP.
//!
//! - `POST /v1/orders/trigger`: the marketplace's trigger: 204 once a read of its events is on
//!   the log.
//! - `POST /v1/orders/webhooks/tracker?secret=…&issue_id=…`: the tracker's webhook. 401 on a
//!   bad or missing secret (compared in constant time; everything is refused when none is
//!   configured), 400 on an issue id that is not an integer or a body that is not JSON, 204
//!   once on the log (an issue that is none of ours is recorded as ignored). The issue's project
//!   comes from the label the adapter gave it, or the read model.
//! - `GET /v1/orders[?after=ID][&limit=N]`: orders with their items and status, paged.
//! - `GET /v1/orders/{project_id}`: one order with its items, messages, tracker links and
//!   sync failures; 404 when the adapter has not seen it.
//! - `GET /v1/orders/sync-failures[?project_id=ID][&limit=N]`: what was left aside or failed.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clio_gateway::problem::{ApiQuery, Problem};
use clio_gateway::routes::{Routes, answer, page as page_schema, page_body, page_limit, refusal};
use clio_orders::messages::{OrdersCommand, PollMarketplace, ReceiveTrackerChange};
use clio_orders::tracker::issue_labelled;
use clio_orders_projection::queries;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use clio_plug::now_micros;

use crate::OrdersClient;

const MAX_LIMIT: i64 = 1_000;

#[derive(Clone)]
struct Api {
    pool: PgPool,
    schema: String,
    client: OrdersClient,
    /// The webhook's secret; empty: every webhook is refused.
    secret: String,
}

pub fn routes(pool: PgPool, schema: &str, client: OrdersClient, webhook_secret: &str) -> Routes {
    let router = Router::new()
        .route("/v1/orders/trigger", post(trigger))
        .route("/v1/orders/webhooks/tracker", post(webhook))
        .route("/v1/orders", get(orders))
        .route("/v1/orders/sync-failures", get(sync_failures))
        .route("/v1/orders/{project_id}", get(order))
        .with_state(Api { pool, schema: schema.to_string(), client, secret: webhook_secret.to_string() });
    Routes { router, paths: openapi_paths() }
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::warn!(%error, "orders route");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("the orders domain is unavailable: {error}")).into_response()
}

impl Api {
    async fn send(&self, command: &OrdersCommand) -> Response {
        match self.client.send(command).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(error) => unavailable(format!("{error:#}")),
        }
    }
}

async fn trigger(State(api): State<Api>) -> Response {
    let poll_id = format!("trigger-{}-{:08x}", now_micros(), rand::random::<u32>());
    api.send(&OrdersCommand::PollMarketplace(PollMarketplace { poll_id, ts: now_micros() })).await
}

#[derive(Debug, Deserialize)]
struct WebhookQuery {
    secret: Option<String>,
    issue_id: Option<String>,
    // JIRA's URL template sends these too; they are not used.
    #[allow(dead_code)]
    user_id: Option<String>,
    #[allow(dead_code)]
    user_key: Option<String>,
}

/// Equal, in time that does not depend on where they differ (both are hashed first, so not on
/// their lengths either).
fn same_secret(given: &str, configured: &str) -> bool {
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(configured.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

async fn webhook(State(api): State<Api>, ApiQuery(query): ApiQuery<WebhookQuery>, body: Bytes) -> Response {
    let given = query.secret.unwrap_or_default();
    if api.secret.is_empty() || !same_secret(&given, &api.secret) {
        let why = if api.secret.is_empty() {
            "no webhook secret is configured: every webhook is refused"
        } else {
            "bad or missing secret"
        };
        return Problem::new(StatusCode::UNAUTHORIZED, why).into_response();
    }
    let Some(issue_id) = query.issue_id.filter(|id| id.trim().parse::<u64>().is_ok()) else {
        return Problem::bad_parameter("issue_id", "issue_id must be the tracker's integer issue id").into_response();
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => return Problem::bad_parameter("body", format!("the body is not JSON: {error}")).into_response(),
    };
    let project_id = match issue_labelled(&parsed) {
        Some((project_id, _)) => project_id,
        None => {
            let found = sqlx::query_scalar::<_, i64>(&queries::PROJECT_OF_ISSUE.in_schema(&api.schema))
                .bind(&issue_id)
                .fetch_optional(&api.pool)
                .await;
            match found {
                Ok(found) => found.unwrap_or(0),
                Err(error) => return unavailable(error),
            }
        }
    };
    let command = ReceiveTrackerChange { project_id, issue_id, body: parsed.to_string(), ts: now_micros() };
    api.send(&OrdersCommand::ReceiveTrackerChange(command)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn orders(State(api): State<Api>, ApiQuery(query): ApiQuery<PageQuery>) -> Response {
    let limit = match page_limit(query.limit, MAX_LIMIT) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let page = sqlx::query_scalar::<_, Value>(&queries::ORDERS_PAGE.in_schema(&api.schema))
        .bind(query.after.unwrap_or(0))
        .bind(limit)
        .fetch_one(&api.pool)
        .await;
    match page {
        Ok(items) => Json(page_body(items, limit, "project_id")).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn order(State(api): State<Api>, Path(project_id): Path<String>) -> Response {
    let Ok(project_id) = project_id.parse::<i64>() else {
        return Problem::bad_parameter("project_id", "project_id must be an integer").into_response();
    };
    let found = sqlx::query_scalar::<_, Value>(&queries::ORDER.in_schema(&api.schema))
        .bind(project_id)
        .fetch_optional(&api.pool)
        .await;
    match found {
        Ok(Some(order)) => Json(order).into_response(),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, format!("no order {project_id} has reached the adapter"))
            .into_response(),
        Err(error) => unavailable(error),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailuresQuery {
    project_id: Option<i64>,
    limit: Option<i64>,
}

async fn sync_failures(State(api): State<Api>, ApiQuery(query): ApiQuery<FailuresQuery>) -> Response {
    let limit = match page_limit(query.limit, MAX_LIMIT) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let page = sqlx::query_scalar::<_, Value>(&queries::SYNC_FAILURES_PAGE.in_schema(&api.schema))
        .bind(query.project_id)
        .bind(limit)
        .fetch_one(&api.pool)
        .await;
    match page {
        Ok(items) => Json(json!({ "items": items })).into_response(),
        Err(error) => unavailable(error),
    }
}

fn openapi_paths() -> Map<String, Value> {
    let failure = json!({"type": "object", "required": ["event_id", "project_id", "kind", "reason", "detail", "at"], "properties": {
        "event_id": {"type": "string"}, "project_id": {"type": "integer"}, "item_iid": {"type": "integer"},
        "kind": {"type": "string"}, "reason": {"type": "string"}, "detail": {"type": "string"}, "at": {"type": "string"}}});
    let paths = json!({
        "/v1/orders/trigger": {"post": {
            "summary": "The marketplace's trigger: read its events since the resume point",
            "responses": {"204": {"description": "A read is on the log"}, "503": refusal("The broker is unavailable")}
        }},
        "/v1/orders/webhooks/tracker": {"post": {
            "summary": "The issue tracker's webhook (issue updated, comment created or updated)",
            "parameters": [
                {"name": "secret", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "issue_id", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "204": {"description": "On the log (an issue that is none of ours is recorded as ignored)"},
                "400": refusal("issue_id is not an integer, or the body is not JSON"),
                "401": refusal("Bad or missing secret, or none configured")
            },
            "security": []
        }},
        "/v1/orders": {"get": {
            "summary": "Orders (marketplace projects) with their items, status and tracker keys",
            "parameters": [
                {"name": "after", "in": "query", "required": false, "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
            ],
            "responses": {"200": page_schema("Orders"), "400": refusal("Bad parameter")}
        }},
        "/v1/orders/{project_id}": {"get": {
            "summary": "One order: items, messages both ways, tracker links, sync failures",
            "parameters": [{"name": "project_id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"200": answer("The order", &["project_id", "items", "messages", "sync_failures"], json!({
                "project_id": {"type": "integer"}, "epic_key": {"type": ["string", "null"]},
                "items": {"type": "array", "items": {"type": "object"}}, "messages": {"type": "array", "items": {"type": "object"}},
                "sync_failures": {"type": "array", "items": failure}})), "404": refusal("Not seen by the adapter")}
        }},
        "/v1/orders/sync-failures": {"get": {
            "summary": "What was left aside or failed, with the reason, newest first",
            "parameters": [
                {"name": "project_id", "in": "query", "required": false, "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
            ],
            "responses": {"200": answer("Failures, newest first", &["items"], json!({"items": {"type": "array", "items": failure}})), "400": refusal("Bad parameter")}
        }}
    });
    match paths {
        Value::Object(paths) => paths,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cre", "s3cret"));
        assert!(!same_secret("", "s3cret"));
    }
}
