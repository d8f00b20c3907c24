//! The names of the bucket's entries that are not payloads' data keys:
//! retired master keys and lasting data keys, each named after a master key.

/// Entries that hold a retired master key.
pub(crate) const RETIRED_PREFIX: &str = "retired-";
/// Entries that hold the data key sealing the log's values under a master
/// key (one per master key).
pub(crate) const LASTING_PREFIX: &str = "lasting-";

/// `<prefix><kid in hex>`: a key id may hold any character.
pub(crate) fn entry_of(prefix: &str, kid: &str) -> String {
    let hex: String = kid.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// The entry of retired master key `kid`.
pub(crate) fn retired_entry(kid: &str) -> String {
    entry_of(RETIRED_PREFIX, kid)
}

/// The master key an entry `<prefix><hex>` is named after.
pub(crate) fn kid_of(prefix: &str, entry: &str) -> Option<String> {
    let hex = entry.strip_prefix(prefix)?;
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_key_is_named_by_its_id_in_hex() {
        assert_eq!(retired_entry("k1"), "retired-6b31");
        assert_eq!(kid_of(RETIRED_PREFIX, "retired-6b31").as_deref(), Some("k1"));
        assert_eq!(kid_of(RETIRED_PREFIX, &retired_entry("2026/01 key")).as_deref(), Some("2026/01 key"));
        assert_eq!(kid_of(RETIRED_PREFIX, "retired-6"), None);
        assert_eq!(kid_of(RETIRED_PREFIX, "t0f3a"), None);
        assert_eq!(entry_of(LASTING_PREFIX, "k2"), "lasting-6b32");
    }
}
