//! Clio's integration tests: one test binary, a module per concern, each test against a real
//! broker (nisshi) and a real Postgres (see clio_testkit::harness). The processor runtime's
//! own tests live beside its conformance domain, in services/testkit/tests.

mod asyncapi;
mod cli;
mod codec;
mod docs;
mod gateway;
mod guide;
mod ledger;
mod python;
mod registry;
