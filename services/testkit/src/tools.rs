//! What tests outside the `clio` package need to run the platform as a user does: the
//! repository's root, the `clio` binary, and the tools the infra scripts install.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The root of the repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `clio` binary of this build: `CLIO_BIN`, else `clio` beside the test binary
/// (`<target>/<profile>/clio`; a workspace test run builds it for the `clio` package's own
/// tests), built with cargo when it is not there.
pub fn clio_binary() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("CLIO_BIN") {
                return PathBuf::from(path);
            }
            let exe = std::env::current_exe().expect("the test binary's path");
            // <target>/<profile>/deps/<test binary>
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("a target directory");
            let binary = profile_dir.join("clio");
            if !binary.exists() {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let mut build = std::process::Command::new(cargo);
                build.current_dir(repo_root()).args(["build", "--quiet", "-p", "clio", "--bin", "clio"]);
                if let Some(target_dir) = profile_dir.parent() {
                    build.env("CARGO_TARGET_DIR", target_dir);
                }
                if profile_dir.file_name().is_some_and(|name| name == "release") {
                    build.arg("--release");
                }
                let status = build.status().expect("cargo runs");
                assert!(status.success(), "building the clio binary failed");
            }
            binary
        })
        .clone()
}

/// What an infra script installs when missing and prints (a tool's path or directory):
/// `variable` when `make test` already set it, else the script's answer.
pub fn installed(variable: &str, script: &str) -> String {
    if let Ok(value) = std::env::var(variable) {
        return value;
    }
    let output = std::process::Command::new("bash").arg(repo_root().join(script)).output().expect("the script runs");
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
