//! What the matching read models hold, paged: payments, merchant transactions, matches,
//! streamed transactions, exports, and counters per merchant and status.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clio_gateway::problem::ApiQuery;
use clio_gateway::routes::{answer, page as page_schema, page_body, page_limit, refusal};
use clio_matching_projection::queries;
use clio_projection::query::Query;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Api, object, unavailable};

const MAX_LIMIT: i64 = 1_000;

/// The filters every listing takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Filters {
    merchant: Option<String>,
    /// A status (a matching type, for matches).
    status: Option<String>,
    /// Transaction time from (RFC 3339, inclusive).
    from: Option<DateTime<Utc>>,
    /// Transaction time before (RFC 3339, exclusive).
    to: Option<DateTime<Utc>>,
    after: Option<String>,
    limit: Option<i64>,
}

impl Api {
    /// One page of `query` (ordered by `key`): `{items, next}`.
    async fn page(&self, query: Query, key: &str, filters: Filters) -> Response {
        let limit = match page_limit(filters.limit, MAX_LIMIT) {
            Ok(limit) => limit,
            Err(refused) => return refused.into_response(),
        };
        let page = sqlx::query_scalar::<_, Value>(&query.in_schema(&self.schema))
            .bind(&filters.merchant)
            .bind(&filters.status)
            .bind(filters.from)
            .bind(filters.to)
            .bind(filters.after.unwrap_or_default())
            .bind(limit)
            .fetch_one(&self.pool)
            .await;
        match page {
            Ok(items) => Json(page_body(items, limit, key)).into_response(),
            Err(error) => unavailable(error),
        }
    }
}

pub(super) async fn payments(State(api): State<Api>, ApiQuery(filters): ApiQuery<Filters>) -> Response {
    api.page(queries::PAYMENTS_PAGE, "payment_key", filters).await
}

pub(super) async fn merchant_transactions(State(api): State<Api>, ApiQuery(filters): ApiQuery<Filters>) -> Response {
    api.page(queries::MERCHANT_TRANSACTIONS_PAGE, "key", filters).await
}

pub(super) async fn matches(State(api): State<Api>, ApiQuery(filters): ApiQuery<Filters>) -> Response {
    api.page(queries::MATCHES_PAGE, "match_id", filters).await
}

pub(super) async fn streamed(State(api): State<Api>, ApiQuery(filters): ApiQuery<Filters>) -> Response {
    api.page(queries::STREAMED_PAGE, "stream_id", filters).await
}

pub(super) async fn exports(State(api): State<Api>, ApiQuery(filters): ApiQuery<Filters>) -> Response {
    api.page(queries::EXPORTS_PAGE, "export_id", filters).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CountersQuery {
    merchant: Option<String>,
}

pub(super) async fn counters(State(api): State<Api>, ApiQuery(query): ApiQuery<CountersQuery>) -> Response {
    let counters = sqlx::query_scalar::<_, Value>(&queries::COUNTERS.in_schema(&api.schema))
        .bind(&query.merchant)
        .fetch_one(&api.pool)
        .await;
    match counters {
        Ok(items) => Json(json!({"items": items})).into_response(),
        Err(error) => unavailable(error),
    }
}

pub(super) fn openapi_paths() -> Map<String, Value> {
    let filters = |status: &str, after: &str| {
        json!([
            {"name": "merchant", "in": "query", "required": false, "schema": {"type": "string"}},
            {"name": "status", "in": "query", "required": false, "description": status, "schema": {"type": "string"}},
            {"name": "from", "in": "query", "required": false, "description": "Transaction time from (RFC 3339, inclusive)", "schema": {"type": "string", "format": "date-time"}},
            {"name": "to", "in": "query", "required": false, "description": "Transaction time before (RFC 3339, exclusive)", "schema": {"type": "string", "format": "date-time"}},
            {"name": "after", "in": "query", "required": false, "description": after, "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}}
        ])
    };
    object(json!({
        "/v1/matching/payments": {"get": {
            "summary": "Payments (matching.payment_transactions), one per settlement key, by payment key",
            "parameters": filters("IMPORTED, UNIDENTIFIED, PENDING, MATCHED, NOT_MATCHABLE, NO_IDENTITY, CLOSED, ...", "The payment key to start after (the previous page's next)."),
            "responses": {"200": page_schema("Payments"), "400": refusal("Bad parameters")}
        }},
        "/v1/matching/merchant-transactions": {"get": {
            "summary": "Merchant transactions (matching.scheme_transactions), by merchant:transaction id",
            "parameters": filters("PENDING, MATCHED, CLOSED", "The key to start after (the previous page's next)."),
            "responses": {"200": page_schema("Merchant transactions"), "400": refusal("Bad parameters")}
        }},
        "/v1/matching/matches": {"get": {
            "summary": "Matches (matching.matches), by match id (sha256 of the settlement key)",
            "parameters": filters("The matching type: LOYALTY, SPOTTED, FORCED", "The match id to start after (the previous page's next)."),
            "responses": {"200": page_schema("Matches"), "400": refusal("Bad parameters")}
        }},
        "/v1/matching/streamed": {"get": {
            "summary": "Streamed transactions (matching.streamed), by stream id; status filters the feed",
            "parameters": filters("The feed: AUTH, SETTLED, REFUND", "The stream id to start after (the previous page's next)."),
            "responses": {"200": page_schema("Streamed transactions"), "400": refusal("Bad parameters")}
        }},
        "/v1/matching/exports": {"get": {
            "summary": "Exports (matching.exports) of matches, streamed transactions and unmatched payments, by export id; from/to filter when requested, merchant the merchant it goes to",
            "parameters": filters("REQUESTED, HELD, SENT, FAILED, ABANDONED", "The export id to start after (the previous page's next)."),
            "responses": {"200": page_schema("Exports"), "400": refusal("Bad parameters")}
        }},
        "/v1/matching/counters": {"get": {
            "summary": "Payments, merchant transactions, matches, streamed transactions and exports counted per merchant and status",
            "parameters": [{"name": "merchant", "in": "query", "required": false, "schema": {"type": "string"}}],
            "responses": {"200": answer("Counts by kind, merchant and status", &["items"], json!({"items": {"type": "array", "items": {
                "type": "object", "required": ["kind", "merchant", "status", "count"],
                "properties": {"kind": {"type": "string", "enum": ["payment", "merchant_transaction", "match", "streamed", "export"]},
                               "merchant": {"type": "string"}, "status": {"type": ["string", "null"]}, "count": {"type": "integer", "minimum": 0}}
            }}}))}
        }},
    }))
}
