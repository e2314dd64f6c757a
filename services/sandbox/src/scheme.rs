//! A loyalty scheme's join API, as Midas's merchants answer it.
//!
//! `POST /schemes/{scheme}/join` with `{"scheme_account_id", "credentials": {"email", ...},
//! "callback_url"}` and an `Idempotency-Key` header. The part of the email before `@` scripts
//! the answer:
//! - `ok` (or anything else): 200, the account joined (`card_number`);
//! - `fail-NNN`: HTTP NNN every time; `flaky-N`: 503 for the first N calls of the key, then 200;
//! - `exists`: 409 `ACCOUNT_ALREADY_EXISTS`; `weak`: 422 `WEAK_PASSWORD`;
//! - `slow`: 200 after 10 s (longer than Midas's 5 s timeout); `delay-MS`: joined after MS
//!   milliseconds (a call a crash can interrupt after the scheme has acted);
//! - `callback`: 202, then a POST to `callback_url` saying it joined; `callback-error`: 202,
//!   then a callback with error code `JOIN_ERROR`; `never`: 202 and no callback.
//!
//! A key that joined answers its first answer again and joins nothing more: one effect per key.
//! `GET /schemes/{scheme}/joins` lists the joins, and the most calls each account had in the
//! scheme at once.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::Sandbox;

/// Every join asked for, by scheme and idempotency key; and how many calls for one account
/// were in the scheme at once (Midas runs one join per account at a time).
#[derive(Debug, Default)]
pub struct Joins {
    pub by_key: BTreeMap<(String, String), Join>,
    /// Calls in the scheme now, by scheme and account.
    pub in_flight: BTreeMap<(String, String), u32>,
    /// The most calls one account ever had in the scheme at once.
    pub most_at_once: BTreeMap<(String, String), u32>,
}

/// A call counted in flight for its account until dropped.
struct InFlight {
    sandbox: Sandbox,
    account: (String, String),
}

impl InFlight {
    fn enter(sandbox: &Sandbox, scheme: &str, account: &Value) -> Self {
        let account = (scheme.to_string(), account.to_string());
        let mut joins = sandbox.joins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = {
            let count = joins.in_flight.entry(account.clone()).or_default();
            *count += 1;
            *count
        };
        let most = joins.most_at_once.entry(account.clone()).or_default();
        *most = (*most).max(now);
        Self { sandbox: sandbox.clone(), account }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut joins = self.sandbox.joins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = joins.in_flight.get_mut(&self.account) {
            *count = count.saturating_sub(1);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Join {
    pub scheme_account_id: Value,
    pub calls: u32,
    /// The card number of the account it made, once joined: the effect.
    pub card_number: Option<String>,
}

pub fn routes(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/schemes/{scheme}/join", post(join))
        .route("/schemes/{scheme}/joins", get(joins))
        .with_state(sandbox)
}

async fn join(
    State(sandbox): State<Sandbox>,
    Path(scheme): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let email = body["credentials"]["email"].as_str().unwrap_or("ok@example.com");
    let script = email.split('@').next().unwrap_or("ok").to_string();
    let _in_flight = InFlight::enter(&sandbox, &scheme, &body["scheme_account_id"]);
    let calls = {
        let mut joins = sandbox.joins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let join = joins.by_key.entry((scheme.clone(), key.clone())).or_insert_with(|| Join {
            scheme_account_id: body["scheme_account_id"].clone(),
            calls: 0,
            card_number: None,
        });
        join.calls += 1;
        if let Some(card) = &join.card_number {
            return Json(json!({"status": "joined", "card_number": card, "repeat": true})).into_response();
        }
        join.calls
    };
    let joined = |sandbox: &Sandbox| {
        let card = format!("6331{:012}", body["scheme_account_id"].as_i64().unwrap_or(0));
        let mut joins = sandbox.joins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(join) = joins.by_key.get_mut(&(scheme.clone(), key.clone())) {
            join.card_number = Some(card.clone());
        }
        card
    };
    let fail = |status: u16, error: &str| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({"error": error}))).into_response()
    };
    if let Some(status) = script.strip_prefix("fail-").and_then(|s| s.parse::<u16>().ok()) {
        return fail(status, "scripted failure");
    }
    if let Some(first) = script.strip_prefix("flaky-").and_then(|s| s.parse::<u32>().ok())
        && calls <= first
    {
        return fail(503, "scripted failure before success");
    }
    if let Some(millis) = script.strip_prefix("delay-").and_then(|s| s.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        return Json(json!({"status": "joined", "card_number": joined(&sandbox)})).into_response();
    }
    match script.as_str() {
        "exists" => fail(409, "ACCOUNT_ALREADY_EXISTS"),
        "weak" => fail(422, "WEAK_PASSWORD"),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Json(json!({"status": "joined", "card_number": joined(&sandbox)})).into_response()
        }
        "callback" | "callback-error" | "never" => {
            let url = body["callback_url"].as_str().unwrap_or_default().to_string();
            if script != "never" && !url.is_empty() {
                let answer = if script == "callback" {
                    json!({"callback_id": format!("{key}-cb"), "card_number": joined(&sandbox)})
                } else {
                    json!({"callback_id": format!("{key}-cb{calls}"), "error_codes": [{"code": "JOIN_ERROR"}]})
                };
                let http = sandbox.http.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if let Err(error) = http.post(&url).json(&answer).send().await {
                        tracing::warn!(%error, url, "the sandbox scheme's callback");
                    }
                });
            }
            (StatusCode::ACCEPTED, Json(json!({"status": "pending"}))).into_response()
        }
        _ => Json(json!({"status": "joined", "card_number": joined(&sandbox)})).into_response(),
    }
}

async fn joins(State(sandbox): State<Sandbox>, Path(scheme): Path<String>) -> Json<Value> {
    let joins = sandbox.joins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let listed: Vec<Value> = joins
        .by_key
        .iter()
        .filter(|((s, _), _)| *s == scheme)
        .map(|((_, key), join)| {
            json!({"idempotency_key": key, "scheme_account_id": join.scheme_account_id, "calls": join.calls,
                   "card_number": join.card_number})
        })
        .collect();
    let most_at_once: serde_json::Map<String, Value> = joins
        .most_at_once
        .iter()
        .filter(|((s, _), _)| *s == scheme)
        .map(|((_, account), most)| (account.clone(), json!(most)))
        .collect();
    Json(json!({"joins": listed, "most_at_once": most_at_once}))
}
