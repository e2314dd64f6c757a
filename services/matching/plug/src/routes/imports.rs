//! `POST /v1/matching/imports/{feed}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clio_gateway::problem::{ApiPath, Problem};
use clio_gateway::routes::refusal;
use clio_matching::import::{FileError, Source};
use serde_json::{Map, Value, json};

use super::{Api, object, unavailable};
use crate::client::now_micros;
use crate::import;

pub(super) async fn import_file(State(api): State<Api>, ApiPath(feed): ApiPath<String>, body: Bytes) -> Response {
    let source = match Source::parse(&feed) {
        Ok(source) => source,
        Err(error) => return Problem::new(StatusCode::NOT_FOUND, error.to_string()).into_response(),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return Problem::bad_parameter("body", "the file is not UTF-8 text").into_response();
    };
    if let Err(refused) = clio_gateway::problem::nul_free("the file", "body", text) {
        return refused.into_response();
    }
    let mut parsed = match clio_matching::import::parse(source, text) {
        Ok(parsed) => parsed,
        Err(error @ FileError::WrongShape { .. }) => {
            return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()).into_response();
        }
        Err(error) => return Problem::bad_parameter("feed", error.to_string()).into_response(),
    };
    if let Err(error) = import::resolve_locations(&api.pool, &api.schema, &mut parsed).await {
        return unavailable(format!("{error:#}"));
    }
    let batch = import::batch_of(source, &body);
    let commands = import::commands(&parsed, &batch, now_micros());
    if let Err(error) = api.client.send_all(&commands, |_| {}).await {
        return unavailable(format!("{error:#}"));
    }
    let report = import::report(source, batch, &parsed, commands.len());
    (StatusCode::OK, axum::Json(report)).into_response()
}

pub(super) fn openapi_paths() -> Map<String, Value> {
    let feeds: Vec<&str> = Source::ALL.iter().map(|source| source.name()).collect();
    let note = json!({"type": "object", "properties": {"line": {"type": "integer"}, "reason": {"type": "string"}}});
    let paths = json!({
        "/v1/matching/imports/{feed}": {"post": {
            "summary": "Import a feed file (payment provider or merchant), row by row",
            "parameters": [{"name": "feed", "in": "path", "required": true, "schema": {"type": "string", "enum": feeds}}],
            "requestBody": {"required": true, "description": "The file, in the feed's own shape (CSV, JSON array or lines, fixed-width text)",
                "content": {"text/plain": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}},
            "responses": {
                "200": {"description": "The rows are on the log; rows left out by the feed's rules, and refused rows, are listed by line",
                    "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "feed": {"type": "string"}, "batch": {"type": "string"}, "sent": {"type": "integer"},
                        "skipped": {"type": "array", "items": note}, "refused": {"type": "array", "items": note}}}}}},
                "400": refusal("Not UTF-8 text"),
                "404": refusal("No such feed"),
                "422": refusal("The file is not the feed's shape: nothing was sent")
            }
        }},
    });
    object(paths)
}
