//! A `POST /send` body of any bytes, read as the API reads it: accepted, or
//! refused with a 4xx, and a refusal of a field (422) names the field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err((status, field)) = novij_ingress::check_send_body(data) {
        assert!((400..500).contains(&status), "{status}");
        if status == 422 {
            assert!(field.is_some_and(|f| !f.is_empty()), "a 422 without a field");
        }
    }
});
