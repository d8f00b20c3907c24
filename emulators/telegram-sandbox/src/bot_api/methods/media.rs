//! One media of a message — a photo, video, document, audio file, animation
//! or voice note with its caption — as `sendPhoto` & co. and each InputMedia
//! of `sendMediaGroup` describe it: read, checked as TDLib checks it before
//! sending, and turned into the message's fields and record.

use rand::Rng;
use serde_json::{json, Map, Value};

use super::outgoing;
use crate::bot_api::entities::{utf16_len, FormattedText};
use crate::bot_api::errors::ApiError;
use crate::bot_api::input_file::{self, Checked, InputFile};
use crate::bot_api::params::Params;
use crate::state::{image_sides, mime_type_of, FileKind, Files, MediaSource, NewFile, SentContent, SentMedia};

/// Longest caption, in UTF-16 code units after entity parsing, as for text.
const MAX_CAPTION_LEN: usize = 1024;
/// The Bot API server clamps declared sides and durations to these.
const MAX_SIDE: i64 = 10_000;
const MAX_DURATION: i64 = 24 * 60 * 60;
/// Sides of a photo whose header the sandbox cannot read (given by URL, or
/// not a PNG, JPEG, GIF or WebP): a phone camera's photo as Telegram compresses it.
const PHOTO_SIDES: (u32, u32) = (1280, 960);

/// Bytes a file given by URL is taken to have (the sandbox never fetches it).
fn url_file_size(kind: FileKind) -> u64 {
    match kind {
        FileKind::Photo => 122_880,
        FileKind::Video => 2_097_152,
        FileKind::Document => 102_400,
        FileKind::Audio => 3_145_728,
        FileKind::Animation => 524_288,
        FileKind::Voice => 32_768,
    }
}

/// The MIME type Telegram gives a new file of `kind` named `file_name`.
fn mime_type(kind: FileKind, file_name: Option<&str>) -> Option<String> {
    let known = file_name.and_then(mime_type_of);
    let of_kind = |prefix: &str, default: &'static str| known.filter(|m| m.starts_with(prefix)).unwrap_or(default);
    let mime = match kind {
        FileKind::Photo => return None,
        // Telegram serves animations as MP4 and voice notes as OGG/Opus.
        FileKind::Animation => "video/mp4",
        FileKind::Voice => "audio/ogg",
        FileKind::Video => of_kind("video/", "video/mp4"),
        FileKind::Audio => of_kind("audio/", "audio/mpeg"),
        FileKind::Document => known.unwrap_or("application/octet-stream"),
    };
    Some(mime.to_string())
}

/// A new `media_group_id`, digits as Telegram's.
pub fn new_media_group_id() -> String {
    rand::thread_rng().gen_range(10_000_000_000_000_000_u64..100_000_000_000_000_000).to_string()
}

/// A media's caption: parsed only when there is one, as the Bot API server
/// does, so a `parse_mode` without a caption is no error.
#[derive(Debug, Clone)]
pub struct Caption {
    raw: String,
    /// None when empty after parsing.
    formatted: Option<FormattedText>,
    parse_mode: Option<String>,
}

impl Caption {
    /// `caption`, `parse_mode` and `caption_entities` of `fields` (the call's
    /// parameters or an InputMedia object).
    pub fn read(fields: &Params) -> Result<Self, ApiError> {
        let raw = fields.str("caption").unwrap_or_default();
        if raw.is_empty() {
            return Ok(Self { raw, formatted: None, parse_mode: None });
        }
        let parse_mode = outgoing::parse_mode(fields)?;
        let formatted = outgoing::parse_text(&raw, parse_mode.as_deref(), fields, "caption_entities")?;
        Ok(Self { raw, formatted: Some(formatted).filter(|f| !f.text.is_empty()), parse_mode })
    }
}

/// One media to send.
#[derive(Debug, Clone)]
pub struct MediaItem {
    /// As the call asked for it.
    pub kind: FileKind,
    input: InputFile,
    caption: Caption,
    /// As declared by the call (videos, animations, audio, voice).
    width: u32,
    height: u32,
    duration: u32,
    performer: Option<String>,
    title: Option<String>,
    show_caption_above_media: bool,
    has_spoiler: bool,
}

/// An integer field clamped as the Bot API server clamps it; garbage reads as 0.
fn clamped(fields: &Params, name: &str, max: i64) -> u32 {
    u32::try_from(fields.i64(name).ok().flatten().unwrap_or(0).clamp(0, max)).unwrap_or(0)
}

impl MediaItem {
    /// A media of `kind` with its file, caption and the options of `fields`.
    pub fn new(kind: FileKind, input: InputFile, caption: Caption, fields: &Params) -> Self {
        let text = |name| fields.str(name).filter(|s| !s.is_empty());
        // Only these have the options in the Bot API.
        let visual = matches!(kind, FileKind::Photo | FileKind::Video | FileKind::Animation);
        Self {
            kind,
            input,
            caption,
            width: clamped(fields, "width", MAX_SIDE),
            height: clamped(fields, "height", MAX_SIDE),
            duration: clamped(fields, "duration", MAX_DURATION),
            performer: text("performer"),
            title: text("title"),
            show_caption_above_media: visual && fields.bool("show_caption_above_media"),
            has_spoiler: visual && fields.bool("has_spoiler"),
        }
    }

    /// Checks the file, then the caption's length, as TDLib does before sending.
    pub fn check(&self, files: &Files, bot_id: i64) -> Result<Checked, ApiError> {
        let checked = input_file::check(&self.input, self.kind, files, bot_id)?;
        if self.caption.formatted.as_ref().is_some_and(|c| utf16_len(&c.text) > MAX_CAPTION_LEN) {
            return Err(ApiError::bad_request("message caption is too long"));
        }
        Ok(checked)
    }

    /// The message's fields and record. A new file is received by the bot
    /// here; a known one shows as it did. `media_group_id` joins the
    /// messages of an album.
    pub fn into_message(
        self,
        checked: Checked,
        files: &mut Files,
        bot_id: i64,
        media_group_id: Option<&str>,
    ) -> (Map<String, Value>, SentContent) {
        let (kind, content, source, url) = match checked {
            Checked::Known { kind, content } => (kind, content, MediaSource::FileId, None),
            Checked::New { file_size, file_name, url, bytes } => {
                // The sides of the uploaded image itself, so that its pixels
                // and the message agree (Telegram would also scale big ones down).
                let (width, height) = if self.kind == FileKind::Photo {
                    bytes.as_deref().and_then(image_sides).unwrap_or(PHOTO_SIDES)
                } else {
                    (self.width, self.height)
                };
                let file = NewFile {
                    kind: self.kind,
                    file_size: file_size.unwrap_or_else(|| url_file_size(self.kind)),
                    width,
                    height,
                    duration: self.duration,
                    mime_type: mime_type(self.kind, file_name.as_deref()),
                    file_name,
                    performer: self.performer,
                    title: self.title,
                    bytes,
                };
                let source = if url.is_some() { MediaSource::Url } else { MediaSource::Upload };
                (self.kind, files.receive(bot_id, &file), source, url)
            }
        };
        // The file of the message: the largest size of a photo.
        let file = match kind {
            FileKind::Photo => content.as_array().and_then(|sizes| sizes.last()),
            _ => Some(&content),
        };
        let id = |key: &str| file.and_then(|f| f.get(key)).and_then(Value::as_str).unwrap_or_default().to_string();
        let (file_id, file_unique_id) = (id("file_id"), id("file_unique_id"));

        let Caption { raw, formatted, parse_mode } = self.caption;
        let entities: Vec<Value> =
            formatted.iter().flat_map(|caption| caption.entities.iter().map(|e| e.to_json())).collect();
        let mut fields = Map::new();
        if let Some(id) = media_group_id {
            fields.insert("media_group_id".into(), json!(id));
        }
        fields.insert(kind.field().into(), content);
        if let Some(caption) = &formatted {
            fields.insert("caption".into(), json!(caption.text));
            if !entities.is_empty() {
                fields.insert("caption_entities".into(), Value::Array(entities.clone()));
            }
        }
        if self.show_caption_above_media {
            fields.insert("show_caption_above_media".into(), json!(true));
        }
        if self.has_spoiler {
            fields.insert("has_media_spoiler".into(), json!(true));
        }
        let media = SentMedia {
            file_id,
            file_unique_id,
            source,
            url,
            caption: formatted.map(|caption| caption.text),
            raw_caption: Some(raw).filter(|raw| !raw.is_empty()),
            media_group_id: media_group_id.map(String::from),
        };
        let record = SentContent {
            kind: kind.field().into(),
            text: None,
            raw_text: None,
            parse_mode,
            entities,
            reply_markup: None,
            media: Some(media),
        };
        (fields, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_get_telegrams_mime_types() {
        assert_eq!(mime_type(FileKind::Document, Some("r.pdf")).as_deref(), Some("application/pdf"));
        assert_eq!(mime_type(FileKind::Document, Some("blob")).as_deref(), Some("application/octet-stream"));
        assert_eq!(mime_type(FileKind::Video, Some("clip.mov")).as_deref(), Some("video/quicktime"));
        assert_eq!(mime_type(FileKind::Video, Some("clip.pdf")).as_deref(), Some("video/mp4"));
        assert_eq!(mime_type(FileKind::Audio, Some("a.m4a")).as_deref(), Some("audio/mp4"));
        assert_eq!(mime_type(FileKind::Audio, None).as_deref(), Some("audio/mpeg"));
        assert_eq!(mime_type(FileKind::Animation, Some("cat.gif")).as_deref(), Some("video/mp4"));
        assert_eq!(mime_type(FileKind::Voice, Some("v.mp3")).as_deref(), Some("audio/ogg"));
        assert_eq!(mime_type(FileKind::Photo, Some("a.jpg")), None);
    }

    #[test]
    fn captions_are_parsed_only_when_present() {
        let read = |fields: Value| Caption::read(&Params::from_json(fields));
        let none = read(json!({"parse_mode": "bogus"})).unwrap();
        assert!(none.formatted.is_none() && none.parse_mode.is_none());
        let bold = read(json!({"caption": "<b>Hi</b>", "parse_mode": "html"})).unwrap();
        assert_eq!(bold.formatted.map(|f| f.text), Some("Hi".to_string()));
        assert_eq!(bold.parse_mode.as_deref(), Some("HTML"));
        let error = read(json!({"caption": "x", "parse_mode": "bogus"})).unwrap_err();
        assert_eq!(error.description, "Bad Request: unsupported parse_mode");
        assert!(read(json!({"caption": "<b>", "parse_mode": "HTML"})).is_err());
    }

    #[test]
    fn album_ids_are_long_digit_strings() {
        let id = new_media_group_id();
        assert_eq!(id.len(), 17);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }
}
