//! Who may call which route. Each operation's OpenAPI `security` names the scope it needs
//! (`produce:{topic}` takes the topic from the path); the same document tells integrators and
//! guards the routes, so the two cannot disagree. An operation without `security`, or with an
//! empty one, is public (health, readiness, documentation, webhooks that check their own
//! secret).
//!
//! An allowed request carries its key's name in `X-Clio-Operator` (what the routes record as
//! who did it), replacing any the caller sent; on an open server the caller's own header stays.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clio_keys::{Access, Keyring, Scope};
use serde_json::{Map, Value, json};

/// The name of the security scheme in the OpenAPI document.
pub const SCHEME: &str = "apiKey";

/// The header that names who did something, for the audit.
pub const OPERATOR: &str = "x-clio-operator";

/// The scope (with `{param}` placeholders) each guarded operation needs, by path and method.
#[derive(Debug, Default)]
pub struct Guards {
    needs: HashMap<(String, Method), String>,
}

impl Guards {
    /// The guards the document's operations declare.
    pub fn from_document(document: &Value) -> Self {
        let mut needs = HashMap::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                if let Some(scope) = needed_scope(operation) {
                    needs.insert((path.clone(), method), scope);
                }
            }
        }
        Self { needs }
    }
}

/// The scope an operation's `security` names, if any.
fn needed_scope(operation: &Value) -> Option<String> {
    operation["security"].as_array()?.first()?[SCHEME].as_array()?.first()?.as_str().map(str::to_string)
}

/// The security requirement of an operation that needs `scope`.
pub fn requirement(scope: &str) -> Value {
    json!([{ SCHEME: [scope] }])
}

/// Gives every operation of `paths` that declares no `security` the scope a domain's routes
/// need by default: `read:<domain>` to read, `write:<domain>` for anything else. Admin actions
/// and webhooks declare their own (`admin:<domain>`, or `[]` for public).
pub fn default_scopes(paths: &mut Map<String, Value>, domain: &str) {
    for item in paths.values_mut() {
        for (method, operation) in item.as_object_mut().into_iter().flatten() {
            let Some(operation) = operation.as_object_mut() else { continue };
            if !operation.contains_key("security") {
                let action = if matches!(method.as_str(), "get" | "head") { "read" } else { "write" };
                operation.insert("security".into(), requirement(&format!("{action}:{domain}")));
            }
            if operation["security"].as_array().is_some_and(Vec::is_empty) {
                continue;
            }
            let responses = operation.entry("responses").or_insert_with(|| json!({}));
            if let Some(responses) = responses.as_object_mut() {
                add_refusals(responses);
            }
        }
    }
}

/// The 401 and 403 answers of a guarded operation, in its OpenAPI responses.
pub fn add_refusals(responses: &mut Map<String, Value>) {
    responses.entry("401").or_insert_with(|| crate::routes::refusal("No API key, or an unknown or revoked one"));
    responses.entry("403").or_insert_with(|| crate::routes::refusal("The API key's scopes do not allow this"));
}

/// What the middleware shares.
#[derive(Clone)]
pub struct Guard {
    pub keys: Arc<Keyring>,
    pub guards: Arc<Guards>,
}

/// Refuses a request to a guarded route without a key whose scopes allow it.
pub async fn authorize(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let path = request.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_string());
    let Some(template) = path.and_then(|path| guard.guards.needs.get(&(path, request.method().clone())).cloned())
    else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let params: Vec<(String, String)> = match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(raw) => raw.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        Err(_) => Vec::new(),
    };
    let filled = fill(&template, &params);
    let Ok(needed) = filled.parse::<Scope>() else {
        // A path value no scope can name (`/v1/topics/a b/records`) names nothing here.
        return refuse(StatusCode::NOT_FOUND, &format!("nothing here is named as {filled:?} asks"), None);
    };
    let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    match guard.keys.authorize(authorization, &needed).await {
        Ok(Access::Open) => {}
        Ok(Access::Key(name)) => {
            let value = HeaderValue::from_str(&name).unwrap_or_else(|_| HeaderValue::from_static("api-key"));
            parts.headers.insert(OPERATOR, value);
        }
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return refuse(status, &refusal.to_string(), Some("authorization"));
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// `template` with each `{name}` replaced by its path parameter.
fn fill(template: &str, params: &[(String, String)]) -> String {
    params.iter().fold(template.to_string(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

fn refuse(status: StatusCode, reason: &str, parameter: Option<&str>) -> Response {
    let mut body = json!({"error": reason});
    if let Some(parameter) = parameter {
        body["parameter"] = json!(parameter);
    }
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        // Two challenges: API clients send a bearer key; a browser asks its user for one (the
        // key as the password of basic auth), which the console relies on.
        let headers = response.headers_mut();
        headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"clio\""));
        headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"clio\""));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_routes_get_read_or_write_unless_they_say_otherwise() {
        let mut paths = json!({
            "/v1/x/things": {"get": {"responses": {}}, "post": {"responses": {}}},
            "/v1/x/things/{id}/cancel": {"post": {"security": requirement("admin:x"), "responses": {}}},
            "/v1/x/hook": {"post": {"security": [], "responses": {}}}
        });
        default_scopes(paths.as_object_mut().unwrap(), "x");
        let guards = Guards::from_document(&json!({ "paths": paths }));
        let need = |path: &str, method: Method| guards.needs.get(&(path.to_string(), method)).cloned();
        assert_eq!(need("/v1/x/things", Method::GET).as_deref(), Some("read:x"));
        assert_eq!(need("/v1/x/things", Method::POST).as_deref(), Some("write:x"));
        assert_eq!(need("/v1/x/things/{id}/cancel", Method::POST).as_deref(), Some("admin:x"));
        assert_eq!(need("/v1/x/hook", Method::POST), None);
        assert!(paths["/v1/x/things"]["get"]["responses"]["401"].is_object());
    }

    #[test]
    fn path_parameters_fill_the_scope() {
        let params = vec![("topic".to_string(), "ledger.commands".to_string())];
        assert_eq!(fill("produce:{topic}", &params), "produce:ledger.commands");
    }
}
