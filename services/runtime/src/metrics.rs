//! Process-wide metrics, written in Prometheus's text format by whatever serves `/metrics`:
//! counters and batch-latency histograms that the processor and projector loops update once
//! per batch (a lock per batch, not per record).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

type Labels = Vec<(String, String)>;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    /// By metric name: its help, and its value per label set.
    counters: BTreeMap<&'static str, (&'static str, BTreeMap<Labels, u64>)>,
    histograms: BTreeMap<&'static str, (&'static str, BTreeMap<Labels, Histogram>)>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

fn owned(labels: &[(&str, &str)]) -> Labels {
    labels.iter().map(|(name, value)| ((*name).to_string(), (*value).to_string())).collect()
}

/// Adds `n` to the counter `name` (a `_total`) with `labels`.
pub fn add(name: &'static str, help: &'static str, labels: &[(&str, &str)], n: u64) {
    let mut registry = registry().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_, values) = registry.counters.entry(name).or_insert_with(|| (help, BTreeMap::new()));
    *values.entry(owned(labels)).or_default() += n;
}

/// Records one duration in the histogram `name` (seconds) with `labels`.
pub fn observe(name: &'static str, help: &'static str, labels: &[(&str, &str)], took: Duration) {
    let seconds = took.as_secs_f64();
    let mut registry = registry().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_, values) = registry.histograms.entry(name).or_insert_with(|| (help, BTreeMap::new()));
    let histogram = values.entry(owned(labels)).or_default();
    for (bucket, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
        if seconds <= bound {
            *bucket += 1;
        }
    }
    histogram.count += 1;
    histogram.sum += seconds;
}

/// One label set as Prometheus writes it, `{a="x",b="y"}` (empty for none).
pub fn label_text(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = labels
        .iter()
        .map(|(name, value)| {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{name}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Every counter and histogram of this process.
pub fn render() -> String {
    let registry = registry().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = String::new();
    for (name, (help, values)) in &registry.counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, value) in values {
            let _ = writeln!(out, "{name}{} {value}", label_text(labels));
        }
    }
    for (name, (help, values)) in &registry.histograms {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (labels, histogram) in values {
            for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
                let mut with_le = labels.clone();
                with_le.push(("le".into(), bound.to_string()));
                let _ = writeln!(out, "{name}_bucket{} {count}", label_text(&with_le));
            }
            let mut with_inf = labels.clone();
            with_inf.push(("le".into(), "+Inf".into()));
            let _ = writeln!(out, "{name}_bucket{} {}", label_text(&with_inf), histogram.count);
            let _ = writeln!(out, "{name}_sum{} {}", label_text(labels), histogram.sum);
            let _ = writeln!(out, "{name}_count{} {}", label_text(labels), histogram.count);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_as_prometheus_reads_them() {
        add("clio_test_things_total", "Things.", &[("part", "a\"b")], 2);
        add("clio_test_things_total", "Things.", &[("part", "a\"b")], 3);
        observe("clio_test_batch_seconds", "Batches.", &[("part", "x")], Duration::from_millis(30));
        let text = render();
        assert!(text.contains("# TYPE clio_test_things_total counter\n"), "{text}");
        assert!(text.contains("clio_test_things_total{part=\"a\\\"b\"} 5\n"), "{text}");
        assert!(text.contains("clio_test_batch_seconds_bucket{part=\"x\",le=\"0.025\"} 0\n"), "{text}");
        assert!(text.contains("clio_test_batch_seconds_bucket{part=\"x\",le=\"0.05\"} 1\n"), "{text}");
        assert!(text.contains("clio_test_batch_seconds_bucket{part=\"x\",le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("clio_test_batch_seconds_count{part=\"x\"} 1\n"), "{text}");
    }
}
