//! Transaction hashes: 64 lowercase hex characters.

pub use novij_relay_client::is_valid_tx_hash;

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
}
