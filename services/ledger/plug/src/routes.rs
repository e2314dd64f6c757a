//! The ledger's read models over HTTP, and the accounts service's fetch API.
//!
//! - `GET /accounts/{debtor_id}/{creditor_id}/reachable`: 204 when the account exists (the
//!   root account, creditor 0, always does), else 404 — as the seed's fetch API answers.
//! - `GET /accounts/{debtor_id}/{creditor_id}/config`: 200 with `config_data` as text/plain,
//!   or 404.
//! - `GET /v1/ledger/accounts?debtor_id=D[&after=C][&limit=N]`: the debtor's accounts with
//!   their balances (`ledger.account_balances`), by creditor id; `next` is the `after` of the
//!   following page, or null on the last page.
//! - `GET /v1/ledger/accounts/{debtor_id}/{creditor_id}/transfers[?after=N][&limit=N]`: the
//!   account's transfer history by transfer number, paged the same way; `.../prepared-transfers`
//!   its open transfers by transfer id.
//!
//! Bad parameters get 400 with the reason and the parameter's name. The statements are the
//! read model's own (`projections/ledger/queries`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clio_gateway::problem::{ApiPath, ApiQuery, Problem};
use clio_gateway::routes::{Routes, page as page_schema, refusal};
use clio_ledger_projection::queries;
use clio_projection::query::Query;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::PgPool;

const MAX_LIMIT: i64 = 1_000;
const DEFAULT_LIMIT: i64 = 100;

/// What the ledger's handlers read: the pool, and the schema of its read model.
#[derive(Clone)]
struct Reads {
    pool: PgPool,
    schema: String,
}

impl Reads {
    fn sql(&self, query: Query) -> String {
        query.in_schema(&self.schema)
    }
}

/// The ledger's routes over its read model in `schema`.
pub fn routes(pool: PgPool, schema: &str) -> Routes {
    let router = Router::new()
        .route("/accounts/{debtor_id}/{creditor_id}/reachable", get(reachable))
        .route("/accounts/{debtor_id}/{creditor_id}/config", get(config))
        .route("/v1/ledger/accounts", get(accounts))
        .route("/v1/ledger/accounts/{debtor_id}/{creditor_id}/transfers", get(transfers))
        .route("/v1/ledger/accounts/{debtor_id}/{creditor_id}/prepared-transfers", get(prepared_transfers))
        .with_state(Reads { pool, schema: schema.to_string() });
    Routes { router, paths: openapi_paths() }
}

fn database_error(error: sqlx::Error) -> Response {
    tracing::warn!(%error, "ledger query failed");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("the ledger read model is unavailable: {error}"))
        .into_response()
}

fn limit(requested: Option<i64>) -> Result<i64, Problem> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        n if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        n => {
            Err(Problem::bad_parameter("limit", format!("query parameter limit: limit {n} is outside 1..={MAX_LIMIT}")))
        }
    }
}

async fn reachable(State(reads): State<Reads>, ApiPath((debtor_id, creditor_id)): ApiPath<(i64, i64)>) -> Response {
    if creditor_id == 0 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let sql = reads.sql(queries::REACHABLE);
    match sqlx::query_scalar::<_, i32>(&sql).bind(debtor_id).bind(creditor_id).fetch_optional(&reads.pool).await {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => database_error(error),
    }
}

async fn config(State(reads): State<Reads>, ApiPath((debtor_id, creditor_id)): ApiPath<(i64, i64)>) -> Response {
    let sql = reads.sql(queries::ACCOUNT_CONFIG);
    match sqlx::query_scalar::<_, String>(&sql).bind(debtor_id).bind(creditor_id).fetch_optional(&reads.pool).await {
        Ok(Some(config)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], config).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => database_error(error),
    }
}

#[derive(Debug, Deserialize)]
struct AccountsQuery {
    debtor_id: i64,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn accounts(State(reads): State<Reads>, ApiQuery(query): ApiQuery<AccountsQuery>) -> Response {
    let Page { after, limit } = match Page::of(query.after, query.limit) {
        Ok(page) => page,
        Err(refused) => return refused.into_response(),
    };
    let sql = reads.sql(queries::BALANCES_PAGE);
    let rows = sqlx::query_scalar::<_, Value>(&sql).bind(query.debtor_id).bind(after).bind(limit);
    answer(rows.fetch_one(&reads.pool).await, limit, "creditor_id")
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn transfers(
    State(reads): State<Reads>,
    ApiPath(account): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Response {
    account_page(&reads, queries::TRANSFERS_PAGE, account, &query, "transfer_number").await
}

/// An account's open (prepared, not yet finalized) transfers, by transfer id: what a
/// coordinator needs to finalize them.
async fn prepared_transfers(
    State(reads): State<Reads>,
    ApiPath(account): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Response {
    account_page(&reads, queries::PREPARED_TRANSFERS_PAGE, account, &query, "transfer_id").await
}

/// Where a page starts and how long it is.
struct Page {
    after: i64,
    limit: i64,
}

impl Page {
    fn of(after: Option<i64>, limit: Option<i64>) -> Result<Self, Problem> {
        Ok(Self { after: after.unwrap_or(i64::MIN), limit: self::limit(limit)? })
    }
}

/// One page of an account's rows, from a query that takes (debtor, after, limit, creditor).
async fn account_page(
    reads: &Reads,
    query: Query,
    (debtor_id, creditor_id): (i64, i64),
    page: &PageQuery,
    cursor: &str,
) -> Response {
    let Page { after, limit } = match Page::of(page.after, page.limit) {
        Ok(page) => page,
        Err(refused) => return refused.into_response(),
    };
    let sql = reads.sql(query);
    let rows = sqlx::query_scalar::<_, Value>(&sql).bind(debtor_id).bind(after).bind(limit).bind(creditor_id);
    answer(rows.fetch_one(&reads.pool).await, limit, cursor)
}

/// `{items, next}` from a page query's JSON array; `next` is the last row's `cursor` when the
/// page is full.
fn answer(items: Result<Value, sqlx::Error>, limit: i64, cursor: &str) -> Response {
    match items {
        Ok(items) => {
            let rows = items.as_array().map_or(0, Vec::len) as i64;
            let next =
                if rows == limit { items.as_array().and_then(|a| a.last()).map(|r| r[cursor].clone()) } else { None };
            Json(json!({"items": items, "next": next})).into_response()
        }
        Err(error) => database_error(error),
    }
}

/// The OpenAPI paths of these routes.
fn openapi_paths() -> Map<String, Value> {
    let int64 = json!({"type": "integer", "format": "int64"});
    let account = json!([
        {"name": "debtor_id", "in": "path", "required": true, "schema": int64},
        {"name": "creditor_id", "in": "path", "required": true, "schema": int64}
    ]);
    let limit = json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}});
    let after = |what: &str| json!({"name": "after", "in": "query", "required": false, "description": format!("{what} to start after (the previous page's next)."), "schema": int64});
    let account_page = |what: &str, items: &str, summary: &str| {
        let mut parameters = account.as_array().cloned().unwrap_or_default();
        parameters.extend([after(what), limit.clone()]);
        json!({"get": {"summary": summary, "parameters": parameters,
            "responses": {"200": page_schema(items), "400": refusal("Bad parameters")}}})
    };
    let paths = json!({
        "/accounts/{debtor_id}/{creditor_id}/reachable": {"get": {
            "summary": "Whether the account can receive transfers (the root account, creditor 0, always can)",
            "parameters": account,
            "responses": {"204": {"description": "Reachable"}, "404": {"description": "No such account, deleted, or scheduled for deletion"},
                          "400": refusal("Not integers")}
        }},
        "/accounts/{debtor_id}/{creditor_id}/config": {"get": {
            "summary": "The account's config_data",
            "parameters": account,
            "responses": {"200": {"description": "config_data", "content": {"text/plain": {"schema": {"type": "string"}}}},
                          "404": {"description": "No such account"}, "400": refusal("Not integers")}
        }},
        "/v1/ledger/accounts": {"get": {
            "summary": "A debtor's accounts with their balances (ledger.account_balances), by creditor id",
            "parameters": [
                {"name": "debtor_id", "in": "query", "required": true, "schema": int64},
                after("Creditor id"),
                limit
            ],
            "responses": {"200": page_schema("Accounts"), "400": refusal("Bad parameters")}
        }},
        "/v1/ledger/accounts/{debtor_id}/{creditor_id}/transfers":
            account_page("Transfer number", "Transfers", "An account's transfer history (ledger.transfers), by transfer number"),
        "/v1/ledger/accounts/{debtor_id}/{creditor_id}/prepared-transfers":
            account_page("Transfer id", "Open transfers", "An account's open transfers (ledger.prepared_transfers): prepared, not yet finalized; by transfer id"),
    });
    match paths {
        Value::Object(paths) => paths,
        _ => Map::new(),
    }
}
