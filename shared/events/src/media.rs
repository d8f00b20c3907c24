//! Media in an outgoing message: what a send, a reminder, a reply or a
//! broadcast carries besides its text, and Telegram's rules for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::labelled_enum! {
    /// The kind of file, as Telegram's `send<Kind>` methods name it.
    pub enum MediaKind {
        Photo = "photo",
        Video = "video",
        Document = "document",
        Audio = "audio",
        Animation = "animation",
        Voice = "voice",
    }
}

/// Telegram's limit on an uploaded photo.
pub const MAX_PHOTO_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// Telegram's limit on any other uploaded file.
pub const MAX_FILE_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// An album holds this many items.
pub const MEDIA_GROUP_ITEMS: std::ops::RangeInclusive<usize> = 2..=10;

impl MediaKind {
    /// The largest file of this kind Telegram takes as an upload.
    pub fn max_upload_bytes(self) -> u64 {
        match self {
            MediaKind::Photo => MAX_PHOTO_UPLOAD_BYTES,
            _ => MAX_FILE_UPLOAD_BYTES,
        }
    }

    /// Whether `sendMediaGroup` takes it at all.
    pub fn may_be_grouped(self) -> bool {
        matches!(self, MediaKind::Photo | MediaKind::Video | MediaKind::Document | MediaKind::Audio)
    }

    /// Documents and audio files are grouped only with their own kind;
    /// photos and videos go together.
    pub fn groups_with(self, other: MediaKind) -> bool {
        match (self, other) {
            (MediaKind::Document | MediaKind::Audio, _) | (_, MediaKind::Document | MediaKind::Audio) => self == other,
            _ => true,
        }
    }
}

/// Where Telegram gets the file from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// Telegram fetches it (nothing here downloads it).
    Url(String),
    /// A file Telegram already has for this bot.
    FileId(String),
    /// A file uploaded through `POST /uploads`; sent once per bot, then by
    /// the `file_id` Telegram gave it.
    Upload(String),
}

/// One file of a message: the message's only one, or an album's item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediaItem {
    pub kind: MediaKind,
    pub source: MediaSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// `HTML` for a rendered template's caption; absent for plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// The name an uploaded file is shown with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl MediaItem {
    /// The upload it is sent from, if any.
    pub fn upload_id(&self) -> Option<&str> {
        match &self.source {
            MediaSource::Upload(id) => Some(id),
            _ => None,
        }
    }
}

/// The uploads a message's media use, each once, in order.
pub fn uploads_of(media: &[MediaItem]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in media.iter().filter_map(MediaItem::upload_id) {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_audio_group_only_with_their_own_kind() {
        assert!(MediaKind::Photo.groups_with(MediaKind::Video));
        assert!(MediaKind::Document.groups_with(MediaKind::Document));
        assert!(!MediaKind::Document.groups_with(MediaKind::Photo));
        assert!(!MediaKind::Video.groups_with(MediaKind::Audio));
        assert!(!MediaKind::Audio.groups_with(MediaKind::Document));
        assert!(!MediaKind::Voice.may_be_grouped() && !MediaKind::Animation.may_be_grouped());
    }

    #[test]
    fn uploads_are_listed_once() {
        let item =
            |source| MediaItem { kind: MediaKind::Photo, source, caption: None, parse_mode: None, filename: None };
        let media = [
            item(MediaSource::Upload("upl_a".into())),
            item(MediaSource::Url("https://example.org/b.jpg".into())),
            item(MediaSource::Upload("upl_a".into())),
            item(MediaSource::Upload("upl_c".into())),
        ];
        assert_eq!(uploads_of(&media), ["upl_a", "upl_c"]);
    }
}
