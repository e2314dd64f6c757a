//! The Rust types cannot drift from the Avro schemas in `schemas/orders/`, and the catalogue's
//! orders topics carry exactly the domain's records.

use clio_orders::messages::derived_schemas;
use clio_testkit::schemas::{assert_catalogue_lists, assert_types_match_files, domain_dir};

#[test]
fn every_record_matches_its_avsc_file() {
    assert_types_match_files(&domain_dir("orders"), &derived_schemas());
}

#[test]
fn the_catalogue_lists_exactly_the_domains_records() {
    assert_catalogue_lists::<clio_orders::entity::Orders>();
}
