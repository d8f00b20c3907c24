//! The ciphertext envelope stored in events and projections.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// AES-256-GCM ciphertext with the id of the key that sealed it.
///
/// `nonce` and `ct` are base64 (standard alphabet); `ct` includes the GCM tag.
/// The associated data is the purpose string given at sealing time, so a value
/// sealed as a bot token cannot be replayed as a chat id; with `ad: 2` it is
/// also the id of the aggregate the value belongs to and the key id, so a
/// value copied into another record does not open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Sealed {
    /// What the associated data binds: absent, the purpose; `2`, the
    /// purpose, the owning aggregate's id and the key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad: Option<u8>,
    pub kid: String,
    pub nonce: String,
    pub ct: String,
}

/// The associated data of a value bound to its owner (`ad: 2`).
pub(crate) const BOUND: u8 = 2;

/// What a sealed value is for, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// The purpose alone (values that belong to no single aggregate).
    Purpose(&'a str),
    /// The purpose and the id of the aggregate the value belongs to.
    Owned { purpose: &'a str, owner: &'a str },
}

impl Binding<'_> {
    /// `ad` of a value sealed with this binding.
    pub(crate) fn version(&self) -> Option<u8> {
        match self {
            Binding::Purpose(_) => None,
            Binding::Owned { .. } => Some(BOUND),
        }
    }

    /// The associated data for key `kid`, as the value's `ad` says it was
    /// sealed: an owned value sealed before binding existed opens by purpose.
    pub(crate) fn associated_data(&self, ad: Option<u8>, kid: &str) -> Option<Vec<u8>> {
        match (self, ad) {
            (Binding::Purpose(purpose), None) | (Binding::Owned { purpose, .. }, None) => {
                Some(purpose.as_bytes().to_vec())
            }
            (Binding::Owned { purpose, owner }, Some(BOUND)) => {
                Some([purpose.as_bytes(), b"\0", owner.as_bytes(), b"\0", kid.as_bytes()].concat())
            }
            _ => None,
        }
    }
}
