//! Logs and traces.
//!
//! - [`init`]: the tracing subscriber: logs on stderr (JSON or pretty) and,
//!   when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans exported over
//!   OTLP/HTTP (JSON) as the service `novij-<service>`.
//! - [`set_parent`] and [`current_traceparent`]: the W3C trace context an
//!   event carries across a NATS hop, read into a span and out of one.
//!
//! Span attributes are names of things (an operation, a consumer, a Bot API
//! method), never ids, chats or text.

mod export;

use std::collections::HashMap;

use novij_config::LogFormat;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

/// Keeps the span exporter running; dropping it sends what is left.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("traces: the last spans were not sent: {e}");
            }
        }
    }
}

/// Installs the subscriber: logs, and spans to `otlp_endpoint` (its
/// `/v1/traces`) when given. Call once, inside the Tokio runtime.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>, service: &str) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn"));
    let provider = otlp_endpoint.map(|endpoint| export::provider(endpoint, &format!("novij-{service}"))).transpose()?;
    let traces = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("novij-telegram")));
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // A second init (tests that start a service twice) keeps the first.
    let _ = match format {
        LogFormat::Json => registry.with(logs.json().flatten_event(true)).try_init(),
        LogFormat::Pretty => registry.with(logs).try_init(),
    };
    Ok(Telemetry { provider })
}

/// Makes `span` a child of the span a `traceparent` names (the hop before).
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else { return };
    let carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        // Fails only when no subscriber records spans: then there is nothing to link.
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent` of the current span, when spans are exported: what an
/// event appended now carries to the next hop.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span = span.span_context();
    span.is_valid().then(|| format!("00-{}-{}-{:02x}", span.trace_id(), span.span_id(), span.trace_flags().to_u8()))
}
