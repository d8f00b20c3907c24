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

/// Why a call to the project's `inbound_webhook_url` did not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFailure {
    /// The receiver answered outside 2xx.
    Status,
    /// No answer within the call's timeout.
    Timeout,
    /// No connection (refused, reset, name not resolved, TLS).
    Connect,
    /// The URL's host resolved to an address in a private, loopback or
    /// link-local range that `INBOUND_WEBHOOK_ALLOW` does not open: never called.
    AddressRefused,
}

impl WebhookFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFailure::Status => "status",
            WebhookFailure::Timeout => "timeout",
            WebhookFailure::Connect => "connect",
            WebhookFailure::AddressRefused => "address_refused",
        }
    }
}

/// The project's receiver took the message (answered 2xx).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundDelivered {
    pub message_id: String,
    pub integration_id: String,
    /// Calls made for it, this one included.
    pub attempts: u32,
    pub status: u16,
}

impl Event for InboundDelivered {
    const AGGREGATE: &'static str = "inbound";
    const NAME: &'static str = "delivered";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.message_id
    }
}

/// One call to the project's receiver failed; another follows at `retry_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundDeliveryFailed {
    pub message_id: String,
    pub integration_id: String,
    pub attempts: u32,
    pub reason: WebhookFailure,
    /// The status, or what the connection said (no content, no secrets).
    pub detail: String,
    pub retry_at: DateTime<Utc>,
}

impl Event for InboundDeliveryFailed {
    const AGGREGATE: &'static str = "inbound";
    const NAME: &'static str = "delivery_failed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.message_id
    }
}

/// The last call of the retry schedule failed: the message waits in
/// `DEAD_LETTERS` (`nt.dlq.inbound.<message_id>`) until retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundDeadLettered {
    pub message_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub attempts: u32,
    pub reason: WebhookFailure,
    pub detail: String,
}

impl Event for InboundDeadLettered {
    const AGGREGATE: &'static str = "inbound";
    const NAME: &'static str = "dead_lettered";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.message_id
    }
}

/// The project asked for a dead-lettered message again: a new round of the
/// retry schedule starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundRedeliveryRequested {
    pub message_id: String,
    pub integration_id: String,
    /// 2 for the first retry of a dead letter, and so on.
    pub round: u32,
}

impl Event for InboundRedeliveryRequested {
    const AGGREGATE: &'static str = "inbound";
    const NAME: &'static str = "redelivery_requested";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.message_id
    }
}

/// The entry `DEAD_LETTERS` keeps for a dead-lettered inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundDeadLetter {
    pub event: InboundDeadLettered,
    pub dead_lettered_at: DateTime<Utc>,
}

/// The body POSTed to a project's `inbound_webhook_url`, signed the Standard
/// Webhooks way (`webhook-id` is the message id, the same on every attempt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundWebhookBody {
    /// `message.received`.
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    pub data: InboundWebhookData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundWebhookData {
    pub message_id: String,
    pub integration_id: String,
    /// The sender's `public_user_ref` when connected to the integration, else an opaque id.
    pub public_user_ref: String,
    pub chat_kind: ChatKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<InboundMedia>,
}

impl InboundWebhookBody {
    pub const MESSAGE_RECEIVED: &'static str = "message.received";
}
