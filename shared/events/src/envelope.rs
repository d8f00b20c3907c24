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
    pub fn new(correlation_id: impl Into<String>) -> Self {
        Self { correlation_id: correlation_id.into(), causation_id: None, trace: None }
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
