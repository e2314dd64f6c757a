//! The report of a run, as Markdown: printed, and written to `chaos/report.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::checks::Check;
use crate::faults::Done;
use crate::workload::Produced;

pub struct Report<'a> {
    pub seed: u64,
    pub asked: Duration,
    pub ran: Duration,
    pub faults: &'a [Done],
    pub produced: &'a Produced,
    pub checks: &'a [Check],
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
            "- seed: {} (again: `make chaos SEED={} DURATION={}s`)",
            self.seed,
            self.seed,
            self.asked.as_secs()
        );
        let _ = writeln!(md, "- duration: {} asked, workload ran {:.0} s", humane(self.asked), self.ran.as_secs_f64());
        let _ = writeln!(md, "\n## Faults\n\n| fault | times | recovery p50 | recovery max |\n|---|---|---|---|");
        let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for done in self.faults {
            *counts.entry(done.fault.kind()).or_default() += 1;
            if let Some(recovery) = done.recovery {
                by_kind.entry(done.fault.kind()).or_default().push(recovery.as_secs_f64());
            }
        }
        for (kind, n) in &counts {
            let (p50, max) = by_kind.get_mut(kind).map_or((None, None), |times| {
                times.sort_by(f64::total_cmp);
                (times.get(times.len() / 2).copied(), times.last().copied())
            });
            let seconds = |t: Option<f64>| t.map_or("-".into(), |t| format!("{t:.1} s"));
            let _ = writeln!(md, "| {kind} | {n} | {} | {} |", seconds(p50), seconds(max));
        }
        let _ = writeln!(md, "\nIn order (seconds into the run):");
        for done in self.faults {
            let recovery = done.recovery.map_or(String::new(), |r| format!(", recovered in {:.1} s", r.as_secs_f64()));
            let _ = writeln!(md, "- {:.1} s: {}{recovery}", done.at, done.fault);
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
        let expected = p.matching.payments.iter().filter(|(_, must)| *must).count();
        let _ = writeln!(
            md,
            "- matching: {} imports of {} payments ({expected} must match), {} imports run again after a failure",
            2 * p.matching.batches,
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
        let _ = writeln!(md, "| clio up stops cleanly on SIGTERM | {stop} | |");
        md
    }
}

fn humane(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) { format!("{} min", seconds / 60) } else { format!("{seconds} s") }
}
