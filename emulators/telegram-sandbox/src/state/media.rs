//! What a received file becomes in a message: the `PhotoSize` copies of a
//! photo, smallest first, or the `Video`, `Document`, `Audio`, `Animation`
//! and `Voice` objects of the Bot API, with the file remembered by `file_id`.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::files::{FileIds, FileKind, Files};

/// Bounding boxes of the smaller copies Telegram keeps of a photo (sizes "s" and "m").
const THUMBNAIL_BOXES: [u32; 2] = [90, 320];

/// Known extensions, so a file given only a name or a type gets the other.
pub const MIME_TYPES: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("zip", "application/zip"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("ogg", "audio/ogg"),
    ("flac", "audio/flac"),
    ("wav", "audio/x-wav"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
];

/// The MIME type of a file name's extension, if it is a known one.
pub fn mime_type_of(file_name: &str) -> Option<&'static str> {
    let (_, extension) = file_name.rsplit_once('.')?;
    MIME_TYPES.iter().find(|(known, _)| known.eq_ignore_ascii_case(extension)).map(|(_, mime)| *mime)
}

/// A file as Telegram received it, before it has ids. Each kind shows only
/// the fields its Bot API object has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub kind: FileKind,
    pub file_size: u64,
    /// Sides of photos, videos and animations.
    pub width: u32,
    pub height: u32,
    /// Seconds of videos, animations, audio and voice notes.
    pub duration: u32,
    /// Name of videos, animations, audio and documents, when known.
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    /// Audio only, as the sender tagged it.
    pub performer: Option<String>,
    pub title: Option<String>,
    /// The file's content, when uploaded.
    pub bytes: Option<Bytes>,
}

impl NewFile {
    /// A file of `kind` of which only the size is known.
    pub fn new(kind: FileKind, file_size: u64) -> Self {
        Self {
            kind,
            file_size,
            width: 0,
            height: 0,
            duration: 0,
            file_name: None,
            mime_type: None,
            performer: None,
            title: None,
            bytes: None,
        }
    }

    /// The Bot API object of a file that is not a photo.
    fn object(&self, ids: FileIds) -> Value {
        let mut object = Map::new();
        object.insert("file_id".into(), json!(ids.file_id));
        object.insert("file_unique_id".into(), json!(ids.file_unique_id));
        if matches!(self.kind, FileKind::Video | FileKind::Animation) {
            object.insert("width".into(), json!(self.width));
            object.insert("height".into(), json!(self.height));
        }
        if self.kind != FileKind::Document {
            object.insert("duration".into(), json!(self.duration));
        }
        let mut optional = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                object.insert(key.into(), json!(value));
            }
        };
        if self.kind == FileKind::Audio {
            optional("performer", &self.performer);
            optional("title", &self.title);
        }
        if self.kind != FileKind::Voice {
            optional("file_name", &self.file_name);
        }
        optional("mime_type", &self.mime_type);
        object.insert("file_size".into(), json!(self.file_size));
        Value::Object(object)
    }
}

impl Files {
    /// Remembers a file as received by `bot_id` and answers what a message
    /// carrying it shows (the value of its `photo`, `video`... field).
    pub fn receive(&mut self, bot_id: i64, file: &NewFile) -> Value {
        let media = self.new_media();
        let content = match file.kind {
            FileKind::Photo => Value::Array(
                photo_sizes(file.width, file.height, file.file_size)
                    .into_iter()
                    .zip(0u8..)
                    .map(|((width, height, file_size), variant)| {
                        let ids = self.store(bot_id, media, variant, FileKind::Photo);
                        json!({
                            "file_id": ids.file_id,
                            "file_unique_id": ids.file_unique_id,
                            "width": width,
                            "height": height,
                            "file_size": file_size,
                        })
                    })
                    .collect(),
            ),
            kind => file.object(self.store(bot_id, media, 0, kind)),
        };
        self.set_content(bot_id, media, content.clone());
        if let Some(bytes) = &file.bytes {
            self.keep_bytes(media, bytes.clone(), file.file_name.clone());
        }
        content
    }
}

/// `(width, height, file_size)` of the copies Telegram keeps of a photo,
/// smallest first: one per thumbnail box the photo exceeds, then the photo.
/// Thumbnails keep the aspect ratio (rounded down, as Telegram's 90x67 of a
/// 1280x960 photo) and get a share of the bytes by area.
fn photo_sizes(width: u32, height: u32, file_size: u64) -> Vec<(u32, u32, u64)> {
    let longest = width.max(height);
    let area = u128::from(width) * u128::from(height);
    let mut sizes: Vec<(u32, u32, u64)> = THUMBNAIL_BOXES
        .iter()
        .filter(|side| longest > **side)
        .map(|side| {
            let scale = |x: u32| (u64::from(x) * u64::from(*side) / u64::from(longest)).max(1) as u32;
            let (w, h) = (scale(width), scale(height));
            let bytes = (u128::from(file_size) * u128::from(w) * u128::from(h) / area.max(1)).max(1);
            (w, h, u64::try_from(bytes).unwrap_or(file_size).min(file_size))
        })
        .collect();
    sizes.push((width, height, file_size));
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_sizes_are_scaled_copies_smallest_first() {
        assert_eq!(photo_sizes(1280, 960, 122_880), vec![(90, 67, 603), (320, 240, 7_680), (1280, 960, 122_880)]);
        // Portrait photos are scaled by their height.
        let portrait: Vec<(u32, u32)> = photo_sizes(960, 1280, 1000).iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(portrait, vec![(67, 90), (240, 320), (960, 1280)]);
        // A photo no bigger than a thumbnail box has no copy for it.
        assert_eq!(photo_sizes(200, 100, 500), vec![(90, 45, 101), (200, 100, 500)]);
        assert_eq!(photo_sizes(90, 90, 5), vec![(90, 90, 5)]);
        // Extreme shapes keep at least one pixel and one byte.
        assert_eq!(photo_sizes(10_000, 1, 1)[0], (90, 1, 1));
    }

    #[test]
    fn each_kind_shows_the_fields_of_its_bot_api_object() {
        let mut files = Files::default();
        let keys = |value: &Value| -> Vec<String> {
            let mut keys: Vec<String> = value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
            keys.sort_unstable();
            keys
        };
        let full = NewFile {
            width: 640,
            height: 360,
            duration: 12,
            file_name: Some("clip.mp4".into()),
            mime_type: Some("video/mp4".into()),
            performer: Some("Band".into()),
            title: Some("Song".into()),
            ..NewFile::new(FileKind::Video, 4096)
        };
        let base = ["file_id", "file_size", "file_unique_id"];
        let expect = |extra: &[&str]| {
            let mut all: Vec<String> = base.iter().chain(extra).map(|k| k.to_string()).collect();
            all.sort_unstable();
            all
        };
        for (kind, extra) in [
            (FileKind::Video, &["width", "height", "duration", "file_name", "mime_type"][..]),
            (FileKind::Animation, &["width", "height", "duration", "file_name", "mime_type"][..]),
            (FileKind::Audio, &["duration", "performer", "title", "file_name", "mime_type"][..]),
            (FileKind::Voice, &["duration", "mime_type"][..]),
            (FileKind::Document, &["file_name", "mime_type"][..]),
        ] {
            let object = files.receive(7, &NewFile { kind, ..full.clone() });
            assert_eq!(keys(&object), expect(extra), "{kind:?}");
            assert_eq!(object["file_size"], 4096);
        }
        let photo = files.receive(7, &NewFile { width: 1280, height: 960, ..NewFile::new(FileKind::Photo, 122_880) });
        let sizes = photo.as_array().expect("sizes");
        assert_eq!(sizes.len(), 3);
        assert_eq!(keys(&sizes[2]), expect(&["width", "height"]));
        // Every size can be sent again by its file_id and shows the whole photo.
        for size in sizes {
            let stored = files.find(size["file_id"].as_str().unwrap_or_default()).cloned().expect("stored");
            assert_eq!(files.content(&stored), Some(&photo));
        }
    }

    #[test]
    fn mime_types_come_from_known_extensions() {
        assert_eq!(mime_type_of("Report.PDF"), Some("application/pdf"));
        assert_eq!(mime_type_of("song.mp3"), Some("audio/mpeg"));
        assert_eq!(mime_type_of("archive.tar.unknown"), None);
        assert_eq!(mime_type_of("README"), None);
    }
}
