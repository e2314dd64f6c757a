//! The Rust types cannot drift from the Avro schemas in `schemas/ledger/`.

use apache_avro::AvroSchema;
use clio_ledger::messages::*;

fn schemas_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ledger")
}

fn schema_text(record: &str) -> String {
    let path = schemas_dir().join(format!("{record}.avsc"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
    clio_testkit::schemas::assert_types_match_files(&schemas_dir(), &derived);
    for (name, _) in derived {
        assert_logical_types(name);
    }
}
