//! The HTTP gateway integrators and operators talk to.
//!
//! # Layout
//! - [`produce`]: `POST /v1/topics/{topic}/records`: a JSON record checked against its
//!   registered Avro schema and produced with Confluent framing; 404 for an unknown topic or
//!   record type, 422 with the failing field path when the value does not fit. Nothing is
//!   produced for a refused request.
//! - [`ledger`]: the ledger's read models as JSON (balances, transfer history, open
//!   transfers), with pagination, and the fetch API
//!   (`/accounts/{debtor_id}/{creditor_id}/reachable` and `/config`).
//! - `GET /health`: the process is up (liveness).
//! - `GET /ready`: Postgres answers and the broker returns metadata (readiness); 503 naming
//!   the failing dependency otherwise.
//! - `GET /openapi.json`: the OpenAPI 3.1 document of this gateway.
//! - [`docs`]: `GET /docs/`: the rendered AsyncAPI documentation of every topic and record.

pub mod docs;
pub mod ledger;
pub mod openapi;
pub mod produce;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_runtime::kafka;
use clio_runtime::settings::KafkaSettings;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureProducer;
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// What the gateway's handlers share. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    pub pool: PgPool,
    pub kafka: KafkaSettings,
    pub catalogue: Arc<Catalogue>,
    pub codec: Codec,
    pub producer: FutureProducer,
    /// The Postgres schema of the ledger's read model.
    pub ledger_schema: String,
    /// Where the rendered AsyncAPI documentation is (`None`: `/docs` answers 404).
    pub docs_dir: Option<std::path::PathBuf>,
}

impl Gateway {
    pub fn new(
        pool: PgPool,
        kafka: KafkaSettings,
        catalogue: Catalogue,
        codec: Codec,
    ) -> Result<Self, clio_runtime::Error> {
        let producer = kafka::producer(&kafka)?;
        Ok(Self {
            pool,
            kafka,
            catalogue: Arc::new(catalogue),
            codec,
            producer,
            ledger_schema: "ledger".into(),
            docs_dir: None,
        })
    }

    /// Serves the rendered AsyncAPI documentation from `dir` at `/docs/`.
    pub fn with_docs(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.docs_dir = Some(dir.into());
        self
    }

    /// Reads the ledger's read model from another schema (tests keep one of their own).
    pub fn with_ledger_schema(mut self, schema: &str) -> Self {
        self.ledger_schema = schema.to_string();
        self
    }
}

pub fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/ready", get(ready))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/docs", get(docs::root))
        .route("/docs/", get(docs::index))
        .route("/docs/{file}", get(docs::file))
        .route("/v1/topics/{topic}/records", post(produce::produce))
        .route("/accounts/{debtor_id}/{creditor_id}/reachable", get(ledger::reachable))
        .route("/accounts/{debtor_id}/{creditor_id}/config", get(ledger::config))
        .route("/v1/ledger/accounts", get(ledger::accounts))
        .route("/v1/ledger/accounts/{debtor_id}/{creditor_id}/transfers", get(ledger::transfers))
        .route("/v1/ledger/accounts/{debtor_id}/{creditor_id}/prepared-transfers", get(ledger::prepared_transfers))
        .with_state(gateway)
}

async fn ready(State(gateway): State<Gateway>) -> impl IntoResponse {
    let database =
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&gateway.pool).await.map(|_| ()).map_err(|e| e.to_string());
    let settings = gateway.kafka.clone();
    let broker = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let reader = kafka::reader(&settings).map_err(|e| e.to_string())?;
        reader.fetch_metadata(None, Duration::from_secs(5)).map(|_| ()).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let status = if database.is_ok() && broker.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!(e),
    };
    (status, Json(json!({"postgres": describe(&database), "broker": describe(&broker)})))
}

/// Serves the gateway on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    tracing::info!(address = ?listener.local_addr().ok(), "gateway listening");
    axum::serve(listener, router(gateway)).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
