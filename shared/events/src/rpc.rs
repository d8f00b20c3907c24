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

/// `nt.rpc.dispatcher.bot.test`: getMe and getWebhookInfo of a bot the
/// service runs (`common` or an integration's bot key), sending nothing to anyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BotTestRequest {
    pub bot_key: String,
}

/// `nt.rpc.dispatcher.bot.sync`: point a bot's webhook at this service
/// again (setWebhook with its secret, `max_connections`, `allowed_updates`),
/// then answer as [`BotTestRequest`] does. Replied with [`BotTestReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BotSyncRequest {
    pub bot_key: String,
    /// Drop the updates Telegram still holds for the bot.
    #[serde(default)]
    pub drop_pending_updates: bool,
}

/// Telegram's view of a bot's webhook (`getWebhookInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookState {
    /// Empty when no webhook is set (long polling).
    pub url: String,
    pub pending_update_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// Reply to [`BotTestRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum BotTestReply {
    Tested {
        bot: BotIdentity,
        webhook: WebhookState,
    },
    /// Telegram refused the token (revoked in BotFather, say).
    InvalidToken {
        detail: String,
    },
    /// No such bot here: a deleted integration, or no common bot configured.
    UnknownBot,
    /// The bot is read by long polling (`TELEGRAM_UPDATES`): it has no webhook to sync.
    Polled,
    /// Telegram or the log could not be asked.
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

/// `nt.rpc.dispatcher.callback.answer`: answer a button press at once with a
/// short toast (`answerCallbackQuery`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallbackAnswerRequest {
    pub bot_key: String,
    pub callback_query_id: String,
    /// At most 200 characters.
    pub text: String,
}

/// Reply to [`CallbackAnswerRequest`]: whether Telegram took the answer, and
/// its description when not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallbackAnswerReply {
    pub answered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
