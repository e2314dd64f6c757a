//! The marketplace's and the tracker's contents kept in a file across restarts, as the real
//! ones keep theirs: without it, a second `make up` would meet a fresh marketplace numbering
//! its orders from 1 again while Clio remembers the first run's, and a tracker missing the
//! issues Clio linked. Loaded at start; written after every request that may change them.
//! Scripted failures, latency and call counts are a test's script, not contents: not kept.

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::Sandbox;
use crate::marketplace::Marketplace;
use crate::tracker::Tracker;

#[derive(Debug, thiserror::Error)]
pub enum KeptError {
    #[error("reading the sandbox's state from {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the sandbox's state in {path} does not parse (remove it to start afresh)")]
    Parse { path: PathBuf, source: serde_json::Error },
}

#[derive(Serialize, Deserialize)]
struct Contents {
    marketplace: Marketplace,
    tracker: Tracker,
}

/// A sandbox holding what `path` kept, or an empty one when there is no such file yet.
pub fn load(path: &Path) -> Result<Sandbox, KeptError> {
    let sandbox = Sandbox { kept_in: Some(path.to_path_buf()), ..Sandbox::default() };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(sandbox),
        Err(source) => return Err(KeptError::Read { path: path.to_path_buf(), source }),
    };
    let contents: Contents =
        serde_json::from_str(&text).map_err(|source| KeptError::Parse { path: path.to_path_buf(), source })?;
    *sandbox.marketplace.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = contents.marketplace;
    *sandbox.tracker.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = contents.tracker;
    Ok(sandbox)
}

/// Middleware: after a request that may have changed the marketplace or the tracker, writes
/// them to the sandbox's file (a new file renamed over the old, so a crash leaves one whole).
pub async fn keep(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let changes = request.method() != Method::GET;
    let response = next.run(request).await;
    if let (true, Some(path)) = (changes, &sandbox.kept_in)
        && let Err(error) = write(&sandbox, path)
    {
        tracing::warn!(path = %path.display(), %error, "the sandbox could not keep its state");
    }
    response
}

// Both locks are held to the rename, so two requests' writes cannot interleave.
fn write(sandbox: &Sandbox, path: &Path) -> std::io::Result<()> {
    let marketplace = sandbox.marketplace.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tracker = sandbox.tracker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let text = serde_json::to_string(&ContentsRef { marketplace: &marketplace, tracker: &tracker })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, text)?;
    std::fs::rename(&fresh, path)
}

#[derive(Serialize)]
struct ContentsRef<'a> {
    marketplace: &'a Marketplace,
    tracker: &'a Tracker,
}
