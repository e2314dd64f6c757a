//! Tracing set-up and W3C trace context.
//!
//! Logs: `RUST_LOG` filters (default `info`), `CLIO_LOG_FORMAT=json` for machines.
//!
//! Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
//! spans are also exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the
//! default, or `http/json`), as service `OTEL_SERVICE_NAME` (default `clio`). The gateway, the
//! processors and the projectors each open a span per record that continues the record's
//! `traceparent` header and write their own span's context on what they produce, so one trace
//! shows a request from the HTTP call to the read model. Without an exporter the header is
//! passed through unchanged.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Where spans go. Read from the standard OpenTelemetry variables by [`init`].
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// A full OTLP/HTTP traces URL (`…/v1/traces`); `None` exports nothing.
    pub traces_endpoint: Option<String>,
    /// OTLP/JSON instead of protobuf.
    pub json: bool,
    pub service_name: String,
}

impl Export {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let traces_endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        });
        let protocol = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"));
        Self {
            traces_endpoint,
            json: protocol.as_deref() == Some("http/json"),
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| "clio".into()),
        }
    }
}

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber once, exporting spans as the environment says; later calls
/// do nothing.
pub fn init() {
    init_with(Export::from_env());
}

/// [`init`] with the export given rather than read from the environment.
pub fn init_with(export: Export) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn,sqlx=warn"));
    let json = std::env::var("CLIO_LOG_FORMAT").is_ok_and(|f| f == "json");
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json { fmt.json().boxed() } else { fmt.boxed() };
    let otel = export.traces_endpoint.as_ref().and_then(|endpoint| match provider(endpoint, &export) {
        Ok(provider) => {
            let tracer = provider.tracer("clio");
            let _ = PROVIDER.set(provider);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        }
        Err(error) => {
            eprintln!("traces will not be exported: {error}");
            None
        }
    });
    let _ = tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init();
}

fn provider(endpoint: &str, export: &Export) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let protocol =
        if export.json { opentelemetry_otlp::Protocol::HttpJson } else { opentelemetry_otlp::Protocol::HttpBinary };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(protocol)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(export.service_name.clone()).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Whether spans are exported. Per-record spans are only worth their cost when they are.
pub fn exporting() -> bool {
    PROVIDER.get().is_some()
}

/// Sends the spans not yet exported (at shutdown, so the last requests are not lost).
pub fn flush() {
    if let Some(Err(error)) = PROVIDER.get().map(SdkTracerProvider::force_flush) {
        tracing::warn!(%error, "flushing spans failed");
    }
}

/// Makes `span` continue the trace of a record's or a request's `traceparent`, if it has one.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else { return };
    let carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent` to write on records produced inside `span`: the span's own context when
/// spans are exported, otherwise the one that came in.
pub fn traceparent_of(span: &Span, incoming: Option<&str>) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return incoming.map(str::to_string);
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent").or_else(|| incoming.map(str::to_string))
}
