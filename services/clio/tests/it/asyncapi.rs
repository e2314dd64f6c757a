//! The checked-in AsyncAPI document, validated by the official AsyncAPI parser (npm) with its
//! Avro schema parser: zero errors, zero warnings.

/// The npm tools (the AsyncAPI parser, its Avro parser, the React component).
pub(crate) fn tools() -> String {
    crate::installed("CLIO_ASYNCAPI_TOOLS", "infra/asyncapi-tools.sh")
}

#[test]
fn the_official_parser_finds_no_error_and_no_warning_in_the_asyncapi_document() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let output = std::process::Command::new("node")
        .current_dir(root)
        .arg("asyncapi/validate.mjs")
        .arg("asyncapi/asyncapi.yaml")
        .env("CLIO_ASYNCAPI_TOOLS", tools())
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the parser reported problems:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let catalogue =
        clio_runtime::catalogue::Catalogue::load(&std::path::Path::new(root).join("schemas")).expect("catalogue");
    // One message per record, however many topics carry it (the retry domain's TaskOutcome
    // answers on every requesting domain's commands topic); a topic without Avro records
    // (snapshots, dead letters) has one message of its own.
    let records: std::collections::BTreeSet<&String> = catalogue.topics.iter().flat_map(|t| &t.values).collect();
    let messages = records.len() + catalogue.topics.iter().filter(|t| t.values.is_empty()).count();
    let expected = format!("{} channels, {messages} messages, 0 errors or warnings", catalogue.topics.len());
    assert!(report.contains(&expected), "expected {expected:?} in {report}");
    assert!(!report.contains("info asyncapi-latest-version"), "{report}");
}
