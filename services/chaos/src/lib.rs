//! `make chaos`: the whole platform as a user runs it (`clio up` with every domain, or scaled
//! out as `clio run` parts; a broker and a Postgres server of its own; the sandbox's outside
//! servers) under a steady workload on every domain, while a fault driver SIGKILLs the
//! platform's processes, the broker and Postgres and takes the outside servers down or makes
//! them slow, at moments drawn from a seed printed at the start. Then, once everything
//! has caught up, the checks DESIGN.md promises: nothing lost, nothing doubled, every read
//! model equal to a rebuild from the log. The report goes to standard output and
//! `chaos/report.md`.
//!
//! # Layout
//! - [`settings`]: the run's duration, seed and fault pace (flags or `CLIO_CHAOS_*`).
//! - [`platform`]: the platform's processes: `clio up`, or scaled out as `clio run` parts.
//! - [`postgres`]: the run's own Postgres server, killable.
//! - [`stage`]: Postgres, the broker, `clio up` and the sandbox's servers, started, supervised
//!   and stopped.
//! - [`faults`]: the plan drawn from the seed, and carrying it out with recovery times.
//! - [`workload`]: the ledger, retry, matching and orders workloads, and records made bad on
//!   purpose; each writes down what the platform acknowledged.
//! - [`checks`]: the checks on the log, the read models and the sandbox's servers.
//! - [`report`]: the Markdown report.

pub mod checks;
pub mod faults;
pub mod platform;
pub mod postgres;
pub mod report;
pub mod settings;
pub mod stage;
pub mod workload;

use std::time::Instant;

use anyhow::Context as _;
use clio_runtime::settings::KafkaSettings;
use tokio_util::sync::CancellationToken;

use crate::checks::Check;
use crate::faults::Plan;
use crate::settings::ChaosSettings;
use crate::stage::Stage;
use crate::workload::{Produced, Target};

/// Bad records produced before the workload starts and again after the faults.
const BAD_RECORDS: usize = 2;

/// One run: its report, written to `settings.report`; whether every check passed.
pub async fn run(settings: &ChaosSettings) -> anyhow::Result<bool> {
    let seed = settings.seed.unwrap_or_else(rand::random);
    let plan = Plan::draw(seed, settings.duration, settings.fault_gap_seconds, settings.minimum());
    eprintln!(
        "chaos: seed {seed}; {:?} of workload, {} faults planned; starting the platform",
        settings.duration,
        plan.faults.len()
    );
    let mut stage = Stage::start(settings.layout).await?;
    let target = Target {
        gateway: stage.up.gateway_url.clone(),
        sandbox: stage.sandbox.url(),
        kafka: KafkaSettings::for_brokers(stage.up.brokers.clone()),
        registry: stage.up.registry_url.clone(),
        database_url: stage.up.database_url.clone(),
        pool: stage.up.pool().await,
    };
    let files = stage.broker.data.join("files");
    let mut failures: Vec<Check> = Vec::new();

    let started = Instant::now();
    let mut bad = workload::bad::produce(&target, "start", BAD_RECORDS).await?;
    let stop = CancellationToken::new();
    eprintln!("chaos: workload started; faults from now on");
    let minimum = settings.minimum().total();
    let deadline = started + settings.duration;
    // The faults, then the rest of the duration; the workload runs alongside until then.
    let faults_then_stop = async {
        let done = faults::run(&mut stage, &target.pool, &plan, started, deadline, minimum).await;
        if let Some(left) = deadline.checked_duration_since(Instant::now()) {
            tokio::time::sleep(left).await;
        }
        stop.cancel();
        done
    };
    let (faults, (mut produced, workload_failures)) =
        tokio::join!(faults_then_stop, run_workload(&target, &files, stop.clone()));
    let faults = match faults {
        Ok(done) => done,
        Err(error) => {
            failures.push(Check::new("faults: the platform recovered", false, format!("{error:#}")));
            Vec::new()
        }
    };
    let kills = |kind: &str| faults.iter().filter(|d| d.fault.kind() == kind).count() as u32;
    let made = faults::Minimum {
        platform: kills("SIGKILL clio"),
        broker: kills("SIGKILL the broker"),
        postgres: kills("SIGKILL Postgres"),
    };
    let asked = settings.minimum();
    let enough = made.platform >= asked.platform && made.broker >= asked.broker && made.postgres >= asked.postgres;
    let detail = format!(
        "the platform's processes killed {} times, the broker {}, Postgres {} (at least {}, {} and {} asked)",
        made.platform, made.broker, made.postgres, asked.platform, asked.broker, asked.postgres
    );
    failures.push(Check::new("faults: the minimum kills made", enough, detail));
    let died: Vec<String> =
        faults.iter().flat_map(|d| d.restarted.iter().map(|r| format!("after {}: {r}", d.fault))).collect();
    let detail = if died.is_empty() { "none".to_string() } else { died.join("; ") };
    failures.push(Check::new("faults: nothing died but what was killed", died.is_empty(), detail));
    failures.extend(workload_failures);
    let ran = started.elapsed();
    bad.extend(workload::bad::produce(&target, "end", BAD_RECORDS).await?);
    produced.bad = bad;
    eprintln!(
        "chaos: workload stopped after {:.0} s; waiting for the platform to catch up, then the checks",
        ran.as_secs_f64()
    );

    let mut checks = failures;
    checks.extend(checks::run(&target, &produced, settings.settle).await);
    target.pool.close().await;
    let keep = !checks.iter().all(|c| c.passed);
    let platform_log = report::PlatformLog::read(stage.up.log_path());
    let log_copy = settings.report.with_file_name("platform.log");
    let stopped_cleanly = stage.stop(keep).await;
    let layout = match settings.layout {
        platform::Layout::Up => "up",
        platform::Layout::Scaled => "scaled",
    };
    let report = report::Report {
        seed,
        layout,
        asked: settings.duration,
        ran,
        faults: &faults,
        produced: &produced,
        checks: &checks,
        platform_log: &platform_log,
        stopped_cleanly,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(dir) = settings.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&settings.report, &markdown).with_context(|| format!("writing {}", settings.report.display()))?;
    std::fs::write(&log_copy, &platform_log.text).with_context(|| format!("writing {}", log_copy.display()))?;
    eprintln!("chaos: report written to {} (the platform's log beside it)", settings.report.display());
    Ok(report.passed())
}

/// Every workload at once until `stop`; what each had acknowledged, and a failed check for
/// each that gave up.
async fn run_workload(target: &Target, files: &std::path::Path, stop: CancellationToken) -> (Produced, Vec<Check>) {
    let (ledger, retry, matching, orders) = tokio::join!(
        workload::ledger::run(target, stop.clone()),
        workload::retry::run(target, stop.clone()),
        workload::matching::run(target, files, stop.clone()),
        workload::orders::run(target, stop.clone()),
    );
    let mut failures = Vec::new();
    let mut keep = |name: &str, error: anyhow::Error| {
        failures.push(Check::new(&format!("workload: {name}"), false, format!("gave up: {error:#}")));
    };
    let mut produced = Produced::default();
    match ledger {
        Ok(journal) => produced.ledger = journal,
        Err(error) => keep("ledger", error),
    }
    match retry {
        Ok(sent) => produced.retry = sent,
        Err(error) => keep("retry", error),
    }
    match matching {
        Ok(sent) => produced.matching = sent,
        Err(error) => keep("matching", error),
    }
    match orders {
        Ok(sent) => produced.orders = sent,
        Err(error) => keep("orders", error),
    }
    (produced, failures)
}
