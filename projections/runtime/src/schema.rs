//! The platform tables (`clio.projection_offsets`) and the schema of each read model.
//!
//! A read model named `n` lives in Postgres schema `n`; a rebuild builds `n__rebuild` and the
//! swap renames it to `n` (the old one becomes `n__retired` and is dropped). Each schema
//! carries its own `schema_migrations` and `applied_events` tables, so everything a model is
//! made of moves with it in the swap.

use futures::future::BoxFuture;
use sqlx::{Connection, Executor as _, PgConnection, PgPool};

use crate::{Error, Result};

/// One migration of a read model: a version, a name, and SQL that names tables without a
/// schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Creates or updates the runtime's own tables.
pub async fn migrate_platform(pool: &PgPool) -> Result<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The registry and the runtime share sqlx's bookkeeping table; each knows only its own.
    migrator.set_ignore_missing(true);
    // Several processes may start at once, each with its own migrator: one at a time.
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(4242)").execute(&mut *lock).await?;
    let result = migrator.run(pool).await;
    sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut *lock).await?;
    Ok(result?)
}

pub(crate) use clio_runtime::database::quote_ident as ident;

/// Checks that a projection name can be a schema name with room for `__rebuild`.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(Error::InvalidName(name.to_string())) }
}

/// The schema a rebuild writes into.
pub fn rebuild_schema(name: &str) -> String {
    format!("{name}__rebuild")
}

/// The name the old schema takes during a swap, until it is dropped.
pub fn retired_schema(name: &str) -> String {
    format!("{name}__retired")
}

/// The `projection` key of a rebuild's rows in `clio.projection_offsets`.
pub fn rebuild_offsets_key(name: &str) -> String {
    format!("{name}~rebuild")
}

fn checksum(sql: &str) -> i64 {
    // FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Creates `schema` with its bookkeeping tables if missing, and applies the migrations it has
/// not had yet, each in its own transaction. Safe to call from several processes at once.
pub async fn prepare(pool: &PgPool, schema: &str, migrations: &[Migration]) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    lock_schema(&mut tx, schema).await?;
    let s = ident(schema);
    let bookkeeping = format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   bigint NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE IF NOT EXISTS {s}.applied_events (
             event_id  uuid PRIMARY KEY,
             topic     text NOT NULL,
             partition integer NOT NULL,
             \"offset\"  bigint NOT NULL);"
    );
    // Executor::execute with plain text runs several statements (the simple query protocol).
    (&mut *tx).execute(bookkeeping.as_str()).await?;
    let select_applied = format!("SELECT version, checksum FROM {s}.schema_migrations");
    let applied: Vec<(i32, i64)> = sqlx::query_as(&select_applied).fetch_all(&mut *tx).await?;
    let select_one = format!("SELECT version FROM {s}.schema_migrations WHERE version = $1");
    let search_path = format!("SET LOCAL search_path TO {s}");
    let insert = format!("INSERT INTO {s}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)");
    tx.commit().await?;

    for migration in migrations {
        match applied.iter().find(|(version, _)| *version == migration.version) {
            Some((_, sum)) if *sum == checksum(migration.sql) => continue,
            Some(_) => {
                return Err(Error::MigrationChanged {
                    schema: schema.to_string(),
                    version: migration.version,
                    name: migration.name.to_string(),
                });
            }
            None => {}
        }
        let mut tx = conn.begin().await?;
        lock_schema(&mut tx, schema).await?;
        let already: Option<i32> =
            sqlx::query_scalar(&select_one).bind(migration.version).fetch_optional(&mut *tx).await?;
        if already.is_none() {
            sqlx::query(&search_path).execute(&mut *tx).await?;
            (&mut *tx).execute(migration.sql).await?;
            sqlx::query(&insert)
                .bind(migration.version)
                .bind(migration.name)
                .bind(checksum(migration.sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

pub(crate) fn lock_schema<'a>(conn: &'a mut PgConnection, schema: &'a str) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('clio.schema:' || $1))").bind(schema).execute(conn).await?;
        Ok(())
    })
}

/// Drops a schema and everything in it, if it exists.
pub async fn drop_schema(pool: &PgPool, schema: &str) -> Result<()> {
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(schema));
    sqlx::query(&sql).execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_can_be_schemas_are_accepted() {
        assert!(validate_name("balances").is_ok());
        assert!(validate_name("t123-9af-tally_2").is_ok());
    }

    #[test]
    fn names_that_cannot_be_schemas_are_refused() {
        for name in ["", "Balances", "a b", "x\"y", &"n".repeat(41)] {
            assert!(validate_name(name).is_err(), "{name:?} should be refused");
        }
    }

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_changed_migration_has_another_checksum() {
        assert_ne!(checksum("CREATE TABLE a (x int);"), checksum("CREATE TABLE a (x bigint);"));
    }
}
