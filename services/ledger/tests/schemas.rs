//! The Rust types cannot drift from the Avro schemas in `schemas/ledger/`.

use apache_avro::{AvroSchema, Schema};
use clio_ledger::messages::*;

fn schema_text(record: &str) -> String {
    let path = format!("{}/../../schemas/ledger/{record}.avsc", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The file's canonical form with logical types reduced to their plain type, which is what
/// the Rust types (i64 micros, i32 days) derive.
fn plain_canonical_form(record: &str) -> String {
    let schema = Schema::parse_str(&schema_text(record)).unwrap_or_else(|e| panic!("{record}: {e}"));
    schema.canonical_form().replace(r#"{"type":"long"}"#, r#""long""#).replace(r#"{"type":"int"}"#, r#""int""#)
}

/// Timestamps are `timestamp-micros` and dates `date`, by the protocol's field names.
fn assert_logical_types(record: &str) {
    let json: serde_json::Value = serde_json::from_str(&schema_text(record)).expect("json");
    for field in json["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
        let logical = field["type"]["logicalType"].as_str();
        let expected = if name == "creation_date" {
            Some("date")
        } else if name == "ts" || name.ends_with("_ts") || name.ends_with("_at") || name == "deadline" {
            Some("timestamp-micros")
        } else {
            None
        };
        assert_eq!(logical, expected, "{record}.{name}");
    }
}

#[test]
fn every_message_type_matches_its_avsc_file() {
    let derived = [
        ("ConfigureAccount", ConfigureAccount::get_schema()),
        ("PrepareTransfer", PrepareTransfer::get_schema()),
        ("FinalizeTransfer", FinalizeTransfer::get_schema()),
        ("PendingBalanceChange", PendingBalanceChange::get_schema()),
        ("VerifyRecipient", VerifyRecipient::get_schema()),
        ("RecipientVerified", RecipientVerified::get_schema()),
        ("RejectedConfig", RejectedConfig::get_schema()),
        ("RejectedTransfer", RejectedTransfer::get_schema()),
        ("PreparedTransfer", PreparedTransfer::get_schema()),
        ("FinalizedTransfer", FinalizedTransfer::get_schema()),
        ("AccountUpdate", AccountUpdate::get_schema()),
        ("AccountTransfer", AccountTransfer::get_schema()),
        ("AccountPurge", AccountPurge::get_schema()),
        ("BalanceChanged", BalanceChanged::get_schema()),
        ("MaintainAccount", MaintainAccount::get_schema()),
        ("BalanceChangeSent", BalanceChangeSent::get_schema()),
        ("AccountStatus", AccountStatus::get_schema()),
    ];
    let files = std::fs::read_dir(format!("{}/../../schemas/ledger", env!("CARGO_MANIFEST_DIR")))
        .expect("schemas/ledger")
        .count();
    assert_eq!(files, derived.len(), "every .avsc file has a Rust type");
    for (name, schema) in derived {
        assert_eq!(schema.canonical_form(), plain_canonical_form(name), "{name} drifted from its .avsc");
        assert_logical_types(name);
    }
}
