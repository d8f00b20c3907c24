//! Upcasters: turn an old payload version into the current one before decoding.
//!
//! Every payload is at version 1 today, so the table is empty. When a payload
//! changes shape, bump its `VERSION`, and add a step here from the old version.

use serde_json::Value;

/// Brings `payload` of `event_type` from `version` to the current version.
pub fn upcast(event_type: &str, version: u16, payload: Value) -> Result<Value, (String, u16)> {
    match (event_type, version) {
        (_, 1) => Ok(payload),
        _ => Err((event_type.to_string(), version)),
    }
}
