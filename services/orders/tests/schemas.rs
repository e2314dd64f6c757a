//! The Rust types cannot drift from the Avro schemas in `schemas/orders/`, and the catalogue's
//! orders topics carry exactly the domain's records.

use clio_aggregate::RecordSet as _;
use clio_orders::messages::{OrdersCommand, OrdersEvent, derived_schemas};

fn schemas_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/orders")
}

#[test]
fn every_record_matches_its_avsc_file() {
    clio_testkit::schemas::assert_types_match_files(&schemas_dir(), &derived_schemas());
}

#[test]
fn the_catalogue_lists_exactly_the_domains_records() {
    let catalogue = clio_runtime::catalogue::Catalogue::load(&schemas_dir().join("..")).expect("catalogue");
    catalogue.check_records("orders.commands", OrdersCommand::RECORDS).expect("commands");
    catalogue.check_records("orders.events", OrdersEvent::RECORDS).expect("events");
}
