//! Routes a domain adds to the gateway: an axum router carrying its own state, and the
//! OpenAPI paths that describe it. The gateway merges them; it knows no domain.

use axum::Router;
use serde_json::{Map, Value, json};

/// Some routes and their OpenAPI paths.
#[derive(Clone, Default)]
pub struct Routes {
    pub router: Router,
    /// OpenAPI path items by path.
    pub paths: Map<String, Value>,
}

impl Routes {
    /// These routes as a domain's: every operation that declares no scope needs `read:<domain>`
    /// or `write:<domain>` (see [`crate::auth::default_scopes`]).
    pub fn of_domain(mut self, domain: &str) -> Self {
        crate::auth::default_scopes(&mut self.paths, domain);
        self
    }

    /// Both sets of routes (axum refuses a route served twice when the router is built).
    pub fn merge(self, other: Routes) -> Self {
        let mut paths = self.paths;
        paths.extend(other.paths);
        Self { router: self.router.merge(other.router), paths }
    }
}

/// The OpenAPI schema of every refusal (see [`crate::problem`]).
pub fn error_schema() -> Value {
    json!({"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "Why the request was refused."},
        "parameter": {"type": "string", "description": "The path or query parameter, header (content-type) or part of the body (body, topic, type, value) that was refused."}
    }})
}

/// An OpenAPI response with a refusal's body.
pub fn refusal(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": error_schema()}}})
}

/// Who asks, for the audit: the `X-Clio-Operator` header (on a server with keys, the name of
/// the caller's key: see [`crate::auth`]), else `gateway`.
pub fn operator(headers: &axum::http::HeaderMap) -> String {
    let named = headers.get(crate::auth::OPERATOR).and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty());
    named.map_or_else(|| "gateway".to_string(), |name| name.trim().to_string())
}

/// One page as the routes answer it: `{items, next}`, where `next` is the `key` of the last
/// item when the page is full (the `after` of the following page), else null.
pub fn page_body(items: Value, limit: i64, key: &str) -> Value {
    let full = items.as_array().is_some_and(|rows| rows.len() as i64 == limit);
    let next = if full { items.as_array().and_then(|rows| rows.last()).map(|row| row[key].clone()) } else { None };
    json!({"items": items, "next": next})
}

/// The page size a listing was asked for (`limit`, 100 when not given), or a 400 naming the
/// parameter when it is outside `1..=max`.
pub fn page_limit(limit: Option<i64>, max: i64) -> Result<i64, crate::problem::Problem> {
    let limit = limit.unwrap_or(100);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(crate::problem::Problem::bad_parameter("limit", format!("limit {limit} is outside 1..={max}")))
    }
}

/// The OpenAPI response of one page of `what`: `{items, next}`, where `next` is the `after` of
/// the following page.
pub fn page(what: &str) -> Value {
    json!({"description": format!("{what}, one page"), "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "next": {"description": "Pass as `after` for the next page; null on the last page.", "type": ["integer", "string", "null"]}
        }
    }}}})
}

/// An OpenAPI JSON response: `description`, and a body that is an object with `properties`,
/// of which `required` are always there.
pub fn answer(description: &str, required: &[&str], properties: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": properties
    }}}})
}
