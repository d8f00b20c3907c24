//! Transaction hashes: 64 lowercase hex characters.

/// Length of a transaction hash in characters.
pub const TX_HASH_LEN: usize = 64;

/// True for exactly 64 lowercase hex characters, the only form the ledger accepts.
pub fn is_valid_tx_hash(s: &str) -> bool {
    s.len() == TX_HASH_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A fresh random hash; two v4 UUIDs give 244 random bits, plenty to never collide in a test.
pub fn new_tx_hash() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_hashes_are_valid_and_distinct() {
        let (a, b) = (new_tx_hash(), new_tx_hash());
        assert!(is_valid_tx_hash(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn only_lowercase_hex_of_the_right_length_is_valid() {
        assert!(is_valid_tx_hash(&"0a".repeat(32)));
        assert!(!is_valid_tx_hash(&"0A".repeat(32)));
        assert!(!is_valid_tx_hash(&"0a".repeat(31)));
        assert!(!is_valid_tx_hash(&format!("{}g", "0".repeat(63))));
        assert!(!is_valid_tx_hash(""));
    }
}
