//! `GET /metrics` in Prometheus's text format: this process's counters and batch-latency
//! histograms (`clio_runtime::metrics`, from the processors and projectors running in it), and
//! the gauges each plugged [`Source`] reads at every scrape (lag, dead letters, each domain's
//! figures). A source that fails is reported as `clio_metrics_source_up{source} 0`, not as a
//! failed scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use clio_runtime::metrics::label_text;

/// One gauge value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub help: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn new(name: &str, help: &str, labels: &[(&str, &str)], value: f64) -> Self {
        let labels = labels.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect();
        Self { name: name.to_string(), help: help.to_string(), labels, value }
    }
}

/// The future a source's collection is.
pub type Collecting<'a> = Pin<Box<dyn Future<Output = Result<Vec<Sample>, String>> + Send + 'a>>;

/// Gauges read at each scrape.
pub trait Source: Send + Sync {
    fn collect(&self) -> Collecting<'_>;
}

/// The named sources of a gateway.
pub type Sources = Vec<(String, Arc<dyn Source>)>;

/// Serves this process's counters alone at `/metrics` on `listener` until `shutdown` (`clio run
/// <part> --metrics-addr`: a processor or projector outside the gateway's process).
pub async fn serve_process_metrics(
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let router =
        axum::Router::new().route("/metrics", axum::routing::get(|| async { text(clio_runtime::metrics::render()) }));
    tracing::info!(address = ?listener.local_addr().ok(), "metrics listening");
    axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

pub(crate) async fn metrics(State(sources): State<Arc<Sources>>) -> impl IntoResponse {
    let mut text = clio_runtime::metrics::render();
    let mut gauges: BTreeMap<String, (String, Vec<Sample>)> = BTreeMap::new();
    let mut add = |sample: Sample| {
        gauges.entry(sample.name.clone()).or_insert_with(|| (sample.help.clone(), Vec::new())).1.push(sample);
    };
    for (name, source) in sources.iter() {
        let answered = match source.collect().await {
            Ok(samples) => {
                samples.into_iter().for_each(&mut add);
                1.0
            }
            Err(error) => {
                tracing::warn!(source = %name, %error, "a metrics source failed");
                0.0
            }
        };
        let help = "Whether a metrics source answered (1) or not (0).";
        add(Sample::new("clio_metrics_source_up", help, &[("source", name)], answered));
    }
    for (name, (help, samples)) in gauges {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        for sample in samples {
            let _ = writeln!(text, "{name}{} {}", label_text(&sample.labels), sample.value);
        }
    }
    self::text(text)
}
