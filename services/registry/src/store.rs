//! Subjects, versions, schemas and compatibility config in Postgres.

use apache_avro::Schema;
use serde_json::Value as Json;
use sqlx::{PgPool, Row};

use crate::Error;
use crate::compat::{self, Level};

/// A version of a subject as the API returns it.
#[derive(Debug, Clone)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: String,
}

/// Which version of a subject a request means.
#[derive(Debug, Clone, Copy)]
pub enum VersionRef {
    Latest,
    Number(i32),
}

impl VersionRef {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "latest" | "-1" => Ok(Self::Latest),
            other => match other.parse::<i32>() {
                Ok(n) if n > 0 => Ok(Self::Number(n)),
                _ => Err(Error::InvalidVersion(other.to_string())),
            },
        }
    }
}

/// Parses an Avro schema, or says why it is not one.
pub fn parse(text: &str) -> Result<Schema, Error> {
    Schema::parse_str(text).map_err(|e| Error::InvalidSchema(e.to_string()))
}

/// Compact JSON with object keys sorted, so formatting differences do not make new ids.
pub fn normalize(text: &str) -> Result<String, Error> {
    fn sorted(value: Json) -> Json {
        match value {
            Json::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Json::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    let value: Json = serde_json::from_str(text).map_err(|e| Error::InvalidSchema(format!("not JSON: {e}")))?;
    Ok(sorted(value).to_string())
}

/// The level in force for a subject: its own, else the global one, else the default.
pub async fn level_for(pool: &PgPool, subject: &str) -> Result<Level, Error> {
    let row = sqlx::query(
        "SELECT compatibility FROM registry.config WHERE subject = $1 OR subject = '' ORDER BY subject DESC LIMIT 1",
    )
    .bind(subject)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|r| r.get::<String, _>(0).parse().ok()).unwrap_or(compat::DEFAULT))
}

/// The level set for `subject` ('' = global), if any.
pub async fn config(pool: &PgPool, subject: &str) -> Result<Option<Level>, Error> {
    let row = sqlx::query("SELECT compatibility FROM registry.config WHERE subject = $1")
        .bind(subject)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|r| r.get::<String, _>(0).parse().ok()))
}

pub async fn set_config(pool: &PgPool, subject: &str, level: Level) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO registry.config (subject, compatibility) VALUES ($1, $2)
         ON CONFLICT (subject) DO UPDATE SET compatibility = EXCLUDED.compatibility",
    )
    .bind(subject)
    .bind(level.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// Registers `text` under `subject`; the same schema again returns the same id and adds no
/// version. A new schema must pass the subject's compatibility level.
pub async fn register(pool: &PgPool, subject: &str, text: &str) -> Result<i32, Error> {
    let schema = parse(text)?;
    let normalized = normalize(text)?;
    let level = level_for(pool, subject).await?;
    let mut tx = pool.begin().await?;
    // One registration per subject at a time, so versions stay dense and checks see each other.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('clio.registry/' || $1))")
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(
        "SELECT s.id, s.schema, s.normalized FROM registry.subject_versions v
         JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND NOT v.deleted ORDER BY v.version",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(row) = rows.iter().find(|r| r.get::<String, _>(2) == normalized) {
        return Ok(row.get(0));
    }
    let earlier: Vec<Schema> = rows.iter().map(|r| parse(&r.get::<String, _>(1))).collect::<Result<_, _>>()?;
    compat::check(level, &schema, &earlier)
        .map_err(|reason| Error::Incompatible { subject: subject.to_string(), reason })?;
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO registry.schemas (schema, normalized) VALUES ($1, $2)
         ON CONFLICT (normalized) DO UPDATE SET normalized = EXCLUDED.normalized RETURNING id",
    )
    .bind(text)
    .bind(&normalized)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO registry.subject_versions (subject, version, schema_id)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2 FROM registry.subject_versions WHERE subject = $1",
    )
    .bind(subject)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(subject, id, "schema registered");
    Ok(id)
}

async fn subject_exists(pool: &PgPool, subject: &str) -> Result<bool, Error> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM registry.subject_versions WHERE subject = $1 AND NOT deleted)")
        .bind(subject)
        .fetch_one(pool)
        .await?)
}

/// The version of `subject` that holds `text`.
pub async fn lookup(pool: &PgPool, subject: &str, text: &str) -> Result<SubjectVersion, Error> {
    parse(text)?;
    let normalized = normalize(text)?;
    if !subject_exists(pool, subject).await? {
        return Err(Error::SubjectNotFound(subject.to_string()));
    }
    let row = sqlx::query(
        "SELECT v.version, s.id, s.schema FROM registry.subject_versions v
         JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND NOT v.deleted AND s.normalized = $2 ORDER BY v.version DESC LIMIT 1",
    )
    .bind(subject)
    .bind(&normalized)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::SchemaNotFound)?;
    Ok(SubjectVersion { subject: subject.to_string(), version: row.get(0), id: row.get(1), schema: row.get(2) })
}

pub async fn subjects(pool: &PgPool) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar("SELECT DISTINCT subject FROM registry.subject_versions WHERE NOT deleted ORDER BY subject")
        .fetch_all(pool)
        .await?)
}

pub async fn versions(pool: &PgPool, subject: &str) -> Result<Vec<i32>, Error> {
    let versions: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM registry.subject_versions WHERE subject = $1 AND NOT deleted ORDER BY version",
    )
    .bind(subject)
    .fetch_all(pool)
    .await?;
    if versions.is_empty() {
        return Err(Error::SubjectNotFound(subject.to_string()));
    }
    Ok(versions)
}

pub async fn version(pool: &PgPool, subject: &str, which: VersionRef) -> Result<SubjectVersion, Error> {
    let all = versions(pool, subject).await?;
    let number = match which {
        VersionRef::Latest => *all.last().expect("versions() never returns an empty list"),
        VersionRef::Number(n) if all.contains(&n) => n,
        VersionRef::Number(n) => {
            return Err(Error::VersionNotFound { subject: subject.to_string(), version: n.to_string() });
        }
    };
    let row = sqlx::query(
        "SELECT s.id, s.schema FROM registry.subject_versions v JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND v.version = $2",
    )
    .bind(subject)
    .bind(number)
    .fetch_one(pool)
    .await?;
    Ok(SubjectVersion { subject: subject.to_string(), version: number, id: row.get(0), schema: row.get(1) })
}

/// Every live version's schema of a subject, oldest first.
pub async fn history(pool: &PgPool, subject: &str) -> Result<Vec<Schema>, Error> {
    let texts: Vec<String> = sqlx::query_scalar(
        "SELECT s.schema FROM registry.subject_versions v JOIN registry.schemas s ON s.id = v.schema_id
         WHERE v.subject = $1 AND NOT v.deleted ORDER BY v.version",
    )
    .bind(subject)
    .fetch_all(pool)
    .await?;
    texts.iter().map(|t| parse(t)).collect()
}

pub async fn schema_by_id(pool: &PgPool, id: i32) -> Result<String, Error> {
    sqlx::query_scalar("SELECT schema FROM registry.schemas WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::SchemaNotFound)
}

/// Deletes a subject: soft (versions hidden, numbers kept) or, after a soft delete, permanent.
pub async fn delete_subject(pool: &PgPool, subject: &str, permanent: bool) -> Result<Vec<i32>, Error> {
    if permanent {
        let live = subject_exists(pool, subject).await?;
        if live {
            return Err(Error::SubjectNotSoftDeleted(subject.to_string()));
        }
        let deleted: Vec<i32> =
            sqlx::query_scalar("DELETE FROM registry.subject_versions WHERE subject = $1 RETURNING version")
                .bind(subject)
                .fetch_all(pool)
                .await?;
        if deleted.is_empty() {
            return Err(Error::SubjectNotFound(subject.to_string()));
        }
        sqlx::query("DELETE FROM registry.config WHERE subject = $1").bind(subject).execute(pool).await?;
        return Ok(deleted);
    }
    let mut deleted: Vec<i32> = sqlx::query_scalar(
        "UPDATE registry.subject_versions SET deleted = true WHERE subject = $1 AND NOT deleted RETURNING version",
    )
    .bind(subject)
    .fetch_all(pool)
    .await?;
    if deleted.is_empty() {
        return Err(Error::SubjectNotFound(subject.to_string()));
    }
    deleted.sort_unstable();
    Ok(deleted)
}
