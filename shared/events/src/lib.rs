//! The contract between the services: the event envelope, every event payload,
//! the NATS subjects they travel on, and the request/reply messages.
//!
//! Each event is defined once here, carries a type name and version, and has a
//! JSON Schema generated into `schemas/`. Services never define payloads of their own.

pub mod api_key;
pub mod broadcast;
pub mod catalogue;
pub mod commands;
pub mod connect;
pub mod dispatch;
pub mod envelope;
pub mod feed;
pub mod ids;
pub mod inbound;
pub mod incident;
pub mod integration;
pub mod labels;
pub mod media;
pub mod money;
pub mod payment;
pub mod recipient;
pub mod rpc;
pub mod send;
pub mod status;
pub mod subjects;
mod upcast;
pub mod update;
pub mod upload;

pub use catalogue::{decode_as, decode_slice_as, AnyEvent, DecodeError};
pub use envelope::{Envelope, EventMeta, RawEnvelope, TraceContext};

/// An event payload: which aggregate it belongs to, its name and version.
pub trait Event: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema {
    /// Aggregate type, the second token of the subject (`nt.ev.<aggregate>…`).
    const AGGREGATE: &'static str;
    /// Past-tense event name, the last subject token.
    const NAME: &'static str;
    /// Payload version; bump it and add an upcaster when the shape changes.
    const VERSION: u16;

    /// The aggregate instance this event belongs to.
    fn aggregate_id(&self) -> &str;

    /// `<aggregate>.<name>`, as written in the envelope.
    fn event_type() -> String {
        format!("{}.{}", Self::AGGREGATE, Self::NAME)
    }
}
