//! Keys created with `clio keys create`, in `clio.api_keys`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::config::Entry;
use crate::scope::{self, Scope};
use crate::secret::{self, Fingerprint};
use crate::{Error, check_name};

/// Applies the key store's migrations (one process at a time).
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The database is shared with the registry and the read models, whose migrations live elsewhere.
    migrator.set_ignore_missing(true);
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(4242)").execute(&mut *lock).await?;
    let result = migrator.run(pool).await;
    sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut *lock).await?;
    Ok(result?)
}

/// Stores a key by its fingerprint.
pub async fn create(
    pool: &PgPool,
    name: &str,
    scopes: &[Scope],
    fingerprint: &Fingerprint,
    created_by: &str,
) -> Result<(), Error> {
    check_name(name)?;
    let scopes: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    let inserted = sqlx::query(include_str!("../queries/insert_key.sql"))
        .bind(name)
        .bind(secret::to_text(fingerprint))
        .bind(&scopes)
        .bind(created_by)
        .execute(pool)
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::Duplicate(name.to_string()));
    }
    Ok(())
}

/// Revokes the key `name` (again is harmless); when it was revoked.
pub async fn revoke(pool: &PgPool, name: &str, revoked_by: &str) -> Result<DateTime<Utc>, Error> {
    sqlx::query_scalar(include_str!("../queries/revoke_key.sql"))
        .bind(name)
        .bind(revoked_by)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::NotFound(name.to_string()))
}

/// One stored key as `clio keys list` shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Stored {
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

pub async fn list(pool: &PgPool) -> Result<Vec<Stored>, Error> {
    Ok(sqlx::query_as(include_str!("../queries/list_keys.sql")).fetch_all(pool).await?)
}

/// The stored keys not revoked. A row that no longer parses (edited by hand) is left out, and
/// said so, rather than refusing every key.
pub async fn in_force(pool: &PgPool) -> Result<Vec<Entry>, Error> {
    let rows: Vec<(String, String, Vec<String>)> =
        sqlx::query_as(include_str!("../queries/keys_in_force.sql")).fetch_all(pool).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for (name, fingerprint, scopes) in rows {
        let parsed = secret::from_text(&fingerprint)
            .ok_or_else(|| "its fingerprint is not `sha256:<hex>`".to_string())
            .and_then(|fingerprint| {
                scope::parse_list(&scopes.join(",")).map(|scopes| (fingerprint, scopes)).map_err(|e| e.to_string())
            });
        match parsed {
            Ok((fingerprint, scopes)) => entries.push(Entry { name, fingerprint, scopes }),
            Err(reason) => tracing::warn!(key = %name, %reason, "a stored key is ignored"),
        }
    }
    Ok(entries)
}
