//! The Postgres database every part shares: connecting, and creating it on first use.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// Connections a pool opens at most, unless the settings say otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// Connects to the database of `url`, creating the database first when the server has no
/// database of that name.
pub async fn connect_creating(url: &str) -> anyhow::Result<PgPool> {
    connect_pool(url, DEFAULT_MAX_CONNECTIONS).await
}

/// As [`connect_creating`], with a pool of at most `max_connections`.
pub async fn connect_pool(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options =
        PgConnectOptions::from_str(url).with_context(|| format!("CLIO_DATABASE_URL {url:?} is not a Postgres URL"))?;
    let options = options.log_statements(tracing::log::LevelFilter::Trace);
    let pool = PgPoolOptions::new().max_connections(max_connections.max(1)).acquire_timeout(Duration::from_secs(10));
    match pool.clone().connect_with(options.clone()).await {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("3D000") => {
            let name = options.get_database().unwrap_or("clio").to_string();
            let admin = options.clone().database("postgres");
            let mut connection =
                admin.connect().await.context("connecting to the 'postgres' database to create ours")?;
            let create = format!("CREATE DATABASE {}", quote_ident(&name));
            match sqlx::query(&create).execute(&mut connection).await {
                Ok(_) => tracing::info!(database = %name, "database created"),
                // Created meanwhile by another process (42P04, or 23505 when both raced).
                Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
                Err(e) => return Err(e).context("creating the database"),
            }
            Ok(pool.connect_with(options).await.context("connecting to the new database")?)
        }
        Err(error) => Err(error).with_context(|| format!("connecting to Postgres at {}", redact(url))),
    }
}

/// A name (a database, a schema, a table) as a quoted SQL identifier, safe in any SQL text
/// whatever characters it holds. The one quoting helper of the workspace.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://clio:secret@db:5432/clio"), "postgres://clio:***@db:5432/clio");
        assert_eq!(redact("postgres://postgres@127.0.0.1/clio"), "postgres://postgres@127.0.0.1/clio");
    }
}
