//! The `clio` command line: one binary that runs the whole platform (`clio up`) or any part of
//! it alone (`clio run <part>`), and the tools around it (topics, schemas, produce, consume).
//!
//! # Layout
//! - [`domains`]: the one list of plugged domains; it drives everything below.
//! - [`cli`]: the commands and their settings (every flag also reads a `CLIO_*` variable), with
//!   each domain's commands and settings added.
//! - [`dispatch`]: runs a parsed command line, handing `clio <domain> ...` to its domain.
//! - [`setup`]: the database, topics and schema registration that `up` performs and that
//!   `topics create` / `schemas register` expose.
//! - [`records`]: `produce` (JSON in, Avro out) and `consume` (Avro in, JSON out).
//! - [`console`]: the platform's sections of the gateway's `/console/` (topics, lag, dead
//!   letters), before each domain's.
//! - [`dlq`]: `dlq list|show|replay`: dead letters and their repair.
//! - [`keys`]: `keys create|list|revoke`, and the keys a gateway or registry checks (none: only
//!   on loopback).
//! - [`lag`]: where each processor stands (its group's commits against the end).
//! - [`metrics`]: what the gateway's `/metrics` reads at each scrape: read-model lag, dead
//!   letters, each domain's figures.
//! - [`projections`]: the read models this build knows, `projections status` and `rebuild`.
//! - [`platform`]: `up` and `run`: the registry, the gateway, processors and projectors as tasks
//!   under one shutdown token.

pub mod cli;
pub mod console;
pub mod dispatch;
pub mod dlq;
pub mod domains;
pub mod keys;
pub mod lag;
pub mod metrics;
pub mod platform;
pub mod projections;
pub mod records;
pub mod setup;

/// Parses the command line, runs it on a multi-threaded runtime, and maps errors to exit codes.
pub fn main() -> std::process::ExitCode {
    let domains = domains::plugged();
    let matches = cli::command(&domains).get_matches();
    clio_runtime::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(dispatch::dispatch(&domains, matches));
    clio_runtime::telemetry::flush();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
