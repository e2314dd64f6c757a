//! What a domain plugs into the platform, and where it lives.
//!
//! The platform crates (runtime, projection runtime, gateway, the `clio` binary, testkit) name
//! no domain: the `clio` binary holds one list of [`Domain`]s, and that list drives `clio up`,
//! `clio run`, `clio <domain> ...`, `clio seed`, the gateway's routes and OpenAPI document, and
//! projection status and rebuild. A domain implements [`Domain`] in its plug crate
//! (`services/<domain>/plug`), beside its pure core.
//!
//! # Layout
//! - [`domain`]: the [`Domain`] trait; [`CoreOf`], any aggregate's core as the platform runs
//!   it; [`Worker`] and [`Resources`] for its routes, clocks and workers.
//! - [`gauge`]: a domain's figure for `/metrics`, read with one SQL statement.
//! - [`panel`]: a domain's section of `/console/`, read with one SQL statement.
//! - [`home`]: [`Home`]: the names of a domain's topics, consumer groups and read-model schemas;
//!   the domain's own name in production, a prefix of their own in tests and benchmarks.
//! - [`progress`]: the progress bar long work draws.
//! - [`provision`]: a domain's topics created and its schemas registered under a home.
//! - [`send`]: one command produced to a domain's commands topic, keyed by its entity.

pub mod domain;
pub mod gauge;
pub mod home;
pub mod panel;
pub mod progress;
pub mod provision;
pub mod send;

pub use clio_gateway::routes::Routes;
pub use domain::{Core, CoreOf, Domain, Resources, Task, Worker, find, routes_of};
pub use home::Home;
pub use progress::progress_bar;
pub use send::send_command;

/// Microseconds since the epoch, now: the `ts` of a command a route or tool sends.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Who runs a `clio <tool> ...` command, for the audit: the user, and the tool.
pub fn cli_operator(tool: &str) -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "someone".into());
    format!("{user} (clio {tool})")
}
