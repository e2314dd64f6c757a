//! The keys in force and the decision every guarded request gets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use crate::config::Entry;
use crate::scope::Scope;
use crate::{secret, store};

/// How long a revoked or new key may go unnoticed.
const REFRESH: Duration = Duration::from_secs(1);

/// Who a request is, once allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// No key is in force, and this server may run open (it listens on loopback only).
    Open,
    /// The key of this name allowed it.
    Key(String),
}

/// Why a request is refused: 401 for the first three, 403 for `Forbidden`, 503 for `Store`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this needs an API key (`Authorization: Bearer <key>`) with scope {needed}")]
    NoKey { needed: Scope },
    #[error("{0}")]
    Malformed(&'static str),
    #[error("the API key is not known, or was revoked")]
    UnknownKey,
    #[error("the API key {key:?} may not {needed}; its scopes: {held}")]
    Forbidden { key: String, needed: Scope, held: String },
    #[error("no API key is configured, and this server does not run open off loopback")]
    NoKeysConfigured,
    #[error("the key store does not answer: {0}")]
    Store(String),
}

impl Refusal {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Forbidden { .. } => 403,
            Refusal::Store(_) => 503,
            _ => 401,
        }
    }
}

/// The keys configured, those stored, and whether no key at all means open.
pub struct Keyring {
    store: Option<PgPool>,
    configured: Vec<Entry>,
    /// Keys of this process's own: honoured, but they do not make the server closed.
    process: Vec<Entry>,
    open_when_none: bool,
    stored: RwLock<Option<(Instant, Arc<Vec<Entry>>)>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.configured.iter().map(|entry| entry.name.as_str()).collect();
        f.debug_struct("Keyring").field("configured", &names).field("open_when_none", &self.open_when_none).finish()
    }
}

impl Keyring {
    /// The `configured` keys and, with a `store`, those created with `clio keys create`.
    /// `open_when_none`: with no key in force, allow everything (a loopback-only server).
    pub fn new(store: Option<PgPool>, configured: Vec<Entry>, open_when_none: bool) -> Self {
        Self { store, configured, process: Vec::new(), open_when_none, stored: RwLock::new(None) }
    }

    /// A keyring that allows everything: tests of routes that are not about keys.
    pub fn open() -> Self {
        Self::new(None, Vec::new(), true)
    }

    /// Adds a key of this process's own (`clio up` registering its schemas with its registry).
    /// It does not count as a key in force: with no other, the server stays open.
    pub fn with_process_key(mut self, name: &str, key: &str, scopes: Vec<Scope>) -> Self {
        self.process.push(Entry { name: name.to_string(), fingerprint: secret::fingerprint(key), scopes });
        self
    }

    /// Whether any key is in force (configured, or stored and not revoked).
    pub async fn enforced(&self) -> Result<bool, Refusal> {
        Ok(!self.configured.is_empty() || !self.stored().await?.is_empty())
    }

    /// Allows a request whose `Authorization` header is `authorization` to do what `needed`
    /// names, or says why not.
    pub async fn authorize(&self, authorization: Option<&str>, needed: &Scope) -> Result<Access, Refusal> {
        let stored = self.stored().await?;
        if self.configured.is_empty() && stored.is_empty() {
            return if self.open_when_none { Ok(Access::Open) } else { Err(Refusal::NoKeysConfigured) };
        }
        let header = authorization.ok_or_else(|| Refusal::NoKey { needed: needed.clone() })?;
        let key = secret::from_authorization(header).map_err(Refusal::Malformed)?;
        let fingerprint = secret::fingerprint(&key);
        // Every entry is compared, in constant time, so the time taken says nothing of a near miss.
        let mut found: Option<&Entry> = None;
        for entry in self.configured.iter().chain(&self.process).chain(stored.iter()) {
            if bool::from(entry.fingerprint.ct_eq(&fingerprint)) {
                found = Some(entry);
            }
        }
        let entry = found.ok_or(Refusal::UnknownKey)?;
        if entry.scopes.iter().any(|held| held.grants(needed)) {
            Ok(Access::Key(entry.name.clone()))
        } else {
            let held: Vec<String> = entry.scopes.iter().map(ToString::to_string).collect();
            Err(Refusal::Forbidden { key: entry.name.clone(), needed: needed.clone(), held: held.join(", ") })
        }
    }

    async fn stored(&self) -> Result<Arc<Vec<Entry>>, Refusal> {
        let Some(pool) = &self.store else { return Ok(Arc::new(Vec::new())) };
        if let Some((at, entries)) = self.stored.read().await.as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(entries.clone());
        }
        let mut cached = self.stored.write().await;
        if let Some((at, entries)) = cached.as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(entries.clone());
        }
        let entries = Arc::new(store::in_force(pool).await.map_err(|e| Refusal::Store(e.to_string()))?);
        *cached = Some((Instant::now(), entries.clone()));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn ring(open_when_none: bool, text: &str) -> Keyring {
        Keyring::new(None, config::parse(text, "test").unwrap(), open_when_none)
    }

    fn needs(text: &str) -> Scope {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn with_no_keys_a_loopback_server_is_open_and_another_refuses() {
        assert_eq!(ring(true, "").authorize(None, &needs("admin:x")).await, Ok(Access::Open));
        assert_eq!(ring(false, "").authorize(None, &needs("read:x")).await, Err(Refusal::NoKeysConfigured));
    }

    #[tokio::test]
    async fn a_key_is_allowed_within_its_scopes_and_named() {
        let ring = ring(true, "ci read:ledger,produce:ledger k1\nops * k2");
        let ci = Some("Bearer k1");
        assert_eq!(ring.authorize(ci, &needs("read:ledger")).await, Ok(Access::Key("ci".into())));
        assert_eq!(ring.authorize(ci, &needs("produce:ledger.commands")).await, Ok(Access::Key("ci".into())));
        let refused = ring.authorize(ci, &needs("admin:ledger")).await.unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(refused.to_string().contains("admin:ledger") && refused.to_string().contains("read:ledger"));
        assert_eq!(ring.authorize(Some("Bearer k2"), &needs("admin:ledger")).await, Ok(Access::Key("ops".into())));
        assert_eq!(ring.authorize(Some("Bearer k3"), &needs("read:ledger")).await, Err(Refusal::UnknownKey));
        assert_eq!(ring.authorize(None, &needs("read:ledger")).await.unwrap_err().status(), 401);
    }

    #[tokio::test]
    async fn a_process_key_is_honoured_but_leaves_an_open_server_open() {
        let open = Keyring::open().with_process_key("up", "k", vec![Scope::registry_write()]);
        assert!(!open.enforced().await.unwrap());
        assert_eq!(open.authorize(None, &Scope::registry_write()).await, Ok(Access::Open));
        let closed = ring(true, "ops read:x k2").with_process_key("up", "k", vec![Scope::registry_write()]);
        assert_eq!(closed.authorize(Some("Bearer k"), &Scope::registry_write()).await, Ok(Access::Key("up".into())));
        assert!(closed.authorize(Some("Bearer k"), &needs("read:x")).await.is_err());
    }
}
