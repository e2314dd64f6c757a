//! `/v1/matching/mids`: the MID registry for operators.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clio_gateway::problem::{ApiPath, ApiQuery, Problem};
use clio_gateway::routes::{answer, operator, page as page_schema, page_body, page_limit, refusal};
use clio_matching::import::parse_mid_file;
use clio_matching::messages::{MatchingCommand, OnboardMid, RemoveMid};
use clio_matching::mids::{Mid, key};
use clio_matching_projection::queries;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Api, body, object, unavailable};
use crate::client::now_micros;
use crate::mids::{MidChanges, MidPath, updated};

const MAX_LIMIT: i64 = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MidsQuery {
    merchant: Option<String>,
    provider: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn list(State(api): State<Api>, ApiQuery(query): ApiQuery<MidsQuery>) -> Response {
    let limit = match page_limit(query.limit, MAX_LIMIT) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let page = sqlx::query_scalar::<_, Value>(&queries::MIDS_PAGE.in_schema(&api.schema))
        .bind(&query.merchant)
        .bind(&query.provider)
        .bind(query.after.unwrap_or_default())
        .bind(limit)
        .fetch_one(&api.pool)
        .await;
    match page {
        Ok(items) => Json(page_body(items, limit, "key")).into_response(),
        Err(error) => unavailable(error),
    }
}

/// A MID's details as a request gives them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MidBody {
    provider: String,
    mid_type: String,
    identifier: String,
    merchant: String,
    location: String,
    postcode: String,
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    merchant_internal_id: String,
}

pub(super) async fn onboard(State(api): State<Api>, headers: HeaderMap, bytes: Bytes) -> Response {
    let given: MidBody = match body(&headers, &bytes) {
        Ok(given) => given,
        Err(problem) => return problem.into_response(),
    };
    let command = OnboardMid {
        provider: given.provider,
        mid_type: given.mid_type,
        identifier: given.identifier,
        merchant: given.merchant,
        location: given.location,
        postcode: given.postcode,
        location_id: given.location_id,
        merchant_internal_id: given.merchant_internal_id,
        by: operator(&headers),
        ts: now_micros(),
    };
    if let Err(error) = Mid::from_record(&command) {
        return Problem::bad_parameter("body", error.to_string()).into_response();
    }
    let mid = key(&command.provider, &command.mid_type, &command.identifier);
    api.send(&[MatchingCommand::OnboardMid(command)], json!({"mid": mid})).await
}

pub(super) async fn onboard_file(State(api): State<Api>, headers: HeaderMap, bytes: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Problem::bad_parameter("body", "the file is not UTF-8 text").into_response();
    };
    if let Err(refused) = clio_gateway::problem::nul_free("the file", "body", text) {
        return refused.into_response();
    }
    match parse_mid_file(text, &operator(&headers), now_micros()) {
        Ok(onboardings) => {
            let commands: Vec<MatchingCommand> =
                onboardings.into_iter().map(|numbered| MatchingCommand::OnboardMid(numbered.item)).collect();
            let count = commands.len();
            api.send(&commands, json!({"onboarding": count})).await
        }
        Err(wrong) => {
            let rows: Vec<Value> = wrong.iter().map(|note| json!({"line": note.line, "reason": note.item})).collect();
            let error = format!("{} rows of the file are wrong; no MID of it was onboarded", wrong.len());
            (StatusCode::BAD_REQUEST, Json(json!({"error": error, "parameter": "body", "rows": rows}))).into_response()
        }
    }
}

impl Api {
    async fn mid(&self, (provider, mid_type, identifier): &MidPath) -> Result<Option<Value>, sqlx::Error> {
        sqlx::query_scalar(&queries::MID.in_schema(&self.schema))
            .bind(provider)
            .bind(mid_type)
            .bind(identifier)
            .fetch_optional(&self.pool)
            .await
    }
}

fn not_onboarded((provider, mid_type, identifier): &MidPath) -> Response {
    Problem::new(StatusCode::NOT_FOUND, format!("{provider} {mid_type} MID {identifier} is not onboarded"))
        .into_response()
}

pub(super) async fn one(State(api): State<Api>, ApiPath(path): ApiPath<MidPath>) -> Response {
    match api.mid(&path).await {
        Ok(Some(mid)) => Json(mid).into_response(),
        Ok(None) => not_onboarded(&path),
        Err(error) => unavailable(error),
    }
}

pub(super) async fn update(
    State(api): State<Api>,
    ApiPath(path): ApiPath<MidPath>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let changes: MidChanges = match body(&headers, &bytes) {
        Ok(changes) => changes,
        Err(problem) => return problem.into_response(),
    };
    let current = match api.mid(&path).await {
        Ok(Some(current)) => current,
        Ok(None) => return not_onboarded(&path),
        Err(error) => return unavailable(error),
    };
    let command = match updated(&current, path, changes, &operator(&headers), now_micros()) {
        Ok(command) => command,
        Err(error) => return Problem::bad_parameter("body", error.to_string()).into_response(),
    };
    let mid = key(&command.provider, &command.mid_type, &command.identifier);
    api.send(&[MatchingCommand::UpdateMid(command)], json!({"mid": mid})).await
}

pub(super) async fn remove(State(api): State<Api>, ApiPath(path): ApiPath<MidPath>, headers: HeaderMap) -> Response {
    match api.mid(&path).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_onboarded(&path),
        Err(error) => return unavailable(error),
    }
    let (provider, mid_type, identifier) = path;
    let mid = key(&provider, &mid_type, &identifier);
    let command = RemoveMid { provider, mid_type, identifier, by: operator(&headers), ts: now_micros() };
    api.send(&[MatchingCommand::RemoveMid(command)], json!({"mid": mid})).await
}

pub(super) fn openapi_paths() -> Map<String, Value> {
    let mid = json!({"type": "object", "required": ["provider", "mid_type", "identifier", "merchant", "location", "postcode"], "properties": {
        "provider": {"type": "string", "enum": ["visa", "mastercard", "amex"]},
        "mid_type": {"type": "string", "enum": ["PRIMARY", "SECONDARY", "PSIMI"]},
        "identifier": {"type": "string"}, "merchant": {"type": "string", "description": "The loyalty merchant's slug"},
        "location": {"type": "string"}, "postcode": {"type": "string"},
        "location_id": {"type": "string"}, "merchant_internal_id": {"type": "string"}}});
    let operator = json!({"name": "X-Clio-Operator", "in": "header", "required": false,
                          "description": "Who asks, recorded on the log (default: gateway)", "schema": {"type": "string"}});
    let path = [
        json!({"name": "provider", "in": "path", "required": true, "schema": {"type": "string"}}),
        json!({"name": "mid_type", "in": "path", "required": true, "schema": {"type": "string"}}),
        json!({"name": "identifier", "in": "path", "required": true, "schema": {"type": "string"}}),
    ];
    let with_operator = [path[0].clone(), path[1].clone(), path[2].clone(), operator.clone()];
    let accepted = answer(
        "The command is on the log",
        &["mid"],
        json!({"mid": {"type": "string", "description": "provider:TYPE:identifier"}}),
    );
    let text = json!({"type": "string"});
    let stored = answer(
        "The MID",
        &["provider", "mid_type", "identifier", "merchant", "location", "postcode", "onboarded_by", "onboarded_at"],
        json!({
        "provider": text, "mid_type": text, "identifier": text, "merchant": text, "location": text, "postcode": text,
        "location_id": text, "merchant_internal_id": text, "onboarded_by": text, "onboarded_at": text, "updated_at": text}),
    );
    object(json!({
        "/v1/matching/mids": {
            "get": {
                "summary": "MIDs (matching.mids), by key provider:TYPE:identifier",
                "parameters": [
                    {"name": "merchant", "in": "query", "required": false, "schema": {"type": "string"}},
                    {"name": "provider", "in": "query", "required": false, "schema": {"type": "string"}},
                    {"name": "after", "in": "query", "required": false, "description": "The key to start after (the previous page's next).", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}}
                ],
                "responses": {"200": page_schema("MIDs"), "400": refusal("Bad parameters")}
            },
            "post": {
                "summary": "Onboard one MID",
                "parameters": [operator],
                "requestBody": {"required": true, "content": {"application/json": {"schema": mid}}},
                "responses": {"202": accepted, "400": refusal("Not a MID: the reason")}
            }
        },
        "/v1/matching/mids/csv": {"post": {
            "summary": "Onboard a MID file: no header; provider, identifier, identifier_type, merchant, location_id, merchant_internal_id, merchant_name, location, postcode, action (A onboards)",
            "parameters": [operator],
            "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"202": answer("Every MID of the file is on the log", &["onboarding"], json!({"onboarding": {"type": "integer", "minimum": 0}})),
                          "400": refusal("Every wrong row by line (rows: [{line, reason}]); nothing was onboarded")}
        }},
        "/v1/matching/mids/{provider}/{mid_type}/{identifier}": {
            "get": {"summary": "One MID", "parameters": path, "responses": {"200": stored, "404": refusal("Not onboarded")}},
            "patch": {
                "summary": "Change a MID's details (those left out stay)",
                "parameters": with_operator,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "merchant": {"type": "string"}, "location": {"type": "string"}, "postcode": {"type": "string"},
                    "location_id": {"type": "string"}, "merchant_internal_id": {"type": "string"}}}}}},
                "responses": {"202": accepted, "400": refusal("Bad body"), "404": refusal("Not onboarded")}
            },
            "delete": {"summary": "Remove a MID", "parameters": with_operator, "responses": {"202": accepted, "404": refusal("Not onboarded")}}
        }
    }))
}
