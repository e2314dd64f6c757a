//! The ledger's plug into the platform: what runs beside its pure core (`clio-ledger`) and its
//! read models (`clio-ledger-projection`), with I/O. [`LedgerPlug`] is how the `clio` binary
//! (and tests, and benchmarks) run the ledger.
//!
//! # Layout
//! - [`plug`]: [`LedgerPlug`], the ledger's [`clio_plug::Domain`]: its processor, read model,
//!   routes, commands, clock and demo, in one place.
//! - [`routes`]: the read models over HTTP and the accounts service's fetch API.
//! - [`cli`]: `clio ledger audit|scan`, and the ledger's settings of `clio up` and `clio seed`.
//! - [`scan`]: the ledger's clock: finds accounts whose time-driven work may be due in the read
//!   models and sends each a `MaintainAccount` (`clio ledger scan`, hourly in `clio up`).
//! - [`demo`]: demo data (`clio seed`) and the demo stream of transfers (`clio up --demo`).
//! - [`audit`]: conservation of money per debtor, from the log (`clio ledger audit`).

pub mod audit;
pub mod cli;
pub mod demo;
pub mod plug;
pub mod routes;
pub mod scan;

pub use plug::LedgerPlug;
