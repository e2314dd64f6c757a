//! Loyalty merchants' transaction APIs, where matching exports its matches: `POST
//! /merchants/{merchant}/transactions` takes one export (JSON) and answers 200, or as the
//! merchant's script says. `POST /merchants/{merchant}/failures` scripts the next answers
//! (`{"count": N, "status": 500, "message": "Internal Error"}`: the next N exports fail so);
//! `GET /merchants/{merchant}/transactions` lists what the merchant received, in order, and how
//! often each export id and each idempotency key came (a repeat under the same key is the
//! merchant's to ignore; a streamed purchase's auth and settlement share an id, not a key).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Sandbox;

/// What each merchant received and has scripted.
#[derive(Debug, Default)]
pub struct Merchants {
    /// Every export taken (answered 200), by merchant, in order.
    pub received: BTreeMap<String, Vec<Value>>,
    /// Every call, answered or failed, by merchant.
    pub calls: BTreeMap<String, u32>,
    /// The failures scripted, by merchant.
    pub failures: BTreeMap<String, Failures>,
}

/// The next `count` exports fail with `status` and `message`.
#[derive(Debug, Clone, Deserialize)]
pub struct Failures {
    pub count: u32,
    #[serde(default = "server_error")]
    pub status: u16,
    #[serde(default)]
    pub message: String,
}

fn server_error() -> u16 {
    500
}

pub fn routes(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/merchants/{merchant}/transactions", post(take).get(received))
        .route("/merchants/{merchant}/failures", post(script))
        .with_state(sandbox)
}

async fn take(
    State(sandbox): State<Sandbox>,
    Path(merchant): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Ok(export) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "the body is not JSON"}))).into_response();
    };
    let mut merchants = sandbox.merchants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *merchants.calls.entry(merchant.clone()).or_default() += 1;
    if let Some(failures) = merchants.failures.get_mut(&merchant)
        && failures.count > 0
    {
        failures.count -= 1;
        let (status, message) = (failures.status, failures.message.clone());
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, Json(json!({"message": message}))).into_response();
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    merchants.received.entry(merchant).or_default().push(json!({"idempotency_key": key, "export": export}));
    (StatusCode::OK, Json(json!({"message": "accepted"}))).into_response()
}

async fn received(State(sandbox): State<Sandbox>, Path(merchant): Path<String>) -> Json<Value> {
    let merchants = sandbox.merchants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let received = merchants.received.get(&merchant).cloned().unwrap_or_default();
    let mut by_id: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_key: BTreeMap<String, u32> = BTreeMap::new();
    for taken in &received {
        *by_id.entry(taken["export"]["id"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        *by_key.entry(taken["idempotency_key"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    let calls = merchants.calls.get(&merchant).copied().unwrap_or(0);
    Json(json!({"received": received, "by_id": by_id, "by_idempotency_key": by_key, "calls": calls}))
}

async fn script(
    State(sandbox): State<Sandbox>,
    Path(merchant): Path<String>,
    Json(failures): Json<Failures>,
) -> StatusCode {
    let mut merchants = sandbox.merchants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    merchants.failures.insert(merchant, failures);
    StatusCode::NO_CONTENT
}
