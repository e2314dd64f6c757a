//! Test support shared by Clio's integration tests.
//!
//! # Layout
//! - [`tally`]: a small conformance domain for the runtime (counters with deposits and
//!   transfers): multi-event outcomes, commands to other partitions, idempotency keys, and a
//!   command that makes the domain panic. Its schemas are in `services/testkit/schemas/`.
//! - [`tally_model`]: the tally's read model (counters and movements), a conformance model
//!   for the projection runtime; its migrations are in `services/testkit/read-model/`.
//! - [`harness`]: a real broker (nisshi, started once and shared by all test processes), the
//!   test database, an in-process schema registry, unique topic names.
//! - [`queries`]: every read-model query of a domain prepares against its migrated tables.
//! - [`records`]: producing records and reading whole topics back.
//! - [`running`]: the tally's processor inside a test, and tally commands.
//! - [`stack`]: any plugged domain on the real broker and Postgres under a prefix of the
//!   test's own (topics, schemas, processor, projectors, its routes on a gateway).
//! - [`platform`]: `clio up` as a child process to kill and start again, on a broker of a
//!   test's own (killable too).
//! - [`tally_plug`]: the tally plugged in as any domain is, with a route of its own.
//! - [`tools`]: the repository's root, the `clio` binary, and tools the infra scripts install.
//! - [`scenario`]: `given(events).when(command).then(events)` and a world of entities, over
//!   any aggregate, with no I/O.
//! - [`schemas`]: Rust record types checked against their .avsc files, for any domain.

pub mod harness;
pub mod platform;
pub mod queries;
pub mod records;
pub mod running;
pub mod scenario;
pub mod schemas;
pub mod stack;
pub mod tally;
pub mod tally_model;
pub mod tally_plug;
pub mod tools;
