//! The sandbox: local servers that speak the APIs of outside systems Clio calls but that cannot
//! run here, with outcomes a test or the demo scripts. Each remembers what it was asked and
//! what effects it made, by idempotency key, so a test can check that a repeated call made no
//! second effect.
//!
//! # Layout
//! - [`scheme`]: a loyalty scheme's join API (Midas's merchants): `POST /schemes/{scheme}/join`,
//!   scripted by the credentials' email (`ok@`, `fail-503@`, `flaky-2@`, `exists@`, `weak@`,
//!   `slow@`, `delay-700@`, `callback@`, `callback-error@`, `never@`), and `GET /schemes/{scheme}/joins`.
//! - [`identity`]: the identity service matching asks who a card's holder is (Hermes):
//!   `POST /payment_cards/accounts/payment_card_user_info/{scheme}`, scripted by the token
//!   (`none-`, `fail-NNN-`, `flaky-N-`), and `GET /payment_cards/lookups`.
//! - [`merchants`]: loyalty merchants' transaction APIs, where matching exports its matches:
//!   `POST /merchants/{merchant}/transactions`, failures scripted by `POST
//!   /merchants/{merchant}/failures`, and `GET /merchants/{merchant}/transactions`.
//! - [`marketplace`]: a marketplace's OMS API (orders, items, messages, events), under
//!   `/marketplace`; it calls the OMS's trigger after every event.
//! - [`tracker`]: an issue tracker's REST API (JIRA's shapes), under `/tracker`; it sends its
//!   webhooks on comments and transitions.
//! - [`failures`]: failures scripted on the marketplace and the tracker.
//! - [`delivery`]: the calls the marketplace and the tracker make to Clio, retried as theirs are.
//! - [`kept`]: the marketplace's and the tracker's contents kept in a file across restarts
//!   (`make up`'s sandbox), as the real ones keep theirs.
//! - [`echo`]: any HTTP endpoint: `/echo/...` answers as its `X-Sandbox-*` headers say
//!   (status, Retry-After, fail the first N calls of a key or answer them late), and `GET
//!   /echo-calls` lists calls.

pub mod delivery;
pub mod echo;
pub mod failures;
pub mod identity;
pub mod kept;
pub mod marketplace;
pub mod merchants;
pub mod scheme;
pub mod tracker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio_util::sync::CancellationToken;

/// What the sandbox remembers, shared by its servers.
#[derive(Clone, Default)]
pub struct Sandbox {
    pub joins: Arc<Mutex<scheme::Joins>>,
    pub calls: Arc<Mutex<echo::Calls>>,
    pub lookups: Arc<Mutex<identity::Lookups>>,
    pub merchants: Arc<Mutex<merchants::Merchants>>,
    pub marketplace: Arc<Mutex<marketplace::Marketplace>>,
    pub tracker: Arc<Mutex<tracker::Tracker>>,
    pub http: reqwest::Client,
    /// The file the marketplace and the tracker are kept in; none: in memory only.
    pub kept_in: Option<PathBuf>,
}

/// Every sandbox server on one router.
pub fn router(sandbox: Sandbox) -> Router {
    scheme::routes(sandbox.clone())
        .merge(identity::routes(sandbox.clone()))
        .merge(merchants::routes(sandbox.clone()))
        .merge(
            marketplace::routes(sandbox.clone())
                .merge(tracker::routes(sandbox.clone()))
                .layer(axum::middleware::from_fn_with_state(sandbox.clone(), kept::keep)),
        )
        .merge(echo::routes(sandbox))
}

/// Serves an empty sandbox on `listener` until `shutdown`, keeping nothing.
pub async fn serve(listener: tokio::net::TcpListener, shutdown: CancellationToken) -> std::io::Result<()> {
    serve_sandbox(listener, Sandbox::default(), shutdown).await
}

/// Serves `sandbox` (a kept one: [`kept::load`]) on `listener` until `shutdown`.
pub async fn serve_sandbox(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    tracing::info!(address = ?listener.local_addr().ok(), kept_in = ?sandbox.kept_in, "sandbox listening");
    axum::serve(listener, router(sandbox)).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
