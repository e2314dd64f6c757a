//! Every refusal the gateway makes is a JSON body, `{"error": reason}`, with `"parameter"`
//! naming the path or query parameter, header or body that was refused: the extractors here
//! replace axum's own (whose refusals are plain text), and [`json_refusals`] turns any plain
//! text refusal that still gets through (a body over the size limit, an unknown route) into
//! the same shape.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// A refusal: the status, the reason, and the parameter it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub error: String,
    pub parameter: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self { status, error: error.into(), parameter: None }
    }

    pub fn bad_parameter(parameter: &str, error: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error: error.into(), parameter: Some(parameter.to_string()) }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error});
        if let Some(parameter) = self.parameter {
            body["parameter"] = json!(parameter);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// Path parameters, refused as a [`Problem`] naming the parameter.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => {
                for (name, value) in raw.iter() {
                    nul_free(&format!("path parameter {name}"), name, value)?;
                }
                raw.iter().map(|(name, _)| name.to_string()).collect()
            }
            Err(rejection) => return Err(Problem::new(rejection.status(), rejection.body_text())),
        };
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_problem(rejection, &names)),
        }
    }
}

fn path_problem(rejection: PathRejection, names: &[String]) -> Problem {
    use axum::extract::path::ErrorKind;
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        return Problem::new(rejection.status(), rejection.body_text());
    };
    let status = failed.status();
    let (parameter, reason) = match failed.into_kind() {
        ErrorKind::ParseErrorAtKey { key, value, expected_type } => {
            (Some(key), format!("{value:?} is not {}", article(expected_type)))
        }
        ErrorKind::ParseErrorAtIndex { index, value, expected_type } => {
            (names.get(index).cloned(), format!("{value:?} is not {}", article(expected_type)))
        }
        ErrorKind::ParseError { value, expected_type } => {
            (names.first().cloned(), format!("{value:?} is not {}", article(expected_type)))
        }
        ErrorKind::InvalidUtf8InPathParam { key } => (Some(key), "not valid UTF-8 once percent-decoded".to_string()),
        ErrorKind::DeserializeError { key, value, message } => (Some(key), format!("{value:?}: {message}")),
        other => (None, other.to_string()),
    };
    let error = match &parameter {
        Some(name) => format!("path parameter {name}: {reason}"),
        None => format!("path parameters: {reason}"),
    };
    Problem { status, error, parameter }
}

/// "an integer" for the integer types a path or query names, else the type as serde says it.
fn article(expected_type: &str) -> String {
    if ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"].contains(&expected_type) {
        format!("an integer ({expected_type})")
    } else {
        format!("a {expected_type}")
    }
}

/// The query string, refused as a [`Problem`] naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

/// Parses a query string into `T`; a refusal names the parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        nul_free(&format!("query parameter {name}"), &name, &name)?;
        nul_free(&format!("query parameter {name}"), &name, &value)?;
    }
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // serde reports a missing field at the root, naming the field in its message.
        let parameter = if path == "." { missing_field(&inner) } else { Some(path) };
        match parameter {
            Some(name) => {
                let reason = if inner.starts_with("missing field") {
                    "is required".to_string()
                } else {
                    format!("{}: {inner}", describe(query, &name))
                };
                Problem::bad_parameter(&name, format!("query parameter {name} {reason}"))
            }
            None => Problem::new(StatusCode::BAD_REQUEST, format!("the query string does not read: {inner}")),
        }
    })
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// `"null" is not an integer`-style context: the value that was given for `name`.
fn describe(query: &str, name: &str) -> String {
    let given = form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value);
    match given {
        Some(value) => format!("= {value:?} does not read"),
        None => "does not read".to_string(),
    }
}

/// Refuses `text` when it holds a NUL character (U+0000): Postgres text cannot, so no read
/// model could, and a query with one fails in the database instead of saying why.
pub fn nul_free(what: &str, parameter: &str, text: &str) -> Result<(), Problem> {
    if text.contains('\0') {
        return Err(Problem::bad_parameter(
            parameter,
            format!("{what} holds a NUL character (U+0000), which Clio cannot store"),
        ));
    }
    Ok(())
}

/// Refuses a JSON body with a NUL character (U+0000) in any string or member name, naming
/// where (as a JSON pointer).
pub fn json_nul_free(value: &serde_json::Value) -> Result<(), Problem> {
    fn walk(value: &serde_json::Value, at: &mut String) -> Result<(), Problem> {
        let here = |at: &str| if at.is_empty() { "the body".to_string() } else { format!("body member {at}") };
        match value {
            serde_json::Value::String(text) => nul_free(&here(at), "body", text),
            serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(index, item)| {
                let length = at.len();
                at.push_str(&format!("/{index}"));
                let result = walk(item, at);
                at.truncate(length);
                result
            }),
            serde_json::Value::Object(members) => members.iter().try_for_each(|(name, member)| {
                nul_free(&format!("a member name in {}", here(at)), "body", name)?;
                let length = at.len();
                at.push('/');
                at.push_str(&name.replace('~', "~0").replace('/', "~1"));
                let result = walk(member, at);
                at.truncate(length);
                result
            }),
            _ => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// A JSON body as `T`: refused (400, naming the body) when its content type is not JSON, when
/// it does not read as `T` (the reason after `refusal`), or when it holds a NUL character.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8], refusal: &str) -> Result<T, Problem> {
    require_json(headers)?;
    let refused = |error: serde_json::Error| Problem::bad_parameter("body", format!("{refusal}: {error}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(refused)?;
    json_nul_free(&value)?;
    serde_json::from_value(value).map_err(refused)
}

/// Refuses a request body whose content type is not JSON. A request without a content type
/// is read as JSON: some HTTP tools send none.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let text = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence == "application/json" || essence.ends_with("+json") {
        return Ok(());
    }
    Err(Problem {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        error: format!("content-type {text:?} is not JSON; send application/json"),
        parameter: Some("content-type".to_string()),
    })
}

/// The largest body a request may carry, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Makes a plain-text refusal that got past the extractors (axum's body limit, for one) a
/// JSON [`Problem`]; everything else passes unchanged.
pub async fn json_refusals(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let mut problem = Problem::new(status, String::from_utf8_lossy(&text).trim().to_string());
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        problem.error = format!("the body is larger than {MAX_BODY_BYTES} bytes");
        problem.parameter = Some("body".to_string());
    }
    problem.into_response()
}

/// How long a request may take unless the gateway is told otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Answers 504 when the request is not done within `timeout`. What it was doing is dropped:
/// a command may or may not be on the log, and its idempotency key makes sending it again safe.
pub async fn within_timeout(
    axum::extract::State(timeout): axum::extract::State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the request took longer than {} s; what it asked may or may not be done, and is safe to ask again",
                timeout.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

/// The answer to a path no route serves.
pub async fn no_route(uri: axum::http::Uri) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, format!("no route for {}; see /openapi.json", uri.path()))
}

/// The answer to a method a route does not take.
pub async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}; see /openapi.json", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Page {
        debtor_id: i64,
        limit: Option<i64>,
    }

    #[test]
    fn a_bad_query_value_names_its_parameter() {
        let problem = parse_query::<Page>("debtor_id=0&limit=null").expect_err("refused");
        assert_eq!(problem.status, StatusCode::BAD_REQUEST);
        assert_eq!(problem.parameter.as_deref(), Some("limit"));
        assert!(problem.error.contains("\"null\""), "{}", problem.error);
    }

    #[test]
    fn a_missing_query_parameter_is_named() {
        let problem = parse_query::<Page>("limit=3").expect_err("refused");
        assert_eq!(problem.parameter.as_deref(), Some("debtor_id"));
        assert_eq!(problem.error, "query parameter debtor_id is required");
    }

    #[test]
    fn a_nul_anywhere_is_refused_and_named() {
        let problem = parse_query::<Page>("debtor_id=1&limit=2&merchant=a%00b").expect_err("refused");
        assert_eq!(problem.parameter.as_deref(), Some("merchant"));
        assert!(problem.error.contains("NUL"), "{}", problem.error);
        let body = serde_json::json!({"a": [1, {"b/c": "x\u{0}y"}]});
        let problem = json_nul_free(&body).expect_err("refused");
        assert_eq!(problem.parameter.as_deref(), Some("body"));
        assert!(problem.error.contains("/a/1/b~1c"), "{}", problem.error);
        assert!(json_nul_free(&serde_json::json!({"a": ["\\u0000 is text"]})).is_ok());
        assert!(json_nul_free(&serde_json::json!({"a\u{0}": 1})).is_err());
    }

    #[test]
    fn a_good_query_reads() {
        let page: Page = parse_query("debtor_id=-5&limit=7").expect("reads");
        assert_eq!((page.debtor_id, page.limit), (-5, Some(7)));
    }

    #[test]
    fn only_json_bodies_are_taken() {
        let mut headers = HeaderMap::new();
        assert!(require_json(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().expect("header"));
        assert!(require_json(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().expect("header"));
        let problem = require_json(&headers).expect_err("refused");
        assert_eq!(problem.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(problem.parameter.as_deref(), Some("content-type"));
    }

    #[tokio::test]
    async fn a_request_past_its_timeout_is_answered_504_with_a_reason() {
        let router = axum::Router::new()
            .route(
                "/slow",
                axum::routing::get(|| async { tokio::time::sleep(std::time::Duration::from_secs(5)).await }),
            )
            .route("/quick", axum::routing::get(|| async { "done" }))
            .layer(axum::middleware::from_fn_with_state(std::time::Duration::from_millis(100), within_timeout));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        let slow = reqwest::get(format!("http://{address}/slow")).await.expect("an answer");
        assert_eq!(slow.status().as_u16(), 504);
        let body: serde_json::Value = slow.json().await.expect("JSON");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("safe to ask again")), "{body}");
        assert_eq!(reqwest::get(format!("http://{address}/quick")).await.expect("an answer").status().as_u16(), 200);
    }
}
