//! The short chaos run `make test` carries: about two minutes of every domain's workload with
//! at least three SIGKILLs of `clio up` and one of the broker, then every check of `make
//! chaos` (see the crate's docs). The seed is printed; a failed run can be repeated with
//! `make chaos SEED=<seed> DURATION=100s`.

use std::time::Duration;

use clio_chaos::settings::ChaosSettings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_minutes_of_kills_lose_nothing_double_nothing_and_leave_read_models_equal_to_a_rebuild() {
    let report = clio_testkit::harness::state_dir().join(format!("chaos-{}.md", std::process::id()));
    let settings = ChaosSettings {
        layout: clio_chaos::platform::Layout::Up,
        duration: Duration::from_secs(100),
        seed: std::env::var("CLIO_CHAOS_SEED").ok().and_then(|s| s.parse().ok()),
        fault_gap_seconds: 10.0,
        min_platform_kills: 3,
        min_broker_kills: 1,
        min_postgres_kills: 1,
        settle: Duration::from_secs(300),
        report: report.clone(),
    };
    let passed = clio_chaos::run(&settings).await.expect("the chaos run ran");
    let written = std::fs::read_to_string(&report).expect("the report");
    assert!(passed, "{written}");
    assert!(written.contains("| SIGKILL clio |"), "{written}");
    let _ = std::fs::remove_file(report);
}
