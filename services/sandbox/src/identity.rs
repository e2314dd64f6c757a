//! The identity service matching asks who a payment card's holder is (Bink's Hermes).
//!
//! `POST /payment_cards/accounts/payment_card_user_info/{scheme}` with `{"payment_cards":
//! [token, ...]}` answers an object keyed by each token that has an account in the scheme:
//! `{"loyalty_id", "scheme_account_id", "user_id", "credentials", "card_information":
//! {"first_six", "last_four"}}`; a token without one is left out (`{}` for a single token).
//! The token scripts the answer:
//! - `none-...`: no account;
//! - `fail-NNN-...`: HTTP NNN for the whole request, every time;
//! - `flaky-N-...`: 503 for the first N calls naming the token, then found;
//! - anything else: found, with an account derived from the token (the same every time), the
//!   card's first six `424242` and its last four the token's last four characters.
//!
//! `GET /payment_cards/lookups` counts the calls per token.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::Sandbox;

/// How many times each token was asked about, by scheme and token.
pub type Lookups = BTreeMap<(String, String), u32>;

pub fn routes(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/payment_cards/accounts/payment_card_user_info/{scheme}", post(user_info))
        .route("/payment_cards/lookups", get(lookups))
        .with_state(sandbox)
}

/// What the service knows of one token: an account, none, or a failure of the whole request.
enum Answer {
    Found(Value),
    NoAccount,
    Fail(u16),
}

fn answer(scheme: &str, token: &str, calls: u32) -> Answer {
    let mut parts = token.splitn(3, '-');
    match (parts.next(), parts.next().and_then(|n| n.parse::<u32>().ok())) {
        (Some("none"), _) => return Answer::NoAccount,
        (Some("fail"), Some(status)) => return Answer::Fail(status.try_into().unwrap_or(500)),
        (Some("flaky"), Some(failures)) if calls <= failures => return Answer::Fail(503),
        _ => {}
    }
    // A stable number per (scheme, token): FNV-1a, so an account never changes between calls.
    let account = format!("{scheme}/{token}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
        % 1_000_000_000;
    let last_four: String = token.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    Answer::Found(json!({
        "loyalty_id": format!("L{account:09}"),
        "scheme_account_id": account,
        "user_id": account % 1_000_000,
        "credentials": "",
        "card_information": {"first_six": "424242", "last_four": last_four},
    }))
}

async fn user_info(State(sandbox): State<Sandbox>, Path(scheme): Path<String>, Json(body): Json<Value>) -> Response {
    let Some(tokens) = body["payment_cards"].as_array() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"detail": "payment_cards: a list of tokens is required"})))
            .into_response();
    };
    let mut found = Map::new();
    for token in tokens.iter().filter_map(Value::as_str) {
        let calls = {
            let mut lookups = sandbox.lookups.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = lookups.entry((scheme.clone(), token.to_string())).or_default();
            *count += 1;
            *count
        };
        match answer(&scheme, token, calls) {
            Answer::Found(info) => {
                found.insert(token.to_string(), info);
            }
            Answer::NoAccount => {}
            Answer::Fail(status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (status, Json(json!({"detail": "scripted failure"}))).into_response();
            }
        }
    }
    Json(Value::Object(found)).into_response()
}

async fn lookups(State(sandbox): State<Sandbox>) -> Json<Value> {
    let lookups = sandbox.lookups.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let calls: Vec<Value> = lookups
        .iter()
        .map(|((scheme, token), calls)| json!({"scheme": scheme, "token": token, "calls": calls}))
        .collect();
    Json(json!({ "lookups": calls }))
}
