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
    let output = tokio::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "run", &format!("{}/openapi.json", up.gateway_url)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-time", &seconds, "--workers", "2", "--request-timeout", "30", "--no-color"])
        .output()
        .await
        .expect("schemathesis runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    // Its seed is in the output: `schemathesis run --seed N` repeats a failing run.
    assert!(output.status.success(), "schemathesis found failures:\n{stdout}\n{stderr}");
    // It did test, every operation of the document.
    let figure = |label: &str| {
        let line = stdout.lines().find_map(|line| line.trim().strip_prefix(label).map(str::trim));
        line.and_then(|rest| rest.split('/').next()).and_then(|n| n.trim().parse::<u32>().ok())
    };
    let (selected, tested) = (figure("Selected:"), figure("Tested:"));
    assert!(selected.is_some_and(|n| n >= 30) && selected == tested, "{stdout}");
    assert!(stops_cleanly(&mut platform).await, "clio up stopped cleanly");
    up.drop_database().await;
}
