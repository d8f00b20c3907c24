//! A log message of any bytes, decoded through the upcasters: an event or a
//! decode error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novij_events::AnyEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = AnyEvent::from_slice(data) {
        assert_eq!(event.head().event_type, event.event_type());
    }
});
