//! What the registry stores and answers: entries and verifications, and the
//! rules an entry must meet (docs/REGISTRY.md).

use serde_json::{Map, Value};

use crate::error::RegistryError;

/// Longest `service_id`, in characters (a DNS name's limit).
pub const MAX_SERVICE_ID_CHARS: usize = 253;
/// Longest `kind`, `name`, `version` and `wallet_id`, in characters.
pub const MAX_TEXT_CHARS: usize = 128;

/// The fields of an entry, in the order they are checked and reported.
const FIELDS: [&str; 8] =
    ["service_id", "kind", "name", "version", "base_url", "manifest_url", "health_url", "wallet_id"];

// The registry's wire types are the client's: one definition of the contract.
pub use novij_registry_client::{Entry, Registered as ServiceEntry, Verification, VerificationStatus};

pub fn is_valid_service_id(id: &str) -> bool {
    (1..=MAX_SERVICE_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
}

fn check_text(field: &str, value: &str) -> Result<(), RegistryError> {
    if (1..=MAX_TEXT_CHARS).contains(&value.chars().count()) {
        return Ok(());
    }
    Err(RegistryError::invalid(field, format!("{field} must be 1-{MAX_TEXT_CHARS} characters")))
}

/// An http(s) URL with a host, written out as `scheme://`. The URL parser
/// forgives whitespace, control characters and `https:host` or backslashes and
/// repairs them; those are refused, so the stored text is the URL fetched.
fn check_url(field: &str, value: &str) -> Result<(), RegistryError> {
    let refuse = || RegistryError::invalid(field, format!("{field} must be an http or https URL with a host"));
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    let url = url::Url::parse(value).map_err(|_| refuse())?;
    let scheme = url.scheme();
    let spelled_out = value.get(..scheme.len() + 3).is_some_and(|p| p.eq_ignore_ascii_case(&format!("{scheme}://")));
    if !matches!(scheme, "http" | "https") || !spelled_out || url.host_str().is_none_or(str::is_empty) {
        return Err(refuse());
    }
    Ok(())
}

/// Checks every field of `entry` against the contract's rules, naming the first one at fault.
pub fn validate(entry: &Entry) -> Result<(), RegistryError> {
    if !is_valid_service_id(&entry.service_id) {
        return Err(RegistryError::invalid(
            "service_id",
            format!("service_id must be 1-{MAX_SERVICE_ID_CHARS} characters from a-z 0-9 . -"),
        ));
    }
    check_text("kind", &entry.kind)?;
    check_text("name", &entry.name)?;
    check_text("version", &entry.version)?;
    check_url("base_url", &entry.base_url)?;
    check_url("manifest_url", &entry.manifest_url)?;
    check_url("health_url", &entry.health_url)?;
    if let Some(wallet_id) = &entry.wallet_id {
        check_text("wallet_id", wallet_id)?;
    }
    Ok(())
}

/// Reads and validates an entry from a request body's JSON object. Every
/// refusal names its field: an unknown field, a missing one, a wrong type
/// or a value out of the rules. A missing `wallet_id` means none.
pub fn entry_from_json(object: &Map<String, Value>) -> Result<Entry, RegistryError> {
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(RegistryError::invalid(unknown, format!("an entry has no field {unknown:?}")));
    }
    let text = |field: &str| match object.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None => Err(RegistryError::invalid(field, format!("{field} is required"))),
        Some(_) => Err(RegistryError::invalid(field, format!("{field} must be a string"))),
    };
    let wallet_id = match object.get("wallet_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(RegistryError::invalid("wallet_id", "wallet_id must be a string or null")),
    };
    let entry = Entry {
        service_id: text("service_id")?,
        kind: text("kind")?,
        name: text("name")?,
        version: text("version")?,
        base_url: text("base_url")?,
        manifest_url: text("manifest_url")?,
        health_url: text("health_url")?,
        wallet_id,
    };
    validate(&entry)?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Value {
        json!({
            "service_id": "telegram.example.com", "kind": "telegram-delivery", "name": "novij-telegram",
            "version": "0.1.0", "base_url": "https://telegram.example.com",
            "manifest_url": "https://telegram.example.com/.well-known/novij/service",
            "health_url": "http://telegram.example.com:8080/.well-known/novij/service-health",
            "wallet_id": "svc_wallet"
        })
    }

    fn parse(value: Value) -> Result<Entry, RegistryError> {
        entry_from_json(value.as_object().expect("an object"))
    }

    /// The field a refusal names, asserting it is an invalid_entry.
    fn refused_field(value: Value) -> String {
        let e = parse(value).expect_err("refused");
        assert_eq!((e.status(), e.code()), (400, "invalid_entry"), "{e}");
        e.field().expect("a field").to_string()
    }

    fn with(field: &str, value: Value) -> Value {
        let mut entry = sample();
        entry[field] = value;
        entry
    }

    fn without(field: &str) -> Value {
        let mut entry = sample();
        entry.as_object_mut().expect("an object").remove(field);
        entry
    }

    #[test]
    fn the_documented_entry_is_valid() {
        let entry = parse(sample()).expect("valid");
        assert_eq!(entry.wallet_id.as_deref(), Some("svc_wallet"));
        assert_eq!(serde_json::to_value(&entry).expect("serializes"), sample());
    }

    #[test]
    fn wallet_id_may_be_null_or_missing() {
        assert_eq!(parse(with("wallet_id", Value::Null)).expect("valid").wallet_id, None);
        assert_eq!(parse(without("wallet_id")).expect("valid").wallet_id, None);
    }

    #[test]
    fn service_ids_are_1_to_253_of_lowercase_digits_dots_and_dashes() {
        for good in ["a", "0", "a-b.c-0", "-.", &"a".repeat(253)] {
            assert!(is_valid_service_id(good), "{good}");
        }
        for bad in ["", "A", "a_b", "a/b", "a b", "é", &"a".repeat(254)] {
            assert!(!is_valid_service_id(bad), "{bad}");
            assert_eq!(refused_field(with("service_id", json!(bad))), "service_id", "{bad}");
        }
    }

    #[test]
    fn texts_are_1_to_128_characters() {
        for field in ["kind", "name", "version", "wallet_id"] {
            assert!(parse(with(field, json!("x".repeat(128)))).is_ok(), "{field}");
            assert!(parse(with(field, json!("é".repeat(128)))).is_ok(), "{field}: characters, not bytes");
            assert_eq!(refused_field(with(field, json!(""))), field);
            assert_eq!(refused_field(with(field, json!("x".repeat(129)))), field);
            assert_eq!(refused_field(with(field, json!(5))), field);
        }
        for field in ["kind", "name", "version"] {
            assert_eq!(refused_field(with(field, Value::Null)), field, "only wallet_id may be null");
        }
    }

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        for field in ["base_url", "manifest_url", "health_url"] {
            assert!(parse(with(field, json!("http://127.0.0.1:9/x?y=1"))).is_ok(), "{field}");
            for bad in [
                "",
                "telegram.example.com",
                "ftp://example.com",
                "file:///etc/passwd",
                "http://",
                "https:x",
                " https://example.com",
                "https://exa mple.com",
                "https://example.com/\n",
                "mailto:a@example.com",
                "https:\\\\example.com",
                "http:/example.com",
                "HTTP:example.com",
            ] {
                assert_eq!(refused_field(with(field, json!(bad))), field, "{field}: {bad:?}");
            }
        }
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        for field in FIELDS.iter().filter(|f| **f != "wallet_id") {
            assert_eq!(refused_field(without(field)), *field);
        }
        assert_eq!(refused_field(with("openapi_url", json!("https://example.com"))), "openapi_url");
        assert_eq!(refused_field(with("registered_at", json!("2024-01-01T00:00:00Z"))), "registered_at");
    }

    #[test]
    fn validation_names_the_first_field_in_contract_order() {
        let mut entry = sample();
        entry["version"] = json!("");
        entry["health_url"] = json!("nope");
        assert_eq!(refused_field(entry), "version");
    }

    #[test]
    fn an_answered_entry_flattens_the_entry_and_shows_no_verification_as_null() {
        let at =
            chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").expect("a time").with_timezone(&chrono::Utc);
        let answered = ServiceEntry {
            entry: parse(with("wallet_id", Value::Null)).expect("valid"),
            registered_at: at,
            updated_at: at,
            last_verification: None,
        };
        let value = serde_json::to_value(&answered).expect("serializes");
        assert_eq!(value["wallet_id"], Value::Null);
        assert_eq!(value["last_verification"], Value::Null);
        assert_eq!(value["registered_at"], "2024-05-01T10:00:00Z");
        assert_eq!(value["service_id"], "telegram.example.com");
        let status = serde_json::to_value(VerificationStatus::Unreachable).expect("serializes");
        assert_eq!(status, "unreachable");
    }
}
