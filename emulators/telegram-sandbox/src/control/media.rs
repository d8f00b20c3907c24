//! A photo or a document a user sends to a bot instead of text: the
//! request's `photo` / `document` and `caption`, checked against Telegram's
//! limits, and the message fields they become (`photo` as sizes smallest
//! first, or `document`), with the files remembered by `file_id`.

use serde_json::{json, Map, Value};

use super::{err, opt_str, ControlError};
use crate::bot_api::entities::{leading_bot_command, utf16_len};
use crate::state::{mime_type_of, FileKind, Files, NewFile, MIME_TYPES};

/// Longest caption, in UTF-16 code units.
const MAX_CAPTION_LEN: usize = 1024;
/// Longest side of a photo (Telegram refuses bigger ones).
const MAX_PHOTO_SIDE: u64 = 10_000;
/// Largest photo: 10 MB.
const MAX_PHOTO_SIZE: u64 = 10 * 1024 * 1024;
/// Largest document: 4 GB, what a Premium user may upload.
const MAX_DOCUMENT_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Longest file name.
const MAX_FILE_NAME_LEN: usize = 255;
/// A photo as a phone camera sends it, compressed by Telegram.
const DEFAULT_PHOTO_SIDES: (u64, u64) = (1280, 960);
const DEFAULT_DOCUMENT_SIZE: u64 = 102_400;

/// The file a user attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attachment {
    Photo { width: u32, height: u32, file_size: u64 },
    Document { file_name: String, mime_type: String, file_size: u64 },
}

/// A photo or a document with its caption, checked but not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Media {
    attachment: Attachment,
    caption: Option<String>,
}

/// The file of a user's message body, or None when it has neither `photo`
/// nor `document` (a text message). A file with `text`, both files, a
/// caption without a file and a caption over Telegram's limit are refused.
pub(super) fn parse(body: &Value) -> Result<Option<Media>, ControlError> {
    let caption = opt_str(body, "caption")?.filter(|c| !c.is_empty());
    let attachment = match (present(body, "photo"), present(body, "document")) {
        (None, None) if caption.is_some() => {
            return Err(err(400, "\"caption\" goes with a \"photo\" or a \"document\"; a text message has none"))
        }
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(err(400, "give either \"photo\" or \"document\", not both")),
        _ if present(body, "text").is_some() => {
            return Err(err(400, "give either \"text\" or a file (\"photo\" or \"document\"), not both"))
        }
        (Some(photo), None) => parse_photo(photo)?,
        (None, Some(document)) => parse_document(document)?,
    };
    if caption.as_deref().is_some_and(|c| utf16_len(c) > MAX_CAPTION_LEN) {
        return Err(err(400, format!("caption is longer than {MAX_CAPTION_LEN} UTF-16 code units")));
    }
    Ok(Some(Media { attachment, caption }))
}

impl Media {
    /// Remembers the file as received by `bot_id` and returns the message
    /// fields: `photo` or `document`, and `caption` with `caption_entities`
    /// when it starts with a command (as Telegram marks them in captions too).
    pub(super) fn into_fields(self, files: &mut Files, bot_id: i64) -> Map<String, Value> {
        let file = match self.attachment {
            Attachment::Photo { width, height, file_size } => {
                NewFile { width, height, ..NewFile::new(FileKind::Photo, file_size) }
            }
            Attachment::Document { file_name, mime_type, file_size } => NewFile {
                file_name: Some(file_name),
                mime_type: Some(mime_type),
                ..NewFile::new(FileKind::Document, file_size)
            },
        };
        let mut fields = Map::new();
        fields.insert(file.kind.field().into(), files.receive(bot_id, &file));
        if let Some(caption) = self.caption {
            if let Some(command) = leading_bot_command(&caption) {
                fields.insert("caption_entities".into(), json!([command.to_json()]));
            }
            fields.insert("caption".into(), json!(caption));
        }
        fields
    }
}

/// A key's value unless missing or null.
fn present<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

/// The object under `name`, refusing keys it does not know (a typo would
/// otherwise silently fall back to a default).
fn object<'a>(value: &'a Value, name: &str, known: &[&str]) -> Result<&'a Map<String, Value>, ControlError> {
    let map = value.as_object().ok_or_else(|| err(400, format!("\"{name}\" must be an object")))?;
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(err(400, format!("\"{name}\" has no field \"{unknown}\" (known: {})", known.join(", "))));
    }
    Ok(map)
}

fn number(map: &Map<String, Value>, name: &str, key: &str, max: u64) -> Result<Option<u64>, ControlError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=max).contains(n))
            .map(Some)
            .ok_or_else(|| err(400, format!("\"{name}.{key}\" must be an integer from 1 to {max}"))),
    }
}

fn string(map: &Map<String, Value>, name: &str, key: &str) -> Result<Option<String>, ControlError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(err(400, format!("\"{name}.{key}\" must be a non-empty string"))),
    }
}

fn parse_photo(value: &Value) -> Result<Attachment, ControlError> {
    let map = object(value, "photo", &["width", "height", "file_size"])?;
    let width = number(map, "photo", "width", MAX_PHOTO_SIDE)?.unwrap_or(DEFAULT_PHOTO_SIDES.0);
    let height = number(map, "photo", "height", MAX_PHOTO_SIDE)?.unwrap_or(DEFAULT_PHOTO_SIDES.1);
    // About what a JPEG of that many pixels weighs.
    let default_size = (width * height / 10).clamp(1, MAX_PHOTO_SIZE);
    let file_size = number(map, "photo", "file_size", MAX_PHOTO_SIZE)?.unwrap_or(default_size);
    let side = |n: u64| u32::try_from(n).map_err(|_| err(400, "photo sides must be at most 10000"));
    Ok(Attachment::Photo { width: side(width)?, height: side(height)?, file_size })
}

fn parse_document(value: &Value) -> Result<Attachment, ControlError> {
    let map = object(value, "document", &["file_name", "mime_type", "file_size"])?;
    let file_name = string(map, "document", "file_name")?;
    if file_name.as_deref().is_some_and(|n| n.chars().count() > MAX_FILE_NAME_LEN || n.contains(['/', '\\'])) {
        return Err(err(
            400,
            format!("\"document.file_name\" must be at most {MAX_FILE_NAME_LEN} characters, without / or \\"),
        ));
    }
    let mime_type = string(map, "document", "mime_type")?;
    if mime_type.as_deref().is_some_and(|m| !valid_mime_type(m)) {
        return Err(err(400, "\"document.mime_type\" must look like type/subtype, e.g. application/pdf"));
    }
    let file_size = number(map, "document", "file_size", MAX_DOCUMENT_SIZE)?.unwrap_or(DEFAULT_DOCUMENT_SIZE);
    let (file_name, mime_type) = match (file_name, mime_type) {
        (Some(name), Some(mime)) => (name, mime),
        (Some(name), None) => {
            let mime = mime_type_of(&name).unwrap_or("application/octet-stream");
            (name, mime.to_string())
        }
        (None, Some(mime)) => {
            let name = match MIME_TYPES.iter().find(|(_, known)| known.eq_ignore_ascii_case(&mime)) {
                Some((ext, _)) => format!("document.{ext}"),
                None => "document".to_string(),
            };
            (name, mime)
        }
        (None, None) => ("document.pdf".to_string(), "application/pdf".to_string()),
    };
    Ok(Attachment::Document { file_name, mime_type, file_size })
}

/// `type/subtype` of RFC 6838 characters.
fn valid_mime_type(mime: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    mime.split_once('/').is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_get_a_name_and_type_from_each_other() {
        let document = |body: Value| match parse_document(&body) {
            Ok(Attachment::Document { file_name, mime_type, .. }) => (file_name, mime_type),
            other => panic!("{other:?}"),
        };
        assert_eq!(document(json!({"file_name": "r.CSV"})), ("r.CSV".into(), "text/csv".into()));
        assert_eq!(document(json!({"mime_type": "image/png"})), ("document.png".into(), "image/png".into()));
        assert_eq!(document(json!({"file_name": "x.bin"})), ("x.bin".into(), "application/octet-stream".into()));
        assert!(parse_document(&json!({"mime_type": "pdf"})).is_err());
        assert!(parse_document(&json!({"name": "x.pdf"})).is_err());
        assert!(parse_document(&json!({"file_size": 0})).is_err());
    }
}
