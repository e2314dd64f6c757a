//! The retry domain's plug into the platform: what runs beside its pure core (`clio-retry`)
//! and its read models (`clio-retry-projection`), with I/O. [`RetryPlug`] is how the `clio`
//! binary, tests and benchmarks run it.
//!
//! # Layout
//! - [`plug`]: [`RetryPlug`], the retry domain's [`clio_plug::Domain`].
//! - [`worker`]: performs the runs the processor starts and reports their outcomes.
//! - [`handlers`]: what a run does: an HTTP call, Midas's join against a loyalty scheme.
//! - [`orders_handlers`]: the orders domain's calls to a marketplace and an issue tracker.
//! - [`routes`]: tasks for operators, callbacks and the join intake over HTTP.
//! - [`cli`]: `clio retry list|show|cancel|requeue|purge`, and its settings of `clio up`.
//! - [`client`]: producing retry commands.
//! - [`demo`]: demo tasks against the sandbox (`clio seed`, `clio up --demo`).

pub mod cli;
pub mod client;
pub mod demo;
pub mod handlers;
pub mod orders_handlers;
pub mod plug;
pub mod routes;
pub mod worker;

pub use plug::RetryPlug;
