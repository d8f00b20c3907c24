//! Identifier formats. Ids are subject tokens, so they are `[a-z0-9_]` only.

use uuid::Uuid;

/// A new random id with a type prefix, e.g. `int_3f2a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// An id derived from a keyed hash (hex), e.g. a send id from its idempotency key.
pub fn derived_id(prefix: &str, keyed_hash_hex: &str) -> String {
    let len = keyed_hash_hex.len().min(32);
    format!("{prefix}_{}", &keyed_hash_hex[..len])
}

/// A deterministic event id for an event caused by `cause` (an event id, an
/// update key): the same cause and purpose always give the same id.
pub fn caused_event_id(cause: &str, purpose: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("novij-telegram/{cause}/{purpose}").as_bytes())
}

/// True when `id` has the prefix and only subject-safe characters.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_')).is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub const INTEGRATION: &str = "int";
pub const SEND: &str = "snd";
pub const RECIPIENT: &str = "rcp";
pub const CONNECT_CODE: &str = "cc";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let a = new_id(INTEGRATION);
        assert!(is_valid(INTEGRATION, &a), "{a}");
        assert_ne!(a, new_id(INTEGRATION));
    }

    #[test]
    fn invalid_ids_are_rejected() {
        for bad in ["int_", "snd_abc", "int_ABC", "int_a.b", "int_a b", "int_>", "intabc"] {
            assert!(!is_valid(INTEGRATION, bad), "{bad}");
        }
    }
}
