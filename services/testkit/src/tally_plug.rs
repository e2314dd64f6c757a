//! The tally plugged in as any domain is: its processor, its read model and a route of its own
//! (`GET /v1/tally/counters/{counter}`), so tests prove the platform's plug is generic. Its
//! topics are in `services/testkit/schemas/catalogue.toml`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clio_plug::{Core, CoreOf, Domain, Home, Resources, Routes};
use clio_projection::include_query;
use clio_projection::plugged::Projection;
use clio_projection::query::Query;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::tally::Tally;
use crate::tally_model::TallyModel;

const COUNTER: Query = include_query!("read-model/queries", "counter");

/// The tally's catalogue directory.
pub fn schemas_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas"))
}

/// The tally domain, living at its home.
#[derive(Debug, Clone)]
pub struct TallyPlug {
    home: Home,
}

impl Default for TallyPlug {
    fn default() -> Self {
        Self { home: Home::production("tally") }
    }
}

impl Domain for TallyPlug {
    fn core(&self) -> &dyn Core {
        &CoreOf::<Tally>::NEW
    }

    fn home(&self) -> &Home {
        &self.home
    }

    fn at(&self, home: Home) -> Arc<dyn Domain> {
        Arc::new(Self { home })
    }

    fn read_models(&self) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(TallyModel)]
    }

    fn routes(&self, resources: &Resources) -> Routes {
        let router = Router::new()
            .route("/v1/tally/counters/{counter}", get(counter))
            .with_state((resources.pool.clone(), COUNTER.in_schema(&self.home.schema())));
        let paths = json!({"/v1/tally/counters/{counter}": {"get": {
            "summary": "One counter of the tally",
            "parameters": [{"name": "counter", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The counter"}, "404": {"description": "No such counter"}}
        }}});
        Routes { router, paths: paths.as_object().cloned().unwrap_or_default() }
    }
}

async fn counter(State((pool, sql)): State<(PgPool, String)>, Path(counter): Path<String>) -> Response {
    match sqlx::query_scalar::<_, Value>(&sql).bind(&counter).fetch_optional(&pool).await {
        Ok(Some(row)) => Json(row).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({"error": format!("no counter {counter}")}))).into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": error.to_string()}))).into_response(),
    }
}
