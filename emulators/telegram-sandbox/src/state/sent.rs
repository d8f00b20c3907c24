//! The records of what bots sent (and edited), as `/sandbox/bots/{username}/sent`
//! shows them: text messages with their text, media with their file and caption.

use serde::Serialize;
use serde_json::Value;

/// A message the bot successfully sent (or edited).
#[derive(Debug, Clone, Serialize)]
pub struct SentRecord {
    pub message_id: i64,
    pub chat_id: i64,
    #[serde(flatten)]
    pub content: SentContent,
    pub date: i64,
    pub method: String,
}

/// What a sent message carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentContent {
    /// "text", or the Message field of the media: "photo", "video", "document",
    /// "audio", "animation" or "voice".
    pub kind: String,
    /// Text messages: the text after entity parsing, and as the bot sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_text: Option<String>,
    /// Of the text, or of the caption.
    pub parse_mode: Option<String>,
    pub entities: Vec<Value>,
    pub reply_markup: Option<Value>,
    #[serde(flatten)]
    pub media: Option<SentMedia>,
}

impl SentContent {
    /// A text message.
    pub fn text(
        text: String,
        raw_text: String,
        parse_mode: Option<String>,
        entities: Vec<Value>,
        reply_markup: Option<Value>,
    ) -> Self {
        Self {
            kind: "text".into(),
            text: Some(text),
            raw_text: Some(raw_text),
            parse_mode,
            entities,
            reply_markup,
            media: None,
        }
    }
}

/// How a bot gave Telegram the file of a media message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// A file part of a multipart body.
    Upload,
    /// An HTTP URL for Telegram to fetch (the sandbox accepts it unfetched).
    Url,
    /// A `file_id` the bot received earlier.
    FileId,
}

/// The media of a sent message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentMedia {
    /// Of the file in the message (the largest size of a photo).
    pub file_id: String,
    pub file_unique_id: String,
    pub source: MediaSource,
    /// The URL given, when the source is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// After entity parsing, and as the bot sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_caption: Option<String>,
    /// Shared by the messages of one `sendMediaGroup` album.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_group_id: Option<String>,
}
