//! The ledger's plug into the platform: what runs beside its pure core (`clio-ledger`) and its
//! read models (`clio-ledger-projection`), with I/O. The `clio` binary wires these in.
//!
//! # Layout
//! - [`scan`]: the ledger's clock: finds accounts whose time-driven work may be due in the read
//!   models and sends each a `MaintainAccount` (`clio ledger scan`, hourly in `clio up`).
//! - [`demo`]: demo data (`clio seed`) and the demo stream of transfers (`clio up --demo`).
//! - [`audit`]: conservation of money per debtor, from the log (`clio ledger audit`).

pub mod audit;
pub mod demo;
pub mod scan;
