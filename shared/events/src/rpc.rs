//! Request/reply messages between services over core NATS.

use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::integration::BotIdentity;

/// Which bot to act as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BotCredential {
    /// The common bot configured on the dispatcher.
    Common,
    /// A custom bot; token sealed for purpose `bot_token`.
    Custom { token: Sealed },
}

/// `nt.rpc.dispatcher.bot.verify`: call getMe with the credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BotVerifyRequest {
    pub bot: BotCredential,
}

/// Reply to [`BotVerifyRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum BotVerifyReply {
    Verified {
        bot: BotIdentity,
    },
    /// Telegram said the token is not valid (401/404).
    InvalidToken {
        detail: String,
    },
    /// The common bot is requested but none is configured.
    NotConfigured,
    /// Telegram could not be asked (network, 5xx, 429).
    Unavailable {
        detail: String,
    },
}

/// `nt.rpc.dispatcher.member.<member>.calls`: which of these sends is the
/// member still delivering (a call made, its outcome not yet recorded)?
/// Asked by a dispatcher that took over the member's partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallsQuery {
    pub send_ids: Vec<String>,
}

/// Reply to [`CallsQuery`]: those of its sends the member is still delivering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallsReply {
    pub delivering: Vec<String>,
}
