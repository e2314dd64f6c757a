//! The embedded schema registry: the Confluent Schema Registry REST API on Postgres, so that
//! any Confluent client (Java, Python confluent-kafka, librdkafka-based tools, the Rust
//! schema_registry_converter) works against it unchanged.
//!
//! # Layout
//! - [`api`]: the HTTP routes and Confluent's error bodies (`error_code`, `message`).
//! - [`auth`]: writes need an API key with `registry:write` (basic auth, as Confluent clients
//!   send it); reads are open.
//! - [`store`]: subjects, versions, schemas and config in Postgres (migrations/).
//! - [`compat`]: the compatibility levels and the Avro schema-resolution check.
//!
//! Only AVRO schemas are accepted; the default compatibility is BACKWARD_TRANSITIVE because
//! Clio's logs are replayed forever.

pub mod api;
pub mod auth;
pub mod compat;
pub mod store;

pub use api::router;

use std::net::SocketAddr;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The errors of the registry, each mapped to Confluent's error code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {version} not found for subject '{subject}'.")]
    VersionNotFound { subject: String, version: String },
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\": {reason}")]
    Incompatible { subject: String, reason: String },
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    #[error("Invalid compatibility level: {0}")]
    InvalidCompatibility(String),
    #[error("Unprocessable request: {0}")]
    BadRequest(String),
    #[error("Error in the backend data store: {0}")]
    Store(#[from] sqlx::Error),
}

impl Error {
    /// Confluent's numeric error code; its first three digits are the HTTP status.
    pub fn code(&self) -> u32 {
        match self {
            Self::SubjectNotFound(_) => 40401,
            Self::VersionNotFound { .. } => 40402,
            Self::SchemaNotFound => 40403,
            Self::SubjectNotSoftDeleted(_) => 40405,
            Self::SubjectConfigNotFound(_) => 40408,
            Self::Incompatible { .. } => 409,
            Self::InvalidSchema(_) => 42201,
            Self::InvalidVersion(_) => 42202,
            Self::InvalidCompatibility(_) => 42203,
            Self::BadRequest(_) => 422,
            Self::Store(_) => 50001,
        }
    }
}

/// Applies the registry's migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The database is shared with the read models, whose migrations live elsewhere.
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

/// Serves the registry on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    pool: PgPool,
    keys: std::sync::Arc<clio_keys::Keyring>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?address, "schema registry listening");
    axum::serve(listener, router(pool, keys)).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
