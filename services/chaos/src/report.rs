//! The report of a run, as Markdown: printed, and written to `chaos/report.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::checks::Check;
use crate::faults::Done;
use crate::workload::Produced;

pub struct Report<'a> {
    pub seed: u64,
    pub layout: &'a str,
    pub asked: Duration,
    pub ran: Duration,
    pub faults: &'a [Done],
    pub produced: &'a Produced,
    pub checks: &'a [Check],
    pub platform_log: &'a PlatformLog,
    /// Whether `clio up` stopped cleanly on SIGTERM at the end.
    pub stopped_cleanly: bool,
}

impl Report<'_> {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed) && self.stopped_cleanly
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(md, "# Chaos run: {verdict}\n");
        let _ = writeln!(
            md,
            "- seed: {} (again: `make chaos SEED={} DURATION={}s LAYOUT={}`)",
            self.seed,
            self.seed,
            self.asked.as_secs(),
            self.layout
        );
        let _ = writeln!(md, "- layout: {}", self.layout);
        let _ = writeln!(md, "- duration: {} asked, workload ran {:.0} s", humane(self.asked), self.ran.as_secs_f64());
        let _ = writeln!(
            md,
            "\n## Faults\n\nRecovery: from the fault until the gateway's /ready answered 200, and until the \
             workload's transfers were being finalized in the read model again.\n\n\
             | fault | times | ready p50 | ready max | flowing p50 | flowing max |\n|---|---|---|---|---|---|"
        );
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ready: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut flowing: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for done in self.faults {
            let kind = done.fault.kind();
            *counts.entry(kind).or_default() += 1;
            if let Some(recovery) = done.recovery {
                ready.entry(kind).or_default().push(recovery.as_secs_f64());
            }
            if let Some(f) = done.flowing {
                flowing.entry(kind).or_default().push(f.as_secs_f64());
            }
        }
        for (kind, n) in &counts {
            let (ready_p50, ready_max) = quantiles(ready.get_mut(kind));
            let (flowing_p50, flowing_max) = quantiles(flowing.get_mut(kind));
            let _ = writeln!(md, "| {kind} | {n} | {ready_p50} | {ready_max} | {flowing_p50} | {flowing_max} |");
        }
        let _ = writeln!(md, "\nIn order (seconds into the run):");
        for done in self.faults {
            let recovery = match (done.recovery, done.flowing) {
                (Some(r), Some(f)) => {
                    format!(", ready in {:.1} s, flowing in {:.1} s", r.as_secs_f64(), f.as_secs_f64())
                }
                (Some(r), None) => format!(", ready in {:.1} s, transfers not flowing within 2 min", r.as_secs_f64()),
                _ => String::new(),
            };
            let target = if done.target.is_empty() { String::new() } else { format!(" ({})", done.target) };
            let _ = writeln!(md, "- {:.1} s: {}{target}{recovery}", done.at, done.fault);
            for what in &done.restarted {
                let _ = writeln!(md, "  - then: {what}; started again");
            }
        }
        let p = self.produced;
        let _ = writeln!(md, "\n## Workload\n");
        let _ = writeln!(
            md,
            "- ledger: {} transfers prepared, {} finalized (debtor {}, {} holders)",
            p.ledger.prepared.len(),
            p.ledger.finalized.len(),
            crate::workload::ledger::DEMO.debtor_id,
            crate::workload::ledger::DEMO.accounts
        );
        let _ = writeln!(
            md,
            "- retry: {} joins through the gateway, {} HTTP tasks",
            p.retry.joins.len(),
            p.retry.http.len()
        );
        let expected = p.matching.payments.iter().filter(|(_, _, must)| *must).count();
        let _ = writeln!(
            md,
            "- matching: {} imports (Visa auths, Costa, Iceland) of {} payments ({expected} must match), {} imports run again after a failure",
            3 * p.matching.batches,
            p.matching.payments.len(),
            p.matching.imports_rerun
        );
        let _ = writeln!(
            md,
            "- orders: {} placed, {} issues worked by a provider",
            p.orders.orders.len(),
            p.orders.worked.len()
        );
        let _ = writeln!(md, "- bad records on purpose: {}", p.bad.len());
        let _ = writeln!(md, "\n## Checks\n\n| check | result | found |\n|---|---|---|");
        for check in self.checks {
            let result = if check.passed { "passed" } else { "**FAILED**" };
            let _ = writeln!(md, "| {} | {result} | {} |", check.name, check.detail.replace('|', "\\|"));
        }
        let stop = if self.stopped_cleanly { "passed" } else { "**FAILED**" };
        let _ = writeln!(md, "| the platform stops cleanly on SIGTERM | {stop} | |");
        let _ = writeln!(md, "\n## What the platform's log says\n\n(`platform.log` beside this report)\n");
        for (what, n) in self.platform_log.counts() {
            let _ = writeln!(md, "- {what}: {n}");
        }
        md
    }
}

/// The platform's log (every process of it, every run), and what it says about the runtime's
/// recovery paths.
pub struct PlatformLog {
    pub text: String,
}

impl PlatformLog {
    /// Lines of the runtime worth counting: (what they mean, a phrase the line contains).
    const NOTABLE: [(&'static str, &'static str); 5] = [
        ("batches a processor left to its partitions' new owner (fenced)", "batch left to the partitions' owner"),
        ("batches that failed and were read again", "batch failed; restoring and retrying"),
        ("restores that found events written twice and folded them once", "were folded once"),
        ("partial outcomes found by a restore", "found a partial outcome"),
        ("partitions restored", "partition restored"),
    ];

    /// Reads it; an unreadable log reads as empty (the counts then say nothing happened).
    pub fn read(path: &std::path::Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_default();
        Self { text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        Self::NOTABLE
            .iter()
            .map(|(what, phrase)| (*what, self.text.lines().filter(|l| l.contains(phrase)).count()))
            .collect()
    }
}

/// The median and the maximum of `times` (seconds), as the report shows them.
fn quantiles(times: Option<&mut Vec<f64>>) -> (String, String) {
    let Some(times) = times.filter(|t| !t.is_empty()) else { return ("-".into(), "-".into()) };
    times.sort_by(f64::total_cmp);
    (format!("{:.1} s", times[times.len() / 2]), format!("{:.1} s", times[times.len() - 1]))
}

fn humane(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) { format!("{} min", seconds / 60) } else { format!("{seconds} s") }
}
