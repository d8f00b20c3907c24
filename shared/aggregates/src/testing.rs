//! Given/when/then helpers.

use novij_events::{AnyEvent, Envelope, Event, EventMeta};

/// An event as a consumer reads it: written, then decoded through the upcasters.
pub fn env<E: Event>(payload: E) -> AnyEvent {
    let raw = serde_json::to_value(Envelope::new(payload, EventMeta::new("test"))).expect("encode");
    AnyEvent::decode(serde_json::from_value(raw).expect("raw envelope")).expect("decode")
}
