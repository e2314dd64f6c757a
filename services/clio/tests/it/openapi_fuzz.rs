//! The gateway under an OpenAPI-driven fuzzer: schemathesis reads `/openapi.json` of a `clio
//! up` of its own and sends what the document allows and what it does not, for a bounded time
//! (CLIO_API_FUZZ_SECONDS, 60 by default). No answer may be a 5xx, and every answer must be
//! one the document lists for its operation, with the content type and body it declares.

use clio_testkit::platform::{ClioUp, OwnBroker, stops_cleanly};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let broker = OwnBroker::start("apifuzz").await;
    let up = ClioUp::new(&broker).await;
    let mut platform = up.spawn();
    assert!(up.ready(200, 180).await, "clio up became ready");
    let seconds = std::env::var("CLIO_API_FUZZ_SECONDS").unwrap_or_else(|_| "60".into());
    let python = clio_testkit::tools::installed("CLIO_PYTHON", "infra/python-env.sh");
    let report = broker.data.join("schemathesis.xml");
    let output = tokio::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "run", &format!("{}/openapi.json", up.gateway_url)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-time", &seconds, "--workers", "2", "--request-timeout", "30"])
        .args(["--seed", "20261207", "--no-color", "--report", "junit"])
        .arg("--report-junit-path")
        .arg(&report)
        // The interactive output would wait for a terminal that is not there.
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "schemathesis found failures:\n{stdout}\n{stderr}");
    // It did test: every operation of the document was exercised.
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(stops_cleanly(&mut platform).await, "clio up stopped cleanly");
    up.drop_database().await;
}
