//! The services' Prometheus metrics. One recorder per process
//! ([`install`]), rendered on `GET /metrics` ([`render`]): the ingress on
//! its HTTP port, every other service on `METRICS_LISTEN`. Every metric is
//! named here, and its labels come from closed sets (operations, statuses,
//! reasons, Bot API methods, stream and consumer names): never an id, a
//! chat or a text.

use std::sync::OnceLock;

use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct InstallError(String);

/// Installs this process's recorder (once; later calls keep the first).
pub fn install() -> Result<(), InstallError> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| InstallError(e.to_string()))?;
    let _ = HANDLE.set(handle);
    Ok(())
}

/// The metrics in Prometheus's text format (empty before [`install`]).
pub fn render() -> String {
    HANDLE.get().map(PrometheusHandle::render).unwrap_or_default()
}

/// An API request answered (REST or NATS), by operation and status class (`2xx`).
pub fn api_request(operation: &'static str, status: u16) {
    let class = format!("{}xx", status / 100);
    counter!("novij_api_requests_total", "operation" => operation, "status" => class).increment(1);
}

/// A send's outcome as the dispatcher recorded it (`sent`, `failed`,
/// `dead_lettered`, `cancelled`), with the failure's reason when it failed.
pub fn send_outcome(status: &'static str, reason: Option<&'static str>) {
    counter!("novij_sends_total", "status" => status, "reason" => reason.unwrap_or("")).increment(1);
}

/// A Bot API call by method (`sendMessage`) and result (`ok`, or the kind of error).
pub fn bot_api_call(method: &str, result: &'static str) {
    counter!("novij_bot_api_calls_total", "method" => method.to_string(), "result" => result).increment(1);
}

/// A bot paused by Telegram's 429 (`retry_after` seconds).
pub fn bot_paused(seconds: u64) {
    counter!("novij_bot_pauses_total").increment(1);
    counter!("novij_bot_paused_seconds_total").increment(seconds);
}

/// A Relay ledger lookup by result (`found`, `not_found`, `unavailable`, …).
pub fn relay_lookup(result: &'static str) {
    counter!("novij_relay_lookups_total", "result" => result).increment(1);
}

/// A durable consumer's messages not yet delivered and delivered but not acknowledged.
pub fn consumer(stream: &str, consumer: &str, pending: u64, in_flight: u64) {
    let labels = [("stream", stream.to_string()), ("consumer", consumer.to_string())];
    gauge!("novij_consumer_pending", &labels).set(pending as f64);
    gauge!("novij_consumer_in_flight", &labels).set(in_flight as f64);
}

/// How many events of the log the projections have not applied yet.
pub fn projector_lag(events: u64) {
    gauge!("novij_projector_lag_events").set(events as f64);
}

/// Dead letters waiting, by kind (`send`, `inbound`).
pub fn dead_letters(kind: &str, waiting: u64) {
    gauge!("novij_dead_letters", "kind" => kind.to_string()).set(waiting as f64);
}

/// Sends waiting for a dispatcher, by class (`interactive`, `bulk`).
pub fn sends_waiting(class: &str, waiting: u64) {
    gauge!("novij_sends_waiting", "class" => class.to_string()).set(waiting as f64);
}
