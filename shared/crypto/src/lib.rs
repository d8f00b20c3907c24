//! Sealing of personal data and secrets (AES-256-GCM via ring) and keyed hashes.
//!
//! Everything that must never appear in plaintext — bot tokens, chat ids, message
//! text, template vars, raw Telegram updates — travels and rests as a [`Sealed`]
//! value. Each key has an id so keys can be rotated: new data is sealed with the
//! current key, old data stays readable while its key is in the ring.

mod aead;
mod data_key;
mod keyring;
mod sealed;

pub use data_key::{data_key_id, DataKey, DATA_KEY_KID_PREFIX};
pub use keyring::{KeyHash, Keyring, KeyringError};
pub use sealed::{Binding, Sealed};
