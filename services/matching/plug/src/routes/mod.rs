//! The matching domain over HTTP (`X-Clio-Operator` names who onboards, updates or removes a
//! MID; default: gateway).
//!
//! - `POST /v1/matching/imports/{feed}`: a feed file as the body (CSV, JSON or fixed-width, as
//!   the feed writes it). 200 with what was sent, left out and refused (by line) once the rows
//!   are on the log; 404 for an unknown feed; 422 for a file that is not the feed's shape
//!   (nothing is sent). Importing a file again changes nothing.
//! - `GET /v1/matching/mids[?merchant=M][&provider=P][&after=KEY][&limit=N]`: MIDs by key.
//! - `POST /v1/matching/mids`: onboard one MID (JSON); 202, 400 with the reason.
//! - `POST /v1/matching/mids/csv`: onboard a MID file (the seed's ten columns, action `A`);
//!   202 with the count, or 400 naming every bad row and onboarding none.
//! - `GET|PATCH|DELETE /v1/matching/mids/{provider}/{mid_type}/{identifier}`: one MID, change
//!   its details, remove it; 202 once on the log, 404 for a MID not onboarded.
//! - `GET /v1/matching/payments`, `/v1/matching/merchant-transactions`, `/v1/matching/matches`
//!   `[?merchant=M][&status=S][&from=T][&to=T][&after=KEY][&limit=N]`: the read models, paged
//!   (`status` is the matching type for matches; `from`/`to` bound the transaction time).
//! - `GET /v1/matching/counters[?merchant=M]`: counts per kind, merchant and status.
//! - `POST /v1/matching/force-match` (`{payment_key, merchant_transaction_id}`): 202 once on the
//!   log; 404 for an unknown side, 409 for a side that is not pending, with the reason.

mod force;
mod imports;
mod mids;
mod read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clio_gateway::problem::{Problem, json_body};
use clio_gateway::routes::Routes;
use clio_matching::messages::MatchingCommand;
use serde_json::Value;
use sqlx::PgPool;

use crate::client::MatchingClient;

/// The largest file (feed or MIDs) the gateway takes in one request.
const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Clone)]
struct Api {
    pool: PgPool,
    schema: String,
    client: MatchingClient,
}

/// The matching domain's routes over its read model in `schema`, producing with `client`.
pub fn routes(pool: PgPool, schema: &str, client: MatchingClient) -> Routes {
    let router = Router::new()
        .route("/v1/matching/imports/{feed}", post(imports::import_file))
        .route("/v1/matching/mids", get(mids::list).post(mids::onboard))
        .route("/v1/matching/mids/csv", post(mids::onboard_file))
        .route("/v1/matching/payments", get(read::payments))
        .route("/v1/matching/merchant-transactions", get(read::merchant_transactions))
        .route("/v1/matching/matches", get(read::matches))
        .route("/v1/matching/streamed", get(read::streamed))
        .route("/v1/matching/exports", get(read::exports))
        .route("/v1/matching/counters", get(read::counters))
        .route("/v1/matching/force-match", post(force::force_match))
        .route(
            "/v1/matching/mids/{provider}/{mid_type}/{identifier}",
            get(mids::one).patch(mids::update).delete(mids::remove),
        )
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES))
        .with_state(Api { pool, schema: schema.to_string(), client });
    let mut paths = imports::openapi_paths();
    paths.extend(mids::openapi_paths());
    paths.extend(read::openapi_paths());
    paths.extend(force::openapi_paths());
    Routes { router, paths }
}

/// A JSON body of the request's `T`, or a 400 naming what is wrong with it.
fn body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, Problem> {
    json_body(headers, bytes, "the body")
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::warn!(%error, "matching route");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("the matching domain is unavailable: {error}"))
        .into_response()
}

impl Api {
    /// Sends `commands`; 202 with `accepted` once they are on the log.
    async fn send(&self, commands: &[MatchingCommand], accepted: Value) -> Response {
        match self.client.send_all(commands, |_| {}).await {
            Ok(()) => (StatusCode::ACCEPTED, axum::Json(accepted)).into_response(),
            Err(error) => unavailable(format!("{error:#}")),
        }
    }
}

fn object(paths: Value) -> serde_json::Map<String, Value> {
    match paths {
        Value::Object(paths) => paths,
        _ => serde_json::Map::new(),
    }
}
