//! Any HTTP endpoint: `/echo/{path}` with any method answers as the request's `X-Sandbox-*`
//! headers say, and remembers every call by its `Idempotency-Key`:
//! - `X-Sandbox-Status: NNN` (default 200);
//! - `X-Sandbox-Retry-After: S`, sent back as `Retry-After`;
//! - `X-Sandbox-Fail-First: N`: the first N calls of a key answer 503, the next ones as above.
//!
//! `GET /echo-calls` lists the calls: key, method, path, count, how many answers were in the
//! 2xx range (the effect), and the latest body.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::Sandbox;

#[derive(Debug, Default)]
pub struct Calls {
    pub by_key: BTreeMap<String, Call>,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub count: u32,
    pub succeeded: u32,
    /// The body of the latest call.
    pub body: Value,
}

pub fn routes(sandbox: Sandbox) -> Router {
    Router::new().route("/echo/{*path}", any(echo)).route("/echo-calls", get(calls)).with_state(sandbox)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn echo(
    State(sandbox): State<Sandbox>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = header(&headers, "idempotency-key").unwrap_or_default();
    let fail_first: u32 = header(&headers, "x-sandbox-fail-first").and_then(|v| v.parse().ok()).unwrap_or(0);
    let status: u16 = header(&headers, "x-sandbox-status").and_then(|v| v.parse().ok()).unwrap_or(200);
    let mut calls = sandbox.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let call = calls.by_key.entry(key.clone()).or_insert_with(|| Call {
        method: method.to_string(),
        path: path.clone(),
        count: 0,
        succeeded: 0,
        body: Value::Null,
    });
    call.count += 1;
    call.body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let status = if call.count <= fail_first { 503 } else { status };
    if (200..300).contains(&status) {
        call.succeeded += 1;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let received = call.body.clone();
    let mut response =
        (status, Json(json!({"path": path, "key": key, "call": call.count, "received": received}))).into_response();
    if let Some(seconds) = header(&headers, "x-sandbox-retry-after")
        && let Ok(value) = seconds.parse()
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

async fn calls(State(sandbox): State<Sandbox>) -> Json<Value> {
    let calls = sandbox.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let listed: Vec<Value> = calls
        .by_key
        .iter()
        .map(|(key, call)| json!({"idempotency_key": key, "method": call.method, "path": call.path, "count": call.count, "succeeded": call.succeeded, "body": call.body}))
        .collect();
    Json(json!({"calls": listed}))
}
