//! Given/when/then helpers.

use novij_events::{AnyEvent, Envelope, Event, EventMeta};

/// An event as a consumer reads it: written, then decoded through the upcasters.
pub fn env<E: Event>(payload: E) -> AnyEvent {
    any(Envelope::new(payload, EventMeta::new("test")))
}

/// [`env`] of a whole envelope (an event id of its own, say).
pub fn any<E: Event>(envelope: Envelope<E>) -> AnyEvent {
    let raw = serde_json::to_value(envelope).expect("encode");
    AnyEvent::decode(serde_json::from_value(raw).expect("raw envelope")).expect("decode")
}
