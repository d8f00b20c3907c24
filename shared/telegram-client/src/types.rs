//! The Bot API objects and parameters this service uses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub date: i64,
    /// Shared by the messages of one album.
    #[serde(default)]
    pub media_group_id: Option<String>,
    /// The sizes Telegram made of a photo, smallest first.
    #[serde(default)]
    pub photo: Option<Vec<SentFile>>,
    #[serde(default)]
    pub video: Option<SentFile>,
    #[serde(default)]
    pub document: Option<SentFile>,
    #[serde(default)]
    pub audio: Option<SentFile>,
    #[serde(default)]
    pub animation: Option<SentFile>,
    #[serde(default)]
    pub voice: Option<SentFile>,
}

/// A file of a sent message (a photo's size, a video, a document…), as far
/// as a sender needs it: `file_id` sends the file again without uploading
/// it; `file_unique_id` tells files apart (file_ids differ between bots and
/// over time). Telegram's other fields are left unread, so none can fail
/// the decoding of a message that was in fact sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentFile {
    pub file_id: String,
    pub file_unique_id: String,
    #[serde(default)]
    pub file_size: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SendMessage {
    pub chat_id: i64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Beyond the free 30 messages/s, up to 1000/s for a fee in Telegram Stars.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_paid_broadcast: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_parameters: Option<ReplyParameters>,
}

/// Sends the message as a reply; `allow_sending_without_reply` sends it
/// even when the message replied to is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyParameters {
    pub message_id: i64,
    pub allow_sending_without_reply: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EditMessageText {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Absent: the message's buttons are removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineKeyboardMarkup {
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
}

/// A button with either `callback_data` (at most 64 bytes) or a `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineKeyboardButton {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetWebhook {
    pub url: String,
    pub secret_token: String,
    pub max_connections: u32,
    pub allowed_updates: Vec<String>,
    pub drop_pending_updates: bool,
}

/// One entry of a bot's command menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
}

/// Which chats a command menu is for (the scopes this service uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotCommandScope {
    Default,
    AllPrivateChats,
    AllGroupChats,
}

/// `setMyCommands`; an empty `language_code` is the menu for every language
/// without one of its own.
#[derive(Debug, Clone, Serialize)]
pub struct SetMyCommands {
    pub commands: Vec<BotCommand>,
    pub scope: BotCommandScope,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub language_code: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookInfo {
    pub url: String,
    #[serde(default)]
    pub pending_update_count: u64,
    #[serde(default)]
    pub last_error_message: Option<String>,
    #[serde(default)]
    pub max_connections: Option<u32>,
}
