//! The key ring: master keys by id, sealing, opening and keyed hashing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::{aead, Binding, Sealed, DATA_KEY_KID_PREFIX};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("key ring spec is empty; expected `kid:base64key[,kid:base64key…]`")]
    Empty,
    #[error("key entry {0} is not `kid:base64key`")]
    Malformed(usize),
    #[error("key {kid} is not 32 bytes of base64")]
    BadKey { kid: String },
    #[error("key id {kid} appears twice")]
    DuplicateKid { kid: String },
    #[error("no key with id {kid} in the ring")]
    UnknownKid { kid: String },
    #[error("ciphertext could not be opened (wrong key, purpose or tampered data)")]
    Open,
    #[error("system random source failed")]
    Random,
}

struct Key {
    kid: String,
    aead: LessSafeKey,
    /// The key's bytes, for wrapping it when it is retired (`keys rotate`).
    bytes: Vec<u8>,
}

/// Master keys by id; the first one seals new data. Keyed hashes use the
/// lookup key, which does not rotate with them: every id and lookup derived
/// from a hash must stay the same across a rotation.
///
/// Retired master keys (no longer configured, kept wrapped by the current
/// one) only open what they sealed before; [`Keyring::with_retired`] adds them.
///
/// Values are sealed with a data key ([`Keyring::with_data_key`]) when the
/// ring has one that seals: master keys then only wrap data keys
/// ([`Keyring::wrap`]), which a rotation re-wraps.
pub struct Keyring {
    keys: Vec<Key>,
    /// How many of `keys` are configured; the rest are retired.
    configured: usize,
    /// Data keys by `dk:<id>`, and the one that seals values, if any.
    data_keys: Vec<Key>,
    sealing: Option<usize>,
    lookup: hmac::Key,
    /// The lookup key's bytes, for pinning it (`keys lookup-key`).
    lookup_seed: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("Keyring").field("kids", &kids).finish()
    }
}

/// A keyed hash (HMAC-SHA256, hex) used to look values up without storing them.
pub type KeyHash = String;

impl Keyring {
    /// Parses `kid:base64key[,kid:base64key…]`; the first entry is the current key.
    pub fn parse(spec: &str) -> Result<Self, KeyringError> {
        let mut keys: Vec<Key> = Vec::new();
        let mut lookup_seed = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (kid, b64) = entry.split_once(':').ok_or(KeyringError::Malformed(i + 1))?;
            let kid = kid.trim();
            if kid.is_empty() {
                return Err(KeyringError::Malformed(i + 1));
            }
            let bytes = B64
                .decode(b64.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| KeyringError::BadKey { kid: kid.to_string() })?;
            if keys.iter().any(|k| k.kid == kid) {
                return Err(KeyringError::DuplicateKid { kid: kid.to_string() });
            }
            let unbound =
                UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KeyringError::BadKey { kid: kid.to_string() })?;
            if keys.is_empty() {
                // Without a lookup key of its own, the ring's first key's
                // derived one (what every release before it used).
                let seed = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &bytes), b"novij/keyed-hash/v1");
                lookup_seed = seed.as_ref().to_vec();
            }
            keys.push(Key { kid: kid.to_string(), aead: LessSafeKey::new(unbound), bytes });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let lookup = hmac::Key::new(hmac::HMAC_SHA256, &lookup_seed);
        Ok(Self {
            configured: keys.len(),
            keys,
            data_keys: Vec::new(),
            sealing: None,
            lookup,
            lookup_seed,
            rng: SystemRandom::new(),
        })
    }

    /// The ring with a retired master key, which opens what it sealed and
    /// seals nothing. A key still configured is not added twice.
    pub fn with_retired(mut self, kid: &str, bytes: &[u8]) -> Result<Self, KeyringError> {
        if self.keys.iter().any(|k| k.kid == kid) {
            return Ok(self);
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyringError::BadKey { kid: kid.to_string() })?;
        self.keys.push(Key { kid: kid.to_string(), aead: LessSafeKey::new(unbound), bytes: bytes.to_vec() });
        Ok(self)
    }

    /// The ring with data key `id`, which opens what it sealed and, if
    /// `seals`, seals every value from now on.
    pub fn with_data_key(mut self, id: &str, bytes: &[u8], seals: bool) -> Result<Self, KeyringError> {
        let kid = format!("{DATA_KEY_KID_PREFIX}{id}");
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyringError::BadKey { kid: kid.clone() })?;
        let index = match self.data_keys.iter().position(|k| k.kid == kid) {
            Some(index) => index,
            None => {
                self.data_keys.push(Key { kid, aead: LessSafeKey::new(unbound), bytes: bytes.to_vec() });
                self.data_keys.len() - 1
            }
        };
        if seals {
            self.sealing = Some(index);
        }
        Ok(self)
    }

    /// The ids of the configured master keys, the current one first.
    pub fn configured_kids(&self) -> Vec<&str> {
        self.keys[..self.configured].iter().map(|k| k.kid.as_str()).collect()
    }

    /// Every key but the current one (configured or retired) with its bytes:
    /// what a rotation keeps, wrapped by the current key.
    pub fn older_keys(&self) -> Vec<(&str, &[u8])> {
        self.keys[1..].iter().map(|k| (k.kid.as_str(), k.bytes.as_slice())).collect()
    }

    /// The ring with its own lookup key (base64 of 32 bytes, `NOVIJ_LOOKUP_KEY`).
    pub fn with_lookup_key(mut self, base64_key: &str) -> Result<Self, KeyringError> {
        let kid = "lookup".to_string();
        let bytes = B64.decode(base64_key.trim()).ok().filter(|b| b.len() == 32).ok_or(KeyringError::BadKey { kid })?;
        self.lookup = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        self.lookup_seed = bytes;
        Ok(self)
    }

    /// The lookup key in use, base64: what `NOVIJ_LOOKUP_KEY` pins before a rotation.
    pub fn lookup_key(&self) -> String {
        B64.encode(&self.lookup_seed)
    }

    /// Generates a fresh `kid:base64key` spec (for set-up scripts and tests).
    pub fn generate_spec(kid: &str) -> Result<String, KeyringError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| KeyringError::Random)?;
        Ok(format!("{kid}:{}", B64.encode(bytes)))
    }

    pub fn current_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Seals `plaintext` for `purpose` (bound as associated data) with the current key.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Sealed, KeyringError> {
        self.seal_as(Binding::Purpose(purpose), plaintext)
    }

    pub fn seal_str(&self, purpose: &str, plaintext: &str) -> Result<Sealed, KeyringError> {
        self.seal(purpose, plaintext.as_bytes())
    }

    /// Seals a value of the aggregate `owner` for `purpose`: it opens only
    /// as that aggregate's ([`Keyring::open_owned`]).
    pub fn seal_owned(&self, purpose: &str, owner: &str, plaintext: &str) -> Result<Sealed, KeyringError> {
        self.seal_as(Binding::Owned { purpose, owner }, plaintext.as_bytes())
    }

    fn seal_as(&self, binding: Binding<'_>, plaintext: &[u8]) -> Result<Sealed, KeyringError> {
        let key = self.sealing.and_then(|i| self.data_keys.get(i)).unwrap_or(&self.keys[0]);
        aead::seal(&key.aead, &self.rng, &key.kid, binding, plaintext)
    }

    /// Wraps a data key's bytes for `purpose` with the current master key
    /// (never with a data key).
    pub fn wrap(&self, purpose: &str, bytes: &[u8]) -> Result<Sealed, KeyringError> {
        let key = &self.keys[0];
        aead::seal(&key.aead, &self.rng, &key.kid, Binding::Purpose(purpose), bytes)
    }

    /// Opens a value sealed for `purpose` by any key still in the ring.
    pub fn open(&self, purpose: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
        self.open_as(Binding::Purpose(purpose), sealed)
    }

    pub fn open_string(&self, purpose: &str, sealed: &Sealed) -> Result<String, KeyringError> {
        String::from_utf8(self.open(purpose, sealed)?).map_err(|_| KeyringError::Open)
    }

    /// Opens a value of the aggregate `owner` (or one sealed for `purpose`
    /// alone, before values were bound to their owners).
    pub fn open_owned(&self, purpose: &str, owner: &str, sealed: &Sealed) -> Result<String, KeyringError> {
        String::from_utf8(self.open_as(Binding::Owned { purpose, owner }, sealed)?).map_err(|_| KeyringError::Open)
    }

    fn open_as(&self, binding: Binding<'_>, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
        let key = self
            .keys
            .iter()
            .chain(&self.data_keys)
            .find(|k| k.kid == sealed.kid)
            .ok_or_else(|| KeyringError::UnknownKid { kid: sealed.kid.clone() })?;
        aead::open(&key.aead, binding, sealed)
    }

    /// Keyed hash of `value` in `domain` with the lookup key, the same
    /// across rotations of the master keys; lookups use it instead of plaintext.
    pub fn hash(&self, domain: &str, value: &[u8]) -> KeyHash {
        let mut ctx = hmac::Context::with_key(&self.lookup);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(value);
        hex::encode(ctx.sign().as_ref())
    }

    /// Constant-time comparison of a presented secret with the expected one.
    pub fn secrets_equal(expected: &str, presented: &str) -> bool {
        let (a, b) = (expected.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::parse(&Keyring::generate_spec("k1").unwrap()).unwrap()
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_plaintext() {
        let ring = ring();
        let sealed = ring.seal_str("chat_id", "123456789").unwrap();
        assert_eq!(sealed.kid, "k1");
        assert!(!sealed.ct.contains("123456789"));
        assert_eq!(ring.open_string("chat_id", &sealed).unwrap(), "123456789");
    }

    #[test]
    fn open_with_another_purpose_fails() {
        let ring = ring();
        let sealed = ring.seal_str("chat_id", "42").unwrap();
        assert_eq!(ring.open("bot_token", &sealed), Err(KeyringError::Open));
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let ring = ring();
        let mut sealed = ring.seal_str("text", "hello").unwrap();
        let mut ct = B64.decode(&sealed.ct).unwrap();
        ct[0] ^= 1;
        sealed.ct = B64.encode(ct);
        assert_eq!(ring.open("text", &sealed), Err(KeyringError::Open));
    }

    #[test]
    fn rotated_ring_still_opens_old_values() {
        let old_spec = Keyring::generate_spec("k1").unwrap();
        let old = Keyring::parse(&old_spec).unwrap();
        let sealed = old.seal_str("text", "before rotation").unwrap();
        let rotated = Keyring::parse(&format!("{},{}", Keyring::generate_spec("k2").unwrap(), old_spec)).unwrap();
        assert_eq!(rotated.current_kid(), "k2");
        assert_eq!(rotated.open_string("text", &sealed).unwrap(), "before rotation");
        assert_eq!(rotated.seal_str("text", "x").unwrap().kid, "k2");
    }

    #[test]
    fn a_retired_key_opens_what_it_sealed_and_seals_nothing() {
        let old_spec = Keyring::generate_spec("k1").unwrap();
        let old = Keyring::parse(&old_spec).unwrap();
        let sealed = old.seal_str("text", "before").unwrap();
        let rotated = Keyring::parse(&format!("{},{old_spec}", Keyring::generate_spec("k2").unwrap())).unwrap();
        let (kid, bytes) = rotated.older_keys()[0];
        assert_eq!(kid, "k1");
        let new_only = Keyring::parse(&Keyring::generate_spec("k2").unwrap()).unwrap();
        assert!(new_only.open("text", &sealed).is_err());
        let with_retired = new_only.with_retired(kid, bytes).unwrap();
        assert_eq!(with_retired.open_string("text", &sealed).unwrap(), "before");
        assert_eq!(with_retired.configured_kids(), ["k2"]);
        assert_eq!(with_retired.seal_str("text", "x").unwrap().kid, "k2");
    }

    #[test]
    fn a_value_bound_to_its_owner_opens_only_as_that_owners() {
        let ring = ring();
        let sealed = ring.seal_owned("chat_id", "rcp_a", "42").unwrap();
        assert_eq!(sealed.ad, Some(2));
        assert_eq!(ring.open_owned("chat_id", "rcp_a", &sealed).unwrap(), "42");
        assert_eq!(ring.open_owned("chat_id", "rcp_b", &sealed), Err(KeyringError::Open), "copied to another");
        assert_eq!(ring.open_owned("bot_token", "rcp_a", &sealed), Err(KeyringError::Open));
        assert_eq!(ring.open("chat_id", &sealed), Err(KeyringError::Open), "opened without its owner");
        let mut stripped = sealed.clone();
        stripped.ad = None;
        assert_eq!(ring.open_owned("chat_id", "rcp_a", &stripped), Err(KeyringError::Open), "binding stripped");
        let mut relabelled = sealed;
        relabelled.kid = "k9".into();
        assert!(ring.open_owned("chat_id", "rcp_a", &relabelled).is_err());
        // Sealed before values were bound: opens by its purpose, as any owner's.
        let earlier = ring.seal_str("chat_id", "42").unwrap();
        assert_eq!(ring.open_owned("chat_id", "rcp_a", &earlier).unwrap(), "42");
    }

    #[test]
    fn with_a_sealing_data_key_values_are_sealed_by_it_and_only_data_keys_by_the_master_key() {
        let ring = ring().with_data_key("lasting-6b31", &[7u8; 32], true).unwrap();
        let sealed = ring.seal_str("chat_id", "42").unwrap();
        assert_eq!(sealed.kid, "dk:lasting-6b31");
        assert_eq!(ring.open_string("chat_id", &sealed).unwrap(), "42");
        assert_eq!(ring.wrap("payload_key/x", b"bytes").unwrap().kid, "k1");
        let without = ring_with_same_master_as(&ring);
        assert!(matches!(without.open("chat_id", &sealed), Err(KeyringError::UnknownKid { .. })));
    }

    fn ring_with_same_master_as(ring: &Keyring) -> Keyring {
        let spec = format!("k1:{}", B64.encode(&ring.keys[0].bytes));
        Keyring::parse(&spec).unwrap()
    }

    #[test]
    fn unknown_kid_is_named() {
        let sealed = ring().seal_str("text", "x").unwrap();
        let other = Keyring::parse(&Keyring::generate_spec("k9").unwrap()).unwrap();
        assert_eq!(other.open("text", &sealed), Err(KeyringError::UnknownKid { kid: "k1".into() }));
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert_eq!(Keyring::parse("").unwrap_err(), KeyringError::Empty);
        assert_eq!(Keyring::parse("nokey").unwrap_err(), KeyringError::Malformed(1));
        assert_eq!(Keyring::parse("k1:c2hvcnQ=").unwrap_err(), KeyringError::BadKey { kid: "k1".into() });
        let spec = Keyring::generate_spec("k1").unwrap();
        assert_eq!(
            Keyring::parse(&format!("{spec},{spec}")).unwrap_err(),
            KeyringError::DuplicateKid { kid: "k1".into() }
        );
    }

    #[test]
    fn keyed_hash_depends_on_domain_value_and_key() {
        let a = ring();
        let b = ring();
        assert_eq!(a.hash("chat", b"1"), a.hash("chat", b"1"));
        assert_ne!(a.hash("chat", b"1"), a.hash("chat", b"2"));
        assert_ne!(a.hash("chat", b"1"), a.hash("code", b"1"));
        assert_ne!(a.hash("chat", b"1"), b.hash("chat", b"1"));
    }

    #[test]
    fn a_pinned_lookup_key_keeps_every_hash_across_a_rotation() {
        let old_spec = Keyring::generate_spec("k1").unwrap();
        let old = Keyring::parse(&old_spec).unwrap();
        let before = old.hash("send", b"project:key");
        let rotated_spec = format!("{},{old_spec}", Keyring::generate_spec("k2").unwrap());
        let unpinned = Keyring::parse(&rotated_spec).unwrap();
        assert_ne!(unpinned.hash("send", b"project:key"), before, "derived from the first key, it moves");
        let pinned = Keyring::parse(&rotated_spec).unwrap().with_lookup_key(&old.lookup_key()).unwrap();
        assert_eq!(pinned.hash("send", b"project:key"), before);
        assert!(Keyring::parse(&old_spec).unwrap().with_lookup_key("c2hvcnQ=").is_err());
    }
}
