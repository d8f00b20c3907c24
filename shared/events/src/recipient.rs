//! The recipient aggregate: a project's user bound to a Telegram chat.

use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Group,
}

/// A chat was bound to `public_user_ref` (first connect or reconnect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientBound {
    /// `rcp_<keyed hash of integration and public_user_ref>`.
    pub recipient_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub public_user_ref: String,
    /// The chat id, sealed for purpose `chat_id`.
    pub chat: Sealed,
    /// Keyed hash of `<bot_key>:<chat id>`, for lookups by incoming updates.
    pub chat_hash: String,
    pub chat_kind: ChatKind,
}

impl Event for RecipientBound {
    const AGGREGATE: &'static str = "recipient";
    const NAME: &'static str = "bound";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.recipient_id
    }
}

crate::labelled_enum! {
    pub enum DisableReason {
        /// The user sent /stop.
        UserStopped = "user_stopped",
    }
}

/// The recipient no longer receives messages until they connect again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientDisabled {
    pub recipient_id: String,
    pub integration_id: String,
    pub reason: DisableReason,
}

impl Event for RecipientDisabled {
    const AGGREGATE: &'static str = "recipient";
    const NAME: &'static str = "disabled";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.recipient_id
    }
}

crate::labelled_enum! {
    /// Why Telegram will not deliver to a recipient through this bot; also
    /// the reason of the send that found out.
    pub enum UnreachableReason {
        RecipientBlocked = "recipient_blocked",
        RecipientDeactivated = "recipient_deactivated",
        BotKicked = "bot_kicked",
    }
}

/// Telegram refused (403) to deliver to the recipient; later sends fail fast
/// without calling Telegram until the user connects again (`recipient.bound`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientUnreachable {
    pub recipient_id: String,
    pub integration_id: String,
    pub reason: UnreachableReason,
}

impl Event for RecipientUnreachable {
    const AGGREGATE: &'static str = "recipient";
    const NAME: &'static str = "unreachable";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.recipient_id
    }
}

/// The project unlinked the recipient (`DELETE /recipients/{id}`): nothing
/// is sent to it until the user connects again (`recipient.bound`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientUnlinked {
    pub recipient_id: String,
    pub integration_id: String,
}

impl Event for RecipientUnlinked {
    const AGGREGATE: &'static str = "recipient";
    const NAME: &'static str = "unlinked";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.recipient_id
    }
}

/// The recipient's group became a supergroup with a new chat id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientChatMigrated {
    pub recipient_id: String,
    pub integration_id: String,
    /// The new chat id, sealed for purpose `chat_id`.
    pub chat: Sealed,
    pub chat_hash: String,
}

impl Event for RecipientChatMigrated {
    const AGGREGATE: &'static str = "recipient";
    const NAME: &'static str = "chat_migrated";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.recipient_id
    }
}
