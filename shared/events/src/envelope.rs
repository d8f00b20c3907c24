//! The envelope every event is wrapped in on the log.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;

/// W3C trace context carried across NATS hops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TraceContext {
    pub traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// A `traceparent` for this hop: it continues `incoming` when that is a
    /// valid W3C `traceparent` (same trace id and flags, a new span id), and
    /// starts a new sampled trace otherwise.
    pub fn continue_or_start(incoming: Option<&str>) -> TraceContext {
        let span = &Uuid::new_v4().simple().to_string()[..16];
        let traceparent = match incoming.and_then(parse_traceparent) {
            Some((trace_id, flags)) => format!("00-{trace_id}-{span}-{flags}"),
            None => format!("00-{}-{span}-01", Uuid::new_v4().simple()),
        };
        TraceContext { traceparent, tracestate: None }
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        self.traceparent.get(3..35).unwrap_or_default()
    }
}

/// `(trace id, flags)` of a version-00 `traceparent`, if it is well formed.
fn parse_traceparent(value: &str) -> Option<(&str, &str)> {
    let mut parts = value.trim().split('-');
    let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    (parts.next().is_none()
        && version == "00"
        && hex(trace_id, 32)
        && nonzero(trace_id)
        && hex(span_id, 16)
        && nonzero(span_id)
        && hex(flags, 2))
    .then_some((trace_id, flags))
}

/// Who caused an event: the correlation id of the whole flow (an HTTP request,
/// a Telegram update) and the id of the event that directly caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventMeta {
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceContext>,
}

impl EventMeta {
    /// Metadata of a flow's first event; it starts a trace.
    pub fn new(correlation_id: impl Into<String>) -> Self {
        Self::continuing(correlation_id, None)
    }

    /// Metadata of a flow's first event, continuing the caller's `traceparent`.
    pub fn continuing(correlation_id: impl Into<String>, traceparent: Option<&str>) -> Self {
        Self {
            correlation_id: correlation_id.into(),
            causation_id: None,
            trace: Some(TraceContext::continue_or_start(traceparent)),
        }
    }

    /// Metadata for an event caused by `cause`: same correlation, causation = its id.
    pub fn caused_by<P>(cause: &Envelope<P>) -> Self {
        Self {
            correlation_id: cause.correlation_id.clone(),
            causation_id: Some(cause.event_id.to_string()),
            trace: cause.trace.clone(),
        }
    }
}

/// An event as stored on the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<P> {
    pub event_id: Uuid,
    /// `<aggregate>.<name>`, e.g. `send.accepted`.
    pub event_type: String,
    pub version: u16,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceContext>,
    pub payload: P,
}

/// An envelope whose payload has not been decoded yet.
pub type RawEnvelope = Envelope<serde_json::Value>;

impl<P: Event> Envelope<P> {
    pub fn new(payload: P, meta: EventMeta) -> Self {
        Self {
            event_id: Uuid::new_v4(),
            event_type: P::event_type(),
            version: P::VERSION,
            aggregate_type: P::AGGREGATE.to_string(),
            aggregate_id: payload.aggregate_id().to_string(),
            occurred_at: Utc::now(),
            correlation_id: meta.correlation_id,
            causation_id: meta.causation_id,
            trace: meta.trace,
            payload,
        }
    }
}

impl<P> Envelope<P> {
    /// Replaces the random event id with a deterministic one, so a consumer that
    /// handles the same cause twice produces an event JetStream deduplicates.
    pub fn with_event_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    pub fn map<Q>(self, payload: Q) -> Envelope<Q> {
        Envelope {
            event_id: self.event_id,
            event_type: self.event_type,
            version: self.version,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            trace: self.trace,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_continued_and_anything_else_starts_a_trace() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let next = TraceContext::continue_or_start(Some(incoming));
        assert_eq!(next.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(next.traceparent, incoming, "a new span id for this hop");
        assert!(next.traceparent.ends_with("-01"));
        for bad in [
            "",
            "garbage",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            let started = TraceContext::continue_or_start(Some(bad));
            assert_eq!(started.trace_id().len(), 32);
            assert_ne!(started.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert!(parse_traceparent(&started.traceparent).is_some(), "{}", started.traceparent);
        }
    }
}
