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
//!   account's transfer history by transfer number, paged the same way.
//!
//! Bad parameters get 400 with the reason and the parameter's name; the read model's schema is `ledger` unless the
//! gateway is told otherwise.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Gateway;
use crate::problem::{ApiPath, ApiQuery, Problem};

const MAX_LIMIT: i64 = 1_000;
const DEFAULT_LIMIT: i64 = 100;

fn problem(status: StatusCode, error: impl Into<String>) -> Response {
    Problem::new(status, error).into_response()
}

fn database_error(error: sqlx::Error) -> Response {
    tracing::warn!(%error, "ledger query failed");
    problem(StatusCode::SERVICE_UNAVAILABLE, format!("the ledger read model is unavailable: {error}"))
}

fn limit(requested: Option<i64>) -> Result<i64, Problem> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        n if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        n => {
            Err(Problem::bad_parameter("limit", format!("query parameter limit: limit {n} is outside 1..={MAX_LIMIT}")))
        }
    }
}

fn schema(gateway: &Gateway) -> String {
    clio_runtime::database::quote_ident(&gateway.ledger_schema)
}

pub async fn reachable(
    State(gateway): State<Gateway>,
    ApiPath((debtor_id, creditor_id)): ApiPath<(i64, i64)>,
) -> Response {
    if creditor_id == 0 {
        return StatusCode::NO_CONTENT.into_response();
    }
    // Deleted accounts, and accounts whose owner asked for their deletion, take no transfers.
    let sql = format!(
        "SELECT 1 FROM {}.accounts WHERE debtor_id = $1 AND creditor_id = $2 AND NOT deleted AND config_flags & 1 = 0",
        schema(&gateway)
    );
    match sqlx::query_scalar::<_, i32>(&sql).bind(debtor_id).bind(creditor_id).fetch_optional(&gateway.pool).await {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => database_error(error),
    }
}

pub async fn config(
    State(gateway): State<Gateway>,
    ApiPath((debtor_id, creditor_id)): ApiPath<(i64, i64)>,
) -> Response {
    let sql = format!(
        "SELECT config_data FROM {}.accounts WHERE debtor_id = $1 AND creditor_id = $2 AND NOT deleted",
        schema(&gateway)
    );
    match sqlx::query_scalar::<_, String>(&sql).bind(debtor_id).bind(creditor_id).fetch_optional(&gateway.pool).await {
        Ok(Some(config)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], config).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => database_error(error),
    }
}

#[derive(Debug, Deserialize)]
pub struct AccountsQuery {
    debtor_id: i64,
    after: Option<i64>,
    limit: Option<i64>,
}

pub async fn accounts(State(gateway): State<Gateway>, ApiQuery(query): ApiQuery<AccountsQuery>) -> Response {
    let limit = match limit(query.limit) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let sql = format!(
        "SELECT coalesce(json_agg(row_to_json(b) ORDER BY b.creditor_id), '[]'::json) FROM (
             SELECT creditor_id, principal, interest, interest_rate, locked_amount, available_amount, status,
                    overflown, config_flags, config_data, negligible_amount, event_at
               FROM {}.account_balances
              WHERE debtor_id = $1 AND creditor_id > $2
              ORDER BY creditor_id LIMIT $3) b",
        schema(&gateway)
    );
    page(&gateway, &sql, query.debtor_id, None, query.after.unwrap_or(i64::MIN), limit, "creditor_id").await
}

#[derive(Debug, Deserialize)]
pub struct TransfersQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

pub async fn transfers(
    State(gateway): State<Gateway>,
    ApiPath(account): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<TransfersQuery>,
) -> Response {
    let columns = "previous_transfer_number, coordinator_type, sender, recipient, acquired_amount, transfer_note,
                   transfer_note_format, committed_at, principal";
    account_rows(&gateway, account, &query, "transfers", "transfer_number", columns).await
}

/// An account's open (prepared, not yet finalized) transfers, by transfer id: what a
/// coordinator needs to finalize them.
pub async fn prepared_transfers(
    State(gateway): State<Gateway>,
    ApiPath(account): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<TransfersQuery>,
) -> Response {
    let columns =
        "coordinator_type, coordinator_id, coordinator_request_id, locked_amount, recipient, prepared_at, deadline";
    account_rows(&gateway, account, &query, "prepared_transfers", "transfer_id", columns).await
}

/// One page of an account's rows in `table`, ordered by the `cursor` column (listed first).
async fn account_rows(
    gateway: &Gateway,
    (debtor_id, creditor_id): (i64, i64),
    query: &TransfersQuery,
    table: &str,
    cursor: &str,
    columns: &str,
) -> Response {
    let limit = match limit(query.limit) {
        Ok(limit) => limit,
        Err(refused) => return refused.into_response(),
    };
    let sql = format!(
        "SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.{cursor}), '[]'::json) FROM (
             SELECT {cursor}, {columns}
               FROM {}.{table}
              WHERE debtor_id = $1 AND creditor_id = $4 AND {cursor} > $2
              ORDER BY {cursor} LIMIT $3) t",
        schema(gateway)
    );
    page(gateway, &sql, debtor_id, Some(creditor_id), query.after.unwrap_or(i64::MIN), limit, cursor).await
}

/// Runs a page query and answers `{items, next}`.
async fn page(
    gateway: &Gateway,
    sql: &str,
    debtor_id: i64,
    creditor_id: Option<i64>,
    after: i64,
    limit: i64,
    cursor: &str,
) -> Response {
    let mut query = sqlx::query_scalar::<_, Value>(sql).bind(debtor_id).bind(after).bind(limit);
    if let Some(creditor_id) = creditor_id {
        query = query.bind(creditor_id);
    }
    match query.fetch_one(&gateway.pool).await {
        Ok(items) => {
            let rows = items.as_array().map_or(0, Vec::len) as i64;
            let next =
                if rows == limit { items.as_array().and_then(|a| a.last()).map(|r| r[cursor].clone()) } else { None };
            Json(json!({"items": items, "next": next})).into_response()
        }
        Err(error) => database_error(error),
    }
}
