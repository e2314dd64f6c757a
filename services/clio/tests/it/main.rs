//! Clio's integration tests: one test binary, a module per concern, each test against a real
//! broker (nisshi) and a real Postgres (see clio_testkit::harness). The processor runtime's
//! own tests live beside its conformance domain, in services/testkit/tests; each domain's
//! tests beside its plug (services/<domain>/plug/tests).

mod asyncapi;
mod codec;
mod console;
mod dead_letters;
mod docs;
mod guide;
mod kafka_properties;
mod keys;
mod openapi_fuzz;
mod plugged;
mod registry;

use clio_testkit::tools::{installed, repo_root};
