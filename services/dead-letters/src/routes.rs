//! Dead letters over HTTP.
//!
//! - `GET /v1/dead-letters[?status=PARKED|REPLAYED][&topic=T][&reason=TEXT][&after=N][&limit=N]`:
//!   entries oldest first, paged (`next` is the `after` of the following page).
//! - `GET /v1/dead-letters/{topic}/{partition}/{offset}`: one source record's entries.
//! - `POST /v1/dead-letters/replay`: `{"topic", "partition", "offset"}` replays one record
//!   (404 unknown, 409 not parked); `{"filter": {"status"?, "topic"?, "reason"?}}` every parked
//!   one the filter selects. 200 with what was sent. Scope `admin:platform`; the key's name is
//!   recorded as who replayed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clio_gateway::auth::requirement;
use clio_gateway::problem::{ApiPath, ApiQuery, Problem, json_body};
use clio_gateway::routes::{Routes, operator, page as page_schema, page_limit, refusal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::entries::Filter;
use crate::{DeadLetters, Error};

const MAX_LIMIT: i64 = 1_000;

pub fn routes(dead_letters: DeadLetters) -> Routes {
    let router = Router::new()
        .route("/v1/dead-letters", get(list))
        .route("/v1/dead-letters/replay", post(replay))
        .route("/v1/dead-letters/{topic}/{partition}/{offset}", get(show))
        .with_state(dead_letters);
    Routes { router, paths: openapi_paths() }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::NotParked { .. } => StatusCode::CONFLICT,
            Error::Gone(_) => StatusCode::GONE,
            Error::BadFilter(_) => StatusCode::BAD_REQUEST,
            Error::Database(_) | Error::Runtime(_) | Error::Codec(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Problem::new(status, self.to_string()).into_response()
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    topic: Option<String>,
    reason: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list(State(dead_letters): State<DeadLetters>, ApiQuery(query): ApiQuery<ListQuery>) -> Response {
    let limit = match page_limit(query.limit, MAX_LIMIT) {
        Ok(limit) => limit,
        Err(problem) => return problem.into_response(),
    };
    let skip = query.after.unwrap_or(0);
    if skip < 0 {
        return Problem::bad_parameter("after", "after is the `next` of a previous page, 0 or more").into_response();
    }
    let filter = Filter { status: query.status, topic: query.topic, reason: query.reason };
    match dead_letters.page(&filter, skip, limit).await {
        Ok(items) => {
            let next = (items.len() as i64 == limit).then_some(skip + limit);
            Json(json!({"items": items, "next": next})).into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn show(
    State(dead_letters): State<DeadLetters>,
    ApiPath((topic, partition, offset)): ApiPath<(String, i32, i64)>,
) -> Response {
    let position = (topic, partition, offset);
    match dead_letters.of_record(&position).await {
        Ok(entries) if entries.is_empty() => Error::NotFound(position).into_response(),
        Ok(entries) => Json(json!({"entries": entries})).into_response(),
        Err(error) => error.into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    filter: Option<Filter>,
}

async fn replay(State(dead_letters): State<DeadLetters>, headers: HeaderMap, body: Bytes) -> Response {
    let body: ReplayBody = match json_body(&headers, &body, "not a replay request") {
        Ok(body) => body,
        Err(problem) => return problem.into_response(),
    };
    let who = operator(&headers);
    match body {
        ReplayBody { topic: Some(topic), partition: Some(partition), offset: Some(offset), filter: None } => {
            match dead_letters.replay_one(&(topic, partition, offset), &who).await {
                Ok(replayed) => Json(json!({"replayed": [replayed]})).into_response(),
                Err(error) => error.into_response(),
            }
        }
        ReplayBody { topic: None, partition: None, offset: None, filter: Some(filter) } => {
            if let Err(error) = filter.check() {
                return error.into_response();
            }
            match dead_letters.replay_matching(&filter, &who).await {
                Ok(replayed) => Json(json!({"replayed": replayed})).into_response(),
                Err((replayed, error)) => {
                    let status = error.into_response().status();
                    (status, Json(json!({"error": "a replay failed; those before it were sent", "replayed": replayed})))
                        .into_response()
                }
            }
        }
        _ => Problem::bad_parameter("body", "name one record (topic, partition, offset) or a filter, not both")
            .into_response(),
    }
}

fn openapi_paths() -> serde_json::Map<String, Value> {
    let entry = json!({"type": "object", "description": "One record one consumer could not handle: platform.dead_letters' columns (docs/read-models.md)."});
    let json_paths = json!({
        "/v1/dead-letters": {"get": {
            "summary": "Dead letters, oldest first: what each processor and projector parked, why, and its replays",
            "parameters": [
                {"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": ["PARKED", "REPLAYED"]}},
                {"name": "topic", "in": "query", "required": false, "schema": {"type": "string"}, "description": "The source topic"},
                {"name": "reason", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Text the reason contains"},
                {"name": "after", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
            ],
            "responses": {"200": page_schema("Dead letters"), "400": refusal("A bad parameter"), "503": refusal("Postgres does not answer")},
            "security": requirement("read:platform")
        }},
        "/v1/dead-letters/{topic}/{partition}/{offset}": {"get": {
            "summary": "The entries of one source record, one per consumer that refused it",
            "parameters": [
                {"name": "topic", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "partition", "in": "path", "required": true, "schema": {"type": "integer"}},
                {"name": "offset", "in": "path", "required": true, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": {"description": "Its entries", "content": {"application/json": {"schema": {"type": "object", "properties": {"entries": {"type": "array", "items": entry}}}}}},
                "400": refusal("A bad parameter"), "404": refusal("No dead letter of that record")
            },
            "security": requirement("read:platform")
        }},
        "/v1/dead-letters/replay": {"post": {
            "summary": "Send parked records back to their source topics after a fix; each replay is recorded on platform.dead-letter-replays",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
                "topic": {"type": "string"}, "partition": {"type": "integer"}, "offset": {"type": "integer"},
                "filter": {"type": "object", "additionalProperties": false, "properties": {
                    "status": {"type": "string"}, "topic": {"type": "string"}, "reason": {"type": "string"}}}
            }}}}},
            "responses": {
                "200": {"description": "What was sent back", "content": {"application/json": {"schema": {"type": "object", "properties": {"replayed": {"type": "array", "items": {"type": "object"}}}}}}},
                "400": refusal("Neither one record nor a filter"), "404": refusal("No dead letter of that record"),
                "409": refusal("The record is not parked"), "410": refusal("Its copy is no longer on the log"),
                "415": refusal("The body is not JSON"), "503": refusal("The broker, the registry or Postgres does not answer")
            },
            "security": requirement("admin:platform")
        }}
    });
    json_paths.as_object().cloned().unwrap_or_default()
}
