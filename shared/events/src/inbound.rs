//! Messages users write to a project's bot that are not commands (the
//! inbound aggregate, `nt.ev.inbound.<id>.*`): handed to the project, which
//! may answer them (`POST /inbound/{message_id}/reply`).

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::recipient::ChatKind;
use crate::Event;

/// What the user wrote, sealed as a whole (purpose `inbound_message`) in the
/// events: it is personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct InboundContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<InboundMedia>,
}

/// A file the user sent, as Telegram describes it (the file stays on Telegram).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InboundMedia {
    /// `photo`, `document`, `video`, `voice`, `audio` or `sticker`.
    pub kind: String,
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// A connected user wrote to the project's bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundReceived {
    /// `inb_<keyed hash of the bot and update>`.
    pub message_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub bot_key: String,
    /// The recipient of the chat it came from.
    pub recipient_id: String,
    /// The sender's `public_user_ref` when connected to the integration, else an opaque id.
    pub from: String,
    pub chat_kind: ChatKind,
    /// The chat, sealed (purpose `chat_id`): replies go there.
    pub chat: Sealed,
    /// The user's message in the chat, which a reply answers.
    pub telegram_message_id: i64,
    /// [`InboundContent`], sealed with the data key of its expiry epoch.
    pub content: Sealed,
    pub received_at: DateTime<Utc>,
}

impl Event for InboundReceived {
    const AGGREGATE: &'static str = "inbound";
    const NAME: &'static str = "received";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.message_id
    }
}
