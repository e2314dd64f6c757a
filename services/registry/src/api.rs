//! The HTTP routes of the Confluent Schema Registry API that Clio implements.
//!
//! Request bodies are read as JSON whatever their content type: Confluent clients send
//! `application/vnd.schemaregistry.v1+json`, curl users often send nothing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use sqlx::PgPool;

use crate::Error;
use crate::compat::{self, Level};
use crate::store::{self, VersionRef};

pub(crate) const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The registry's routes over a Postgres pool, its writes guarded by `keys`.
pub fn router(pool: PgPool, keys: std::sync::Arc<clio_keys::Keyring>) -> Router {
    Router::new()
        .route("/", get(|| async { reply(json!({})) }))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(list_versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(get_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(get_version_schema))
        .route("/schemas/ids/{id}", get(get_schema))
        .route("/schemas/types", get(|| async { reply(json!(["AVRO"])) }))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(check_compatibility))
        .route("/config", get(get_global_config).put(put_global_config))
        .route("/config/{subject}", get(get_subject_config).put(put_subject_config))
        .route_layer(axum::middleware::from_fn_with_state(keys, crate::auth::guard_writes))
        .with_state(pool)
}

fn reply(body: Json) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        // Confluent's five-digit codes start with the HTTP status; 409 and 422 stand alone.
        let http = if code >= 10_000 { code / 100 } else { code };
        let status = StatusCode::from_u16(http as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "registry failure");
        }
        let body = json!({"error_code": code, "message": self.to_string()});
        (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
    }
}

type Reply = Result<Response, Error>;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::BadRequest(format!("the body is not the expected JSON: {e}")))
}

#[derive(Deserialize)]
struct SchemaRequest {
    schema: String,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Json>,
}

impl SchemaRequest {
    fn avro(self) -> Result<String, Error> {
        if let Some(kind) = self.schema_type.as_deref().filter(|k| *k != "AVRO") {
            return Err(Error::InvalidSchema(format!(
                "schemaType {kind} is not supported; this registry holds AVRO only"
            )));
        }
        if !self.references.is_empty() {
            return Err(Error::InvalidSchema("schema references are not supported; use self-contained schemas".into()));
        }
        Ok(self.schema)
    }
}

fn version_body(v: &store::SubjectVersion) -> Json {
    json!({"subject": v.subject, "version": v.version, "id": v.id, "schema": v.schema})
}

async fn list_subjects(State(pool): State<PgPool>) -> Reply {
    Ok(reply(json!(store::subjects(&pool).await?)))
}

async fn register(State(pool): State<PgPool>, Path(subject): Path<String>, bytes: Bytes) -> Reply {
    let text = body::<SchemaRequest>(&bytes)?.avro()?;
    let id = store::register(&pool, &subject, &text).await?;
    Ok(reply(json!({"id": id})))
}

async fn lookup(State(pool): State<PgPool>, Path(subject): Path<String>, bytes: Bytes) -> Reply {
    let text = body::<SchemaRequest>(&bytes)?.avro()?;
    Ok(reply(version_body(&store::lookup(&pool, &subject, &text).await?)))
}

async fn list_versions(State(pool): State<PgPool>, Path(subject): Path<String>) -> Reply {
    Ok(reply(json!(store::versions(&pool, &subject).await?)))
}

async fn get_version(State(pool): State<PgPool>, Path((subject, version)): Path<(String, String)>) -> Reply {
    let which = VersionRef::parse(&version)?;
    Ok(reply(version_body(&store::version(&pool, &subject, which).await?)))
}

async fn get_version_schema(State(pool): State<PgPool>, Path((subject, version)): Path<(String, String)>) -> Reply {
    let which = VersionRef::parse(&version)?;
    let found = store::version(&pool, &subject, which).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], found.schema).into_response())
}

async fn get_schema(State(pool): State<PgPool>, Path(id): Path<String>) -> Reply {
    let id: i32 = id.parse().map_err(|_| Error::SchemaNotFound)?;
    Ok(reply(json!({"schema": store::schema_by_id(&pool, id).await?})))
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    permanent: bool,
}

async fn delete_subject(
    State(pool): State<PgPool>,
    Path(subject): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Reply {
    Ok(reply(json!(store::delete_subject(&pool, &subject, q.permanent).await?)))
}

async fn check_compatibility(
    State(pool): State<PgPool>,
    Path((subject, version)): Path<(String, String)>,
    bytes: Bytes,
) -> Reply {
    let text = body::<SchemaRequest>(&bytes)?.avro()?;
    let new = store::parse(&text)?;
    let level = store::level_for(&pool, &subject).await?;
    let which = VersionRef::parse(&version)?;
    let history = store::history(&pool, &subject).await?;
    if history.is_empty() {
        return Err(Error::SubjectNotFound(subject));
    }
    let against = match which {
        // "latest" at a transitive level means every version, as a registration would check.
        VersionRef::Latest => history,
        VersionRef::Number(_) => {
            let chosen = store::version(&pool, &subject, which).await?;
            vec![store::parse(&chosen.schema)?]
        }
    };
    let verdict = compat::check(level, &new, &against);
    let mut answer = json!({"is_compatible": verdict.is_ok()});
    if let Err(reason) = verdict {
        answer["messages"] = json!([reason]);
    }
    Ok(reply(answer))
}

#[derive(Deserialize)]
struct ConfigRequest {
    compatibility: String,
}

#[derive(Deserialize)]
struct ConfigQuery {
    #[serde(rename = "defaultToGlobal", default)]
    default_to_global: bool,
}

async fn get_global_config(State(pool): State<PgPool>) -> Reply {
    let level = store::config(&pool, "").await?.unwrap_or(compat::DEFAULT);
    Ok(reply(json!({"compatibilityLevel": level.to_string()})))
}

async fn put_config(pool: &PgPool, subject: &str, bytes: &Bytes) -> Reply {
    let request: ConfigRequest = body(bytes)?;
    let level: Level = request.compatibility.parse().map_err(Error::InvalidCompatibility)?;
    store::set_config(pool, subject, level).await?;
    Ok(reply(json!({"compatibility": level.to_string()})))
}

async fn put_global_config(State(pool): State<PgPool>, bytes: Bytes) -> Reply {
    put_config(&pool, "", &bytes).await
}

async fn get_subject_config(
    State(pool): State<PgPool>,
    Path(subject): Path<String>,
    Query(q): Query<ConfigQuery>,
) -> Reply {
    let level = match store::config(&pool, &subject).await? {
        Some(level) => level,
        None if q.default_to_global => store::level_for(&pool, &subject).await?,
        None => return Err(Error::SubjectConfigNotFound(subject)),
    };
    Ok(reply(json!({"compatibilityLevel": level.to_string()})))
}

async fn put_subject_config(State(pool): State<PgPool>, Path(subject): Path<String>, bytes: Bytes) -> Reply {
    put_config(&pool, &subject, &bytes).await
}
