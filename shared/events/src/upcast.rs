//! Upcasters: bring an older payload version to the current one before it is
//! decoded. Every reader decodes through [`crate::catalogue::decode_as`] or
//! [`crate::AnyEvent::decode`], and so through here.
//!
//! When a payload changes shape, bump its `VERSION` and add the step from the
//! old version to [`step`]. A version above the reader's is not guessed at: it
//! was written by a newer release, and the reader must stop rather than skip.

use serde_json::Value;

use crate::send::FailureReason;
use crate::DecodeError;

/// Brings `payload` of `event_type` from `version` to `current`.
pub(crate) fn upcast(event_type: &str, version: u16, current: u16, mut payload: Value) -> Result<Value, DecodeError> {
    if version > current {
        return Err(DecodeError::NewerVersion { event_type: event_type.to_string(), version, known: current });
    }
    if version == 0 {
        return Err(DecodeError::UnknownVersion(event_type.to_string(), version));
    }
    for from in version..current {
        payload = step(event_type, from, payload)?;
    }
    Ok(payload)
}

/// One version step: `from` → `from + 1`.
fn step(event_type: &str, from: u16, payload: Value) -> Result<Value, DecodeError> {
    match (event_type, from) {
        // v2 narrows `reason` from any string to the closed FailureReason.
        ("send.failed" | "send.dead_lettered", 1) => known_failure_reason(event_type, payload),
        _ => Err(DecodeError::UnknownVersion(event_type.to_string(), from)),
    }
}

/// Every reason v1 wrote is a FailureReason label; anything else is refused
/// by name rather than decoded into a wrong meaning.
fn known_failure_reason(event_type: &str, payload: Value) -> Result<Value, DecodeError> {
    let reason = payload.get("reason").and_then(Value::as_str).unwrap_or_default();
    reason.parse::<FailureReason>().map_err(|e| DecodeError::Upcast {
        event_type: event_type.to_string(),
        version: 1,
        detail: e.to_string(),
    })?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_v1_failure_keeps_its_reason_and_an_unknown_one_is_named() {
        let v1 = json!({ "send_id": "snd_1", "reason": "recipient_blocked", "detail": "Forbidden", "attempts": 1 });
        assert_eq!(upcast("send.failed", 1, 2, v1.clone()).unwrap(), v1);
        let odd = json!({ "send_id": "snd_1", "reason": "teleported", "detail": "", "attempts": 1 });
        let err = upcast("send.failed", 1, 2, odd).unwrap_err();
        assert!(err.to_string().contains("teleported"), "{err}");
    }

    #[test]
    fn a_newer_version_is_refused_not_guessed() {
        let err = upcast("send.failed", 3, 2, json!({})).unwrap_err();
        assert!(matches!(err, DecodeError::NewerVersion { version: 3, known: 2, .. }), "{err}");
        assert!(err.written_by_newer_release());
        assert!(matches!(upcast("send.sent", 0, 1, json!({})), Err(DecodeError::UnknownVersion(_, 0))));
    }
}
