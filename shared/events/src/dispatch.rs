//! What travels on `DISPATCH` (`nt.dispatch.<partition>.<class>[.<lane>]`):
//! the work of a partition's owner.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::incident::CardItem;
use crate::send::DispatchItem;

/// What a `DISPATCH` message carries: a queued send, or a card to show
/// (`{"card": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DispatchWork {
    Send(DispatchItem),
    Card { card: CardItem },
}

impl DispatchWork {
    /// Decodes a `DISPATCH` message; the queued event of a send is read
    /// through the upcasters like any other.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Send { queued: crate::RawEnvelope, queued_sequence: u64 },
            Card { card: CardItem },
        }
        match serde_json::from_slice(bytes).map_err(crate::DecodeError::Envelope)? {
            Raw::Send { queued, queued_sequence } => {
                Ok(DispatchWork::Send(DispatchItem { queued: crate::decode_as(queued)?, queued_sequence }))
            }
            Raw::Card { card } => Ok(DispatchWork::Card { card }),
        }
    }
}
