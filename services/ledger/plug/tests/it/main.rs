//! The ledger as users meet it: commands produced to a real broker (nisshi), decided by its
//! processor, its read model in a real Postgres, its routes, its commands on the `clio` binary,
//! and the clients integrators use (the CLI, kafkajs, Confluent's Python client), on a stack of
//! the test's own (clio_testkit::stack) or on `clio up` itself.

mod cli;
mod fence;
mod gateway;
mod ledger;
mod node;
mod outage;
mod python;
