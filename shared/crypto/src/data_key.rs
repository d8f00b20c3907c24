//! Data keys: one random key per temporary payload, kept apart from the data
//! (wrapped by the master key ring). Deleting a data key makes every copy of
//! its payload unreadable, including the one in the append-only event log.

use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{aead, Binding, KeyringError, Sealed};

/// `Sealed::kid` of values sealed with a data key: `dk:<key id>`.
pub const DATA_KEY_KID_PREFIX: &str = "dk:";

pub struct DataKey {
    id: String,
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    /// A fresh random key named `id`, and its raw bytes (to be wrapped and stored).
    pub fn generate(id: &str) -> Result<(DataKey, [u8; 32]), KeyringError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| KeyringError::Random)?;
        Ok((Self::from_bytes(id, &bytes)?, bytes))
    }

    pub fn from_bytes(id: &str, bytes: &[u8]) -> Result<DataKey, KeyringError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyringError::BadKey { kid: id.to_string() })?;
        Ok(DataKey { id: id.to_string(), key: LessSafeKey::new(unbound), rng: SystemRandom::new() })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Sealed, KeyringError> {
        aead::seal(
            &self.key,
            &self.rng,
            &format!("{DATA_KEY_KID_PREFIX}{}", self.id),
            Binding::Purpose(purpose),
            plaintext,
        )
    }

    pub fn open(&self, purpose: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
        if data_key_id(sealed) != Some(self.id.as_str()) {
            return Err(KeyringError::UnknownKid { kid: sealed.kid.clone() });
        }
        aead::open(&self.key, Binding::Purpose(purpose), sealed)
    }
}

/// The data key a value was sealed with, if it was sealed with one.
pub fn data_key_id(sealed: &Sealed) -> Option<&str> {
    sealed.kid.strip_prefix(DATA_KEY_KID_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_key_opens_only_its_own_values() {
        let (key, bytes) = DataKey::generate("p1").unwrap();
        let sealed = key.seal("outgoing_message", b"hello").unwrap();
        assert_eq!(sealed.kid, "dk:p1");
        assert_eq!(data_key_id(&sealed), Some("p1"));
        let again = DataKey::from_bytes("p1", &bytes).unwrap();
        assert_eq!(again.open("outgoing_message", &sealed).unwrap(), b"hello");
        assert_eq!(again.open("chat_id", &sealed), Err(KeyringError::Open));
        let (other, _) = DataKey::generate("p2").unwrap();
        assert!(matches!(other.open("outgoing_message", &sealed), Err(KeyringError::UnknownKid { .. })));
    }
}
