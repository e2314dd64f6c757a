//! The HTTP gateway integrators and operators talk to.
//!
//! # Layout
//! - [`produce`]: `POST /v1/topics/{topic}/records`: a JSON record checked against its
//!   registered Avro schema and produced with Confluent framing; 404 for an unknown topic or
//!   record type, 422 with the failing field path when the value does not fit. Nothing is
//!   produced for a refused request.
//! - [`routes`]: what the plugged domains add (their read models as JSON, their own APIs):
//!   routers carrying their own state, and their OpenAPI paths. The gateway names no domain.
//! - `GET /health`: the process is up (liveness).
//! - `GET /ready`: Postgres answers, the broker returns metadata and the schema registry
//!   lists its subjects (readiness); 503 naming the failing dependency otherwise.
//! - `GET /openapi.json`: the OpenAPI 3.1 document of this gateway.
//! - [`metrics`]: `GET /metrics`, Prometheus's text format.
//! - [`console`]: `GET /console/`, one page for operators, a section per plugged panel.
//! - [`docs`]: `GET /docs/`: the rendered AsyncAPI documentation of every topic and record.
//! - [`auth`]: API keys: each operation's OpenAPI `security` names the scope it needs; 401
//!   without a valid key, 403 outside its scopes, with the reason.
//! - [`problem`]: every refusal (path, query, body, content type, size, route, method) is a
//!   JSON body naming what was refused; a request that takes longer than its timeout is
//!   answered 504.

pub mod auth;
pub mod console;
pub mod docs;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod produce;
pub mod routes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use clio_runtime::catalogue::{Catalogue, Compression};
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
    /// One producer per compression the catalogue's topics use.
    pub producers: Arc<BTreeMap<Compression, FutureProducer>>,
    /// The plugged domains' routes.
    pub routes: routes::Routes,
    /// Where the rendered AsyncAPI documentation is (`None`: `/docs` answers 404).
    pub docs_dir: Option<std::path::PathBuf>,
    /// The API keys in force (none: open, for a loopback server).
    pub keys: Arc<clio_keys::Keyring>,
    /// How long a request may take before it is answered 504.
    pub request_timeout: Duration,
    /// What `/metrics` reads at each scrape besides this process's counters.
    pub metrics: Arc<metrics::Sources>,
    /// The sections of `/console/`, in order.
    pub console: Arc<console::Panels>,
}

impl Gateway {
    pub fn new(
        pool: PgPool,
        kafka: KafkaSettings,
        catalogue: Catalogue,
        codec: Codec,
    ) -> Result<Self, clio_runtime::Error> {
        let mut producers = BTreeMap::new();
        for topic in &catalogue.topics {
            if let std::collections::btree_map::Entry::Vacant(entry) = producers.entry(topic.compression) {
                entry.insert(kafka::producer_for(&kafka, topic.compression)?);
            }
        }
        Ok(Self {
            pool,
            kafka,
            catalogue: Arc::new(catalogue),
            codec,
            producers: Arc::new(producers),
            routes: routes::Routes::default(),
            docs_dir: None,
            keys: Arc::new(clio_keys::Keyring::open()),
            request_timeout: problem::DEFAULT_REQUEST_TIMEOUT,
            metrics: Arc::new(Vec::new()),
            console: Arc::new(Vec::new()),
        })
    }

    /// The producer for `topic`'s compression.
    pub fn producer(&self, topic: &str) -> Option<&FutureProducer> {
        self.producers.get(&self.catalogue.compression(topic))
    }

    /// Serves the rendered AsyncAPI documentation from `dir` at `/docs/`.
    pub fn with_docs(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.docs_dir = Some(dir.into());
        self
    }

    /// Guards the routes with these keys.
    pub fn with_keys(mut self, keys: Arc<clio_keys::Keyring>) -> Self {
        self.keys = keys;
        self
    }

    /// Serves the plugged domains' routes beside the gateway's own.
    pub fn with_routes(mut self, routes: routes::Routes) -> Self {
        self.routes = routes;
        self
    }
}

pub fn router(gateway: Gateway) -> Router {
    let document = Arc::new(openapi::document(&gateway.routes.paths));
    let guard = auth::Guard { keys: gateway.keys.clone(), guards: Arc::new(auth::Guards::from_document(&document)) };
    let plugged = gateway.routes.router.clone();
    let gateway_timeout = gateway.request_timeout;
    let metrics_sources = gateway.metrics.clone();
    let console_panels = gateway.console.clone();
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/ready", get(ready))
        .route("/openapi.json", get(move || async move { Json(document.as_ref().clone()) }))
        .route("/docs", get(docs::root))
        .route("/docs/", get(docs::index))
        .route("/docs/{file}", get(docs::file))
        .route("/v1/topics/{topic}/records", post(produce::produce))
        .with_state(gateway)
        .merge(Router::new().route("/metrics", get(metrics::metrics)).with_state(metrics_sources))
        .merge(
            Router::new()
                .route("/console", get(console::root))
                .route("/console/", get(console::page))
                .with_state(console_panels),
        )
        .merge(plugged)
        .route_layer(axum::middleware::from_fn_with_state(guard, auth::authorize))
        .fallback(problem::no_route)
        .method_not_allowed_fallback(problem::wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(problem::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(gateway_timeout, problem::within_timeout))
        .layer(axum::middleware::map_response(problem::json_refusals))
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
    let registry = registry_answers(gateway.codec.registry_url()).await;
    let status = if database.is_ok() && broker.is_ok() && registry.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!(e),
    };
    (
        status,
        Json(json!({"postgres": describe(&database), "broker": describe(&broker), "registry": describe(&registry)})),
    )
}

async fn registry_answers(url: &str) -> Result<(), String> {
    let request = async {
        let response = reqwest::get(format!("{}/subjects", url.trim_end_matches('/'))).await?;
        response.error_for_status().map(|_| ())
    };
    match tokio::time::timeout(Duration::from_secs(5), request).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_string()),
    }
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
