//! docs/integrators.md followed word for word: every `sh` block of the guide, in order, in one
//! shell, against a `clio up` of its own (what `make up` runs), on the test broker and a fresh
//! database. Only the guide's step-0 variables are set from outside (addresses, the debtor).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clio_testkit::harness::{TestEnv, test_database_url};
use clio_testkit::platform::{free_port, stops_cleanly};

/// The guide's shell blocks, joined in order.
fn guide_script() -> String {
    let guide = std::fs::read_to_string(crate::repo_root().join("docs/integrators.md")).expect("the guide");
    let mut script = String::from("set -euo pipefail\n");
    let mut inside = false;
    for line in guide.lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, text) => {
                script.push_str(text);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

#[test]
fn the_guide_has_shell_blocks_for_the_cli_python_and_curl() {
    let script = guide_script();
    for used in ["clio produce", "SerializingProducer", "AvroSerializer", "curl -sf $GATEWAY/v1/topics", "psql"] {
        assert!(script.contains(used), "the guide's commands use {used}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrator_guide_works_word_for_word_against_a_running_platform() {
    let env = TestEnv::start().await.expect("env");
    let database = format!("clio_guide_{}", std::process::id());
    let server = test_database_url().rsplit_once('/').expect("a database URL").0.to_string();
    let database_url = format!("{server}/{database}");
    let (registry_port, http_port) = (free_port(), free_port());
    let gateway = format!("http://127.0.0.1:{http_port}");
    let clio = PathBuf::from(env!("CARGO_BIN_EXE_clio"));
    let target_dir = clio.parent().and_then(Path::parent).expect("target/debug/clio").to_path_buf();

    let mut platform = tokio::process::Command::new(&clio)
        .arg("up")
        .current_dir(crate::repo_root())
        .env("CLIO_BROKERS", &env.kafka.brokers)
        .env("CLIO_DATABASE_URL", &database_url)
        .env("CLIO_REGISTRY_ADDR", format!("127.0.0.1:{registry_port}"))
        .env("CLIO_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("CLIO_SANDBOX_ADDR", "")
        .env("CLIO_DEMO", "0")
        .kill_on_drop(true)
        .spawn()
        .expect("clio up starts");
    let http = reqwest::Client::new();
    let up = clio_testkit::records::eventually(180, async || {
        http.get(format!("{gateway}/ready")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "clio up became ready");

    let debtor = 4_200_000_000
        + std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 1_000_000_000;
    let started = Instant::now();
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(guide_script())
        .current_dir(crate::repo_root())
        .env("CLIO_BROKERS", &env.kafka.brokers)
        .env("CLIO_REGISTRY_URL", format!("http://127.0.0.1:{registry_port}"))
        .env("CLIO_DATABASE_URL", &database_url)
        .env("GATEWAY", &gateway)
        .env("DEBTOR", debtor.to_string())
        .env("CARGO_TARGET_DIR", &target_dir)
        .output();
    let output =
        tokio::time::timeout(Duration::from_secs(600), output).await.expect("the guide finishes").expect("bash runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    eprintln!("the guide's commands took {:.1} s", started.elapsed().as_secs_f64());
    assert!(output.status.success(), "the guide failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}");

    for expected in [
        format!("holder 2 of debtor {debtor} is open: principal 0"),
        "\"creditor_id\":1,\"principal\":750".to_string(),
        "\"creditor_id\":2,\"principal\":250".to_string(),
        "\"acquired_amount\":250".to_string(),
        "\"path\":\"$.debtor_id\"".to_string(),
        "HTTP 422".to_string(),
        format!("debtor {debtor}: 3 accounts, principals 0"),
    ] {
        assert!(stdout.contains(&expected), "expected {expected:?} in the guide's output:\n{stdout}\n{stderr}");
    }

    assert!(stops_cleanly(&mut platform).await, "clio up stops cleanly on SIGTERM");
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).execute(&env.pool).await;
}
