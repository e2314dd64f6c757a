//! The checked-in AsyncAPI document, validated by the official AsyncAPI parser (npm) with its
//! Avro schema parser: zero errors, zero warnings.

pub(crate) fn tools() -> String {
    if let Ok(dir) = std::env::var("CLIO_ASYNCAPI_TOOLS") {
        return dir;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/asyncapi-tools.sh");
    let output = std::process::Command::new("bash").arg(script).output().expect("asyncapi-tools.sh runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
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
    // A topic without Avro records (snapshots, dead letters) has one message of its own.
    let messages: usize = catalogue.topics.iter().map(|t| t.values.len().max(1)).sum();
    let expected = format!("{} channels, {messages} messages, 0 errors or warnings", catalogue.topics.len());
    assert!(report.contains(&expected), "expected {expected:?} in {report}");
    assert!(!report.contains("info asyncapi-latest-version"), "{report}");
}
