//! The registry's writes (register, delete, configure) need an API key with scope
//! `registry:write`, sent as Confluent clients send `basic.auth.user.info` (HTTP basic auth,
//! the key as password) or as `Authorization: Bearer <key>`. Reads stay open: every producer
//! and consumer looks schemas up. With no key in force, a loopback registry needs none.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clio_keys::{Keyring, Scope};
use serde_json::json;

/// The routes that change the registry.
const WRITES: [(Method, &str); 4] = [
    (Method::POST, "/subjects/{subject}/versions"),
    (Method::DELETE, "/subjects/{subject}"),
    (Method::PUT, "/config"),
    (Method::PUT, "/config/{subject}"),
];

/// Refuses a write without a key allowed `registry:write`, with Confluent's error body.
pub async fn guard_writes(State(keys): State<Arc<Keyring>>, request: Request, next: Next) -> Response {
    let path = request.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_string());
    let is_write =
        path.is_some_and(|path| WRITES.iter().any(|(method, route)| method == request.method() && *route == path));
    if !is_write {
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    match keys.authorize(authorization, &Scope::registry_write()).await {
        Ok(_) => next.run(request).await,
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            // Confluent's codes are the status and two digits.
            let code = u32::from(status.as_u16()) * 100 + 1;
            let body = json!({"error_code": code, "message": refusal.to_string()});
            let mut response =
                (status, [(header::CONTENT_TYPE, crate::api::CONTENT_TYPE)], body.to_string()).into_response();
            if status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"clio schema registry\""));
            }
            response
        }
    }
}
