//! The retry domain over HTTP: its tasks for operators, and the endpoints the outside world
//! calls.
//!
//! - `GET /v1/retry/tasks[?status=S][&type=T][&after=ID][&limit=N]`: tasks by id, paged.
//! - `GET /v1/retry/tasks/{task_id}`: one task with its audit (failed runs) and callbacks.
//! - `POST /v1/retry/tasks/{task_id}/cancel`, `.../requeue` (`{"new_task_id": ...}`, optional):
//!   202 once the command is on the log; 404 for an unknown task, 409 when its status does not
//!   allow it.
//! - `POST /v1/retry/callbacks/{scheme}?task_id=ID`: a merchant's answer to a join it accepted
//!   earlier (`{"callback_id", "error_codes": [{"code"}], ...}`; no error codes is success):
//!   202; 404 unknown task, 409 a task not waiting; every callback is recorded on the log.
//! - `POST /v1/retry/join/{scheme}`: Midas's join intake (`{"scheme_account_id",
//!   "credentials", "message_uid", "status_url"}`): creates the join task; 200
//!   `{"message": "success", "task_id"}`. When it ends, its outcome is POSTed to `status_url`
//!   (when given) by a task of its own. `X-Clio-Operator` names who cancels or requeues.
//! - `GET /v1/retry/anomalies`: tasks pending or in progress for an hour, waits past their
//!   deadline.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clio_gateway::auth::requirement;
use clio_gateway::problem::{ApiPath, ApiQuery, Problem, json_body};
use clio_gateway::routes::{Routes, answer, operator, page as page_schema, page_body, refusal};
use clio_retry::messages::*;
use clio_retry::task::Status;
use clio_retry_projection::queries;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use crate::client::{RetryClient, now_micros};

const MAX_LIMIT: i64 = 1_000;

#[derive(Clone)]
struct Api {
    pool: PgPool,
    schema: String,
    client: RetryClient,
}

/// The retry domain's routes over its read model in `schema`, producing with `client`.
pub fn routes(pool: PgPool, schema: &str, client: RetryClient) -> Routes {
    let router = Router::new()
        .route("/v1/retry/tasks", get(tasks))
        .route("/v1/retry/tasks/{task_id}", get(task))
        .route("/v1/retry/tasks/{task_id}/cancel", post(cancel))
        .route("/v1/retry/tasks/{task_id}/requeue", post(requeue))
        .route("/v1/retry/callbacks/{scheme}", post(callback))
        .route("/v1/retry/join/{scheme}", post(join))
        .route("/v1/retry/anomalies", get(anomalies))
        .with_state(Api { pool, schema: schema.to_string(), client });
    Routes { router, paths: openapi_paths() }
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::warn!(%error, "retry route");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("the retry domain is unavailable: {error}")).into_response()
}

impl Api {
    async fn status(&self, task_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(&queries::TASK_STATUS.in_schema(&self.schema)).bind(task_id).fetch_optional(&self.pool).await
    }

    async fn send(&self, command: RetryCommand, accepted: Value) -> Response {
        match self.client.send(&command).await {
            Ok(()) => (StatusCode::ACCEPTED, Json(accepted)).into_response(),
            Err(error) => unavailable(format!("{error:#}")),
        }
    }
}

/// A JSON object body (an empty body is an empty object).
fn object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Problem> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match json_body(headers, body, "the body is not JSON")? {
        Value::Object(object) => Ok(object),
        _ => Err(Problem::bad_parameter("body", "the body must be a JSON object")),
    }
}

#[derive(Debug, Deserialize)]
struct TasksQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    task_type: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

async fn tasks(State(api): State<Api>, ApiQuery(query): ApiQuery<TasksQuery>) -> Response {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Problem::bad_parameter(
            "limit",
            format!("query parameter limit: limit {limit} is outside 1..={MAX_LIMIT}"),
        )
        .into_response();
    }
    let page = sqlx::query_scalar::<_, Value>(&queries::TASKS_PAGE.in_schema(&api.schema))
        .bind(&query.status)
        .bind(&query.task_type)
        .bind(query.after.unwrap_or_default())
        .bind(limit)
        .fetch_one(&api.pool)
        .await;
    match page {
        Ok(items) => Json(page_body(items, limit, "task_id")).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn task(State(api): State<Api>, ApiPath(task_id): ApiPath<String>) -> Response {
    let found = sqlx::query_scalar::<_, Value>(&queries::TASK.in_schema(&api.schema))
        .bind(&task_id)
        .fetch_optional(&api.pool)
        .await;
    match found {
        Ok(Some(task)) => Json(task).into_response(),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, format!("no task {task_id}")).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn cancel(State(api): State<Api>, ApiPath(task_id): ApiPath<String>, headers: HeaderMap) -> Response {
    match api.status(&task_id).await {
        Err(error) => unavailable(error),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, format!("no task {task_id}")).into_response(),
        Ok(Some(status)) if !Status::parse(&status).cancellable() => {
            Problem::new(StatusCode::CONFLICT, format!("a {status} task cannot be cancelled")).into_response()
        }
        Ok(Some(_)) => {
            let by = operator(&headers);
            let command = RetryCommand::CancelTask(CancelTask { task_id: task_id.clone(), by, ts: now_micros() });
            api.send(command, json!({"task_id": task_id, "accepted": "cancel"})).await
        }
    }
}

async fn requeue(
    State(api): State<Api>,
    ApiPath(task_id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match object(&headers, &body) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let new_task_id = match body.get("new_task_id") {
        None => format!("{task_id}-requeued-{}", now_micros()),
        Some(Value::String(id)) if !id.is_empty() && *id != task_id => id.clone(),
        Some(_) => {
            return Problem::bad_parameter("new_task_id", "new_task_id must be a task id other than this one")
                .into_response();
        }
    };
    match api.status(&task_id).await {
        Err(error) => unavailable(error),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, format!("no task {task_id}")).into_response(),
        Ok(Some(status)) if !Status::parse(&status).requeueable() => Problem::new(
            StatusCode::CONFLICT,
            format!("only FAILED and CANCELLED tasks are requeued; this one is {status}"),
        )
        .into_response(),
        Ok(Some(_)) => {
            let command = RetryCommand::RequeueTask(RequeueTask {
                task_id: task_id.clone(),
                new_task_id: new_task_id.clone(),
                by: operator(&headers),
                ts: now_micros(),
            });
            api.send(command, json!({"task_id": task_id, "new_task_id": new_task_id})).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    task_id: Option<String>,
}

async fn callback(
    State(api): State<Api>,
    ApiPath(scheme): ApiPath<String>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let object = match object(&headers, &body) {
        Ok(object) => object,
        Err(refused) => return refused.into_response(),
    };
    let task_id = query.task_id.or_else(|| object.get("task_id").and_then(Value::as_str).map(str::to_string));
    let Some(task_id) = task_id else {
        return Problem::bad_parameter("task_id", "a callback names its task (task_id in the query or the body)")
            .into_response();
    };
    let code =
        object.get("error_codes").and_then(|codes| codes.get(0)).and_then(|e| e["code"].as_str()).map(str::to_string);
    let callback_id = object
        .get("callback_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{scheme}-{:x}", body_hash(&body)));
    let command = RetryCommand::ReceiveCallback(ReceiveCallback {
        task_id: task_id.clone(),
        callback_id,
        outcome: if code.is_some() { "error" } else { "success" }.into(),
        error_code: code.unwrap_or_default(),
        payload: Value::Object(object).to_string(),
        ts: now_micros(),
    });
    let status = match api.status(&task_id).await {
        Ok(status) => status,
        Err(error) => return unavailable(error),
    };
    // Every callback goes on the log, so one for an unknown or finished task is recorded as
    // refused there too; the caller hears at once.
    if let Err(error) = api.client.send(&command).await {
        return unavailable(format!("{error:#}"));
    }
    match status.as_deref() {
        None => Problem::new(StatusCode::NOT_FOUND, format!("no task {task_id}")).into_response(),
        Some(status) if Status::parse(status).takes_callbacks() => {
            (StatusCode::ACCEPTED, Json(json!({"task_id": task_id, "success": true}))).into_response()
        }
        Some(other) => {
            Problem::new(StatusCode::CONFLICT, format!("task {task_id} is {other}, not waiting for a callback"))
                .into_response()
        }
    }
}

/// A stable id for a callback that names none: the same body is the same callback.
fn body_hash(body: &[u8]) -> u64 {
    body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

async fn join(State(api): State<Api>, ApiPath(scheme): ApiPath<String>, headers: HeaderMap, body: Bytes) -> Response {
    let object = match object(&headers, &body) {
        Ok(object) => object,
        Err(refused) => return refused.into_response(),
    };
    let Some(account) = object.get("scheme_account_id").filter(|v| v.is_i64() || v.is_string()) else {
        return Problem::bad_parameter("scheme_account_id", "a join names its scheme_account_id").into_response();
    };
    let account = account.as_i64().map_or_else(|| account.as_str().unwrap_or_default().to_string(), |n| n.to_string());
    let message_uid = object
        .get("message_uid")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| headers.get("x-azure-ref").and_then(|v| v.to_str().ok()).map(str::to_string));
    // One task per join message (a repeated message names the same task); joins of one
    // account run one at a time through the type's exclusive keys.
    let task_id = match &message_uid {
        Some(uid) => format!("join-{scheme}-{account}-{uid}"),
        None => format!("join-{scheme}-{account}"),
    };
    let status_url = match object.get("status_url") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(url)) if url.starts_with("http://") || url.starts_with("https://") => url.clone(),
        Some(_) => {
            return Problem::bad_parameter("status_url", "status_url must be an http(s) URL").into_response();
        }
    };
    let params = json!({
        "scheme": scheme,
        "scheme_account_id": object.get("scheme_account_id"),
        "credentials": object.get("credentials").cloned().unwrap_or(json!({})),
        "status_url": status_url,
    });
    let command = RetryCommand::CreateTask(CreateTask {
        task_id: task_id.clone(),
        task_type: "midas_join".into(),
        params: params.to_string(),
        idempotency_key: message_uid.clone().unwrap_or_else(|| task_id.clone()),
        reply_topic: String::new(),
        reply_key: String::new(),
        policy: String::new(),
        not_before: 0,
        ts: now_micros(),
    });
    match api.client.send(&command).await {
        Ok(()) => Json(json!({"message": "success", "task_id": task_id})).into_response(),
        Err(error) => unavailable(format!("{error:#}")),
    }
}

async fn anomalies(State(api): State<Api>) -> Response {
    match sqlx::query_scalar::<_, Value>(&queries::ANOMALIES.in_schema(&api.schema)).fetch_one(&api.pool).await {
        Ok(items) => Json(json!({"items": items})).into_response(),
        Err(error) => unavailable(error),
    }
}

fn openapi_paths() -> Map<String, Value> {
    let statuses: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
    let task_id = json!({"name": "task_id", "in": "path", "required": true, "schema": {"type": "string"}});
    let scheme = json!({"name": "scheme", "in": "path", "required": true, "schema": {"type": "string"}});
    let status = json!({"type": "string", "enum": statuses});
    let task = json!({
        "task_id": {"type": "string"}, "task_type": {"type": "string"}, "status": status,
        "attempts": {"type": "integer", "minimum": 0}, "params": {"type": "object"},
        "idempotency_key": {"type": "string"}, "last_error_class": {"type": ["string", "null"]},
        "next_attempt_at": {"type": ["string", "null"]}, "deadline": {"type": ["string", "null"]}
    });
    let mut one_task = task.clone();
    one_task["attempts_audit"] = json!({"type": "array", "items": {"type": "object", "required": ["attempt", "error_class", "message"],
        "properties": {"attempt": {"type": "integer"}, "error_class": {"type": "string"}, "message": {"type": "string"}, "http_status": {"type": ["integer", "null"]}}}});
    one_task["callbacks"] = json!({"type": "array", "items": {"type": "object"}});
    let cancel_accepted = answer(
        "The cancel is on the log",
        &["task_id", "accepted"],
        json!({"task_id": {"type": "string"}, "accepted": {"const": "cancel"}}),
    );
    let requeue_accepted = answer(
        "The requeue is on the log",
        &["task_id", "new_task_id"],
        json!({"task_id": {"type": "string"}, "new_task_id": {"type": "string"}}),
    );
    let callback_accepted = answer(
        "The callback is on the log",
        &["task_id", "success"],
        json!({"task_id": {"type": "string"}, "success": {"const": true}}),
    );
    let operator = json!({"name": "X-Clio-Operator", "in": "header", "required": false,
                          "description": "Who asks, recorded on the log (default: gateway)", "schema": {"type": "string"}});
    let paths = json!({
        "/v1/retry/tasks": {"get": {
            "summary": "Retry tasks (retry.tasks), by task id",
            "parameters": [
                {"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": statuses}},
                {"name": "type", "in": "query", "required": false, "schema": {"type": "string"}},
                {"name": "after", "in": "query", "required": false, "description": "Task id to start after (the previous page's next).", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}}
            ],
            "responses": {"200": page_schema("Tasks"), "400": refusal("Bad parameters")}
        }},
        "/v1/retry/tasks/{task_id}": {"get": {
            "summary": "One task, with its audit (retry.attempts) and callbacks",
            "parameters": [task_id],
            "responses": {"200": answer("The task", &["task_id", "task_type", "status", "attempts", "attempts_audit", "callbacks"], one_task), "404": refusal("No such task")}
        }},
        "/v1/retry/tasks/{task_id}/cancel": {"post": {
            "summary": "Cancel a task (its type's cleanup runs first)",
            "parameters": [task_id, operator],
            "responses": {"202": cancel_accepted, "404": refusal("No such task"), "409": refusal("Its status does not allow it")},
            "security": requirement("admin:retry")
        }},
        "/v1/retry/tasks/{task_id}/requeue": {"post": {
            "summary": "Run a FAILED or CANCELLED task again, as a new task",
            "parameters": [task_id, operator],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"new_task_id": {"type": "string"}}}}}},
            "responses": {"202": requeue_accepted, "400": refusal("Bad body"), "404": refusal("No such task"), "409": refusal("Its status does not allow it")},
            "security": requirement("admin:retry")
        }},
        "/v1/retry/callbacks/{scheme}": {"post": {
            "summary": "A merchant's callback for a join it accepted (no error_codes: success)",
            "parameters": [scheme, {"name": "task_id", "in": "query", "required": false, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"202": callback_accepted, "400": refusal("No task named"), "404": refusal("No such task"), "409": refusal("The task is not waiting")}
        }},
        "/v1/retry/join/{scheme}": {"post": {
            "summary": "Midas's join intake: creates the join task",
            "parameters": [scheme, {"name": "X-Azure-Ref", "in": "header", "required": false, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["scheme_account_id"], "properties": {
                "scheme_account_id": {"type": ["integer", "string"]}, "credentials": {"type": "object"}, "message_uid": {"type": "string"},
                "status_url": {"type": "string", "format": "uri", "description": "Where the join's outcome is POSTed when it ends (Hermes's status endpoint)"}}}}}},
            "responses": {"200": answer("The join task is on the log", &["message", "task_id"], json!({"message": {"const": "success"}, "task_id": {"type": "string"}})), "400": refusal("Bad body")}
        }},
        "/v1/retry/anomalies": {"get": {
            "summary": "Tasks an operator should look at (retry.anomalies)",
            "responses": {"200": answer("Every anomaly, oldest update first", &["items"], json!({"items": {"type": "array", "items": {
                "type": "object", "required": ["task_id", "task_type", "status", "attempts", "anomaly"],
                "properties": {"task_id": {"type": "string"}, "task_type": {"type": "string"}, "status": {"type": "string", "enum": statuses}, "attempts": {"type": "integer"}, "anomaly": {"type": "string"}}
            }}}))}
        }},
    });
    match paths {
        Value::Object(paths) => paths,
        _ => Map::new(),
    }
}
