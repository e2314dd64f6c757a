//! API keys and their scopes: who may do what through Clio's gateway and schema registry.
//!
//! With no key in force, the embedded default runs open (on a loopback address only: `clio up`
//! refuses any other without keys). Once a key exists, every guarded request needs one whose
//! scopes allow it. A key is shown once, when it is created; only its SHA-256 fingerprint is
//! kept (in `clio.api_keys`, or in the operator's own configuration).
//!
//! # Layout
//! - [`scope`]: scopes (`read:ledger`, `admin:matching`, `produce:orders.commands`, `*`) and
//!   which held scope grants which needed one.
//! - [`secret`]: new keys, their fingerprints, and the key a request carries (`Authorization:
//!   Bearer <key>`, or HTTP basic auth with the key as password, as Confluent clients send it).
//! - [`config`]: keys configured from a file or an environment variable, one per line.
//! - [`store`]: keys created with `clio keys create`, in `clio.api_keys` (migrations/, SQL
//!   beside them).
//! - [`keyring`]: the keys in force, refreshed from the store each second, and the one
//!   decision every guarded request gets: who it is, or why it is refused.

pub mod config;
pub mod keyring;
pub mod scope;
pub mod secret;
pub mod store;

pub use keyring::{Access, Keyring, Refusal};
pub use scope::Scope;

/// The errors of key management.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("scope {scope:?}: {reason}")]
    BadScope { scope: String, reason: String },
    #[error("{source_name}, line {line}: {reason}")]
    BadConfig { source_name: String, line: usize, reason: String },
    #[error("a key is named with letters, digits, `.`, `_` or `-` (1 to 64 of them), not {0:?}")]
    BadName(String),
    #[error("a key named {0:?} exists already (revoked keys keep their names, for the audit)")]
    Duplicate(String),
    #[error("no key named {0:?} is stored")]
    NotFound(String),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the key store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("migrating the key store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Checks a key's name.
pub fn check_name(name: &str) -> Result<(), Error> {
    let valid = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid { Ok(()) } else { Err(Error::BadName(name.to_string())) }
}
