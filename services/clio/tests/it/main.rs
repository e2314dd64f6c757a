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
mod node;
mod outage;
mod python;
mod registry;

/// The root of the repository.
fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What an infra script installs when missing and prints (a tool's path or directory):
/// `variable` when `make test` already set it, else the script's answer.
fn installed(variable: &str, script: &str) -> String {
    if let Ok(value) = std::env::var(variable) {
        return value;
    }
    let output = std::process::Command::new("bash").arg(repo_root().join(script)).output().expect("the script runs");
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
