//! Any HTTP endpoint: `/echo/{path}` with any method answers as the request's `X-Sandbox-*`
//! headers say, and remembers every call by its `Idempotency-Key`:
//! - `X-Sandbox-Status: NNN` (default 200);
//! - `X-Sandbox-Retry-After: S`, sent back as `Retry-After`;
//! - `X-Sandbox-Fail-First: N`: the first N calls of a key answer 503 (or
//!   `X-Sandbox-Fail-Status`, a 429 say), the next ones as above;
//! - `X-Sandbox-Slow-First: N`: the first N calls of a key answer only after
//!   `X-Sandbox-Slow-Ms` milliseconds (default 3000), having acted: a caller that timed out
//!   calls again for an effect already made.
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
    let number = |name: &str, default: u64| header(&headers, name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (fail_first, fail_status) = (number("x-sandbox-fail-first", 0), number("x-sandbox-fail-status", 503));
    let (slow_first, slow_ms) = (number("x-sandbox-slow-first", 0), number("x-sandbox-slow-ms", 3000));
    let status = number("x-sandbox-status", 200);
    let count = {
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
        call.count
    };
    let status = if u64::from(count) <= fail_first { fail_status } else { status };
    let status = u16::try_from(status).unwrap_or(500);
    let received = {
        let mut calls = sandbox.calls.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let call = calls.by_key.get_mut(&key).expect("recorded above");
        if (200..300).contains(&status) {
            call.succeeded += 1;
        }
        call.body.clone()
    };
    // Acted, answers late: a caller that gives up first never hears of the effect.
    if u64::from(count) <= slow_first {
        tokio::time::sleep(std::time::Duration::from_millis(slow_ms)).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        (status, Json(json!({"path": path, "key": key, "call": count, "received": received}))).into_response();
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
