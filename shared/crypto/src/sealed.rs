//! The ciphertext envelope stored in events and projections.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// AES-256-GCM ciphertext with the id of the key that sealed it.
///
/// `nonce` and `ct` are base64 (standard alphabet); `ct` includes the GCM tag.
/// The associated data is the purpose string given at sealing time, so a value
/// sealed as a bot token cannot be replayed as a chat id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Sealed {
    pub kid: String,
    pub nonce: String,
    pub ct: String,
}
