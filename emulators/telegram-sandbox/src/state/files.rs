//! Files bots received (photos, videos, documents, audio, animations, voice
//! notes), from users or by sending them, kept by `file_id` so later calls
//! can refer to them. Ids have Telegram's shape: a `file_id` is an opaque
//! base64url string valid only for the bot that received it, while a
//! `file_unique_id` is shorter and the same for every bot and every time.
//! Uploads keep their bytes (see [`Blobs`] for the cap), which bots download
//! by the `file_path` that `getFile` gives them.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use rand::Rng;
use serde_json::Value;

use super::blobs::Blobs;

/// What a file is; Telegram's ids start differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Video,
    Document,
    Audio,
    Animation,
    Voice,
}

impl FileKind {
    /// First byte of a `file_id`, TDLib's file type: real ids start "AgAC"
    /// (photo), "BAAC" (video), "BQAC" (document), "CQAC" (audio), "CgAC"
    /// (animation) and "AwAC" (voice).
    fn id_type(self) -> u8 {
        match self {
            FileKind::Photo => 2,
            FileKind::Voice => 3,
            FileKind::Video => 4,
            FileKind::Document => 5,
            FileKind::Audio => 9,
            FileKind::Animation => 10,
        }
    }

    /// First byte of a `file_unique_id`, the file's class: "AQAD" for photos,
    /// "AgAD" for everything stored as a document.
    fn unique_type(self) -> u8 {
        match self {
            FileKind::Photo => 1,
            _ => 2,
        }
    }

    /// The Message field (and the Bot API parameter) of this kind.
    pub fn field(self) -> &'static str {
        match self {
            FileKind::Photo => "photo",
            FileKind::Video => "video",
            FileKind::Document => "document",
            FileKind::Audio => "audio",
            FileKind::Animation => "animation",
            FileKind::Voice => "voice",
        }
    }

    /// The folder of the Bot API server's `file_path`s for this kind.
    pub fn directory(self) -> &'static str {
        match self {
            FileKind::Photo => "photos",
            FileKind::Video => "videos",
            FileKind::Document => "documents",
            FileKind::Audio => "music",
            FileKind::Animation => "animations",
            FileKind::Voice => "voice",
        }
    }

    /// TDLib's name of the file type, as its errors spell it.
    pub fn tdlib_name(self) -> &'static str {
        match self {
            FileKind::Photo => "Photo",
            FileKind::Video => "Video",
            FileKind::Document => "Document",
            FileKind::Audio => "Audio",
            FileKind::Animation => "Animation",
            FileKind::Voice => "VoiceNote",
        }
    }

    /// Whether a file of this kind may be sent as `wanted`: TDLib lets any
    /// document-like file (video, audio, voice...) stand for another, but
    /// never a photo for one of them or the other way round.
    pub fn usable_as(self, wanted: FileKind) -> bool {
        (self == FileKind::Photo) == (wanted == FileKind::Photo)
    }
}

/// A remembered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The bot whose `file_id` this is.
    pub bot_id: i64,
    pub kind: FileKind,
    /// The upload it belongs to (all sizes of a photo share one).
    media: u64,
    /// Which size of a photo (0 for other files).
    variant: u8,
}

/// The ids of a stored file, as put in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIds {
    pub file_id: String,
    pub file_unique_id: String,
}

/// Every file bots received, by `file_id`.
#[derive(Debug, Default)]
pub struct Files {
    by_id: HashMap<String, StoredFile>,
    /// What a message carrying an upload shows (the value of its `photo`,
    /// `video`... field), per bot, so a file sent again by `file_id` looks
    /// as it did.
    contents: HashMap<(i64, u64), Value>,
    /// Media ids given out, so no two uploads share one.
    media: HashSet<u64>,
    /// The media of each `file_unique_id`.
    by_unique_id: HashMap<String, u64>,
    /// Uploaded bytes by media, and the name they were uploaded with.
    blobs: Blobs,
    names: HashMap<u64, String>,
    /// The `file_path` `getFile` gave a bot for a file, by `file_unique_id`,
    /// and back: paths are per bot, as each bot has its own files folder.
    paths: HashMap<(i64, String), String>,
    path_media: HashMap<(i64, String), u64>,
}

impl Files {
    /// A new upload. The sizes of one photo share it, as in Telegram, and
    /// differ by `variant`.
    pub(super) fn new_media(&mut self) -> u64 {
        let mut rng = rand::thread_rng();
        loop {
            let media = rng.gen::<u64>();
            if self.media.insert(media) {
                return media;
            }
        }
    }

    /// Remembers one file of an upload, as received by `bot_id`.
    pub(super) fn store(&mut self, bot_id: i64, media: u64, variant: u8, kind: FileKind) -> FileIds {
        let file_unique_id = unique_id(kind, media, variant);
        let mut file_id = new_file_id(kind, bot_id, media, variant);
        // The random access hash makes a clash all but impossible; never reuse one anyway.
        while self.by_id.contains_key(&file_id) {
            file_id = new_file_id(kind, bot_id, media, variant);
        }
        self.by_id.insert(file_id.clone(), StoredFile { bot_id, kind, media, variant });
        self.by_unique_id.insert(file_unique_id.clone(), media);
        FileIds { file_id, file_unique_id }
    }

    /// Remembers what messages carrying an upload show for `bot_id`.
    pub(super) fn set_content(&mut self, bot_id: i64, media: u64, content: Value) {
        self.contents.insert((bot_id, media), content);
    }

    /// A file by its `file_id`, whichever bot it was given to.
    pub fn find(&self, file_id: &str) -> Option<&StoredFile> {
        self.by_id.get(file_id)
    }

    /// What a message carrying this file shows.
    pub fn content(&self, file: &StoredFile) -> Option<&Value> {
        self.contents.get(&(file.bot_id, file.media))
    }

    /// Keeps the bytes of an upload and the name it came with.
    pub(super) fn keep_bytes(&mut self, media: u64, bytes: Bytes, file_name: Option<String>) {
        self.blobs.insert(media, bytes);
        if let Some(name) = file_name {
            self.names.insert(media, name);
        }
    }

    /// The bytes of a file, unless it came without (by URL, from a user of
    /// the control API) or they were evicted. Every size of a photo has the
    /// bytes as uploaded: the sandbox makes no smaller copies.
    pub fn bytes(&self, file: &StoredFile) -> Option<&Bytes> {
        self.blobs.get(file.media)
    }

    /// The bytes of the file with this `file_unique_id` and the name they
    /// were uploaded with, if any.
    pub fn bytes_by_unique_id(&self, file_unique_id: &str) -> Option<(&Bytes, Option<&str>)> {
        let media = self.by_unique_id.get(file_unique_id)?;
        Some((self.blobs.get(*media)?, self.names.get(media).map(String::as_str)))
    }

    /// Whether bytes are kept for this `file_unique_id`.
    pub fn has_bytes(&self, file_unique_id: &str) -> bool {
        self.bytes_by_unique_id(file_unique_id).is_some()
    }

    /// The name a file was uploaded with.
    pub fn uploaded_name(&self, file: &StoredFile) -> Option<&str> {
        self.names.get(&file.media).map(String::as_str)
    }

    /// The `file_unique_id` of a stored file.
    pub fn unique_id(&self, file: &StoredFile) -> String {
        unique_id(file.kind, file.media, file.variant)
    }

    /// The `file_path` of a file for its bot: the one given before, else a
    /// new `<folder>/file_<n>[.<extension>]`, numbered per bot as the Bot
    /// API server numbers the files it downloads.
    pub fn file_path(&mut self, file: &StoredFile, extension: Option<&str>) -> String {
        let key = (file.bot_id, self.unique_id(file));
        if let Some(path) = self.paths.get(&key) {
            return path.clone();
        }
        let number = self.paths.keys().filter(|(bot_id, _)| *bot_id == file.bot_id).count();
        let suffix = extension.map(|e| format!(".{e}")).unwrap_or_default();
        let path = format!("{}/file_{number}{suffix}", file.kind.directory());
        self.path_media.insert((file.bot_id, path.clone()), file.media);
        self.paths.insert(key, path.clone());
        path
    }

    /// The bytes a bot downloads at `file_path`: None for a path `getFile`
    /// never gave it, or whose bytes were evicted since.
    pub fn download(&self, bot_id: i64, file_path: &str) -> Option<&Bytes> {
        let media = self.path_media.get(&(bot_id, file_path.to_string()))?;
        self.blobs.get(*media)
    }
}

fn new_file_id(kind: FileKind, bot_id: i64, media: u64, variant: u8) -> String {
    let mut bytes = vec![kind.id_type(), 0, 2, 0, 2, 0, 0, 0];
    bytes.extend_from_slice(&media.to_le_bytes());
    bytes.push(variant);
    bytes.extend_from_slice(&bot_id.to_le_bytes());
    bytes.extend_from_slice(&rand::thread_rng().gen::<u64>().to_le_bytes());
    base64url(&bytes)
}

/// Depends only on the file, so it is stable across bots and calls.
fn unique_id(kind: FileKind, media: u64, variant: u8) -> String {
    let mut bytes = vec![kind.unique_type(), 0, 3, 0];
    bytes.extend_from_slice(&media.to_le_bytes());
    bytes.push(variant);
    base64url(&bytes)
}

/// Base64url without padding, as Telegram writes its ids.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64url_matches_the_standard_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn ids_look_like_telegrams_and_are_remembered_per_bot() {
        let mut files = Files::default();
        let media = files.new_media();
        let small = files.store(7, media, 0, FileKind::Photo);
        let large = files.store(7, media, 2, FileKind::Photo);
        assert!(small.file_id.starts_with("AgAC"), "{}", small.file_id);
        assert!(small.file_unique_id.starts_with("AQAD"), "{}", small.file_unique_id);
        assert!(small.file_unique_id.len() < small.file_id.len());
        assert_ne!(small.file_id, large.file_id);
        assert_ne!(small.file_unique_id, large.file_unique_id);
        // The same file given to another bot: another file_id, the same unique id.
        let other_bot = files.store(8, media, 0, FileKind::Photo);
        assert_ne!(other_bot.file_id, small.file_id);
        assert_eq!(other_bot.file_unique_id, small.file_unique_id);

        files.set_content(7, media, json!(["sizes"]));
        let found = files.find(&small.file_id).cloned().expect("stored");
        assert_eq!((found.bot_id, found.kind), (7, FileKind::Photo));
        assert_eq!(files.content(&found), Some(&json!(["sizes"])));
        let theirs = files.find(&other_bot.file_id).cloned().expect("stored");
        assert_eq!(theirs.bot_id, 8);
        assert_eq!(files.content(&theirs), None, "each bot has its own view of a file");
        assert!(files.find("AgACunknown").is_none());

        let prefixes: Vec<(String, String)> =
            [FileKind::Video, FileKind::Document, FileKind::Audio, FileKind::Animation, FileKind::Voice]
                .into_iter()
                .map(|kind| {
                    let media = files.new_media();
                    let ids = files.store(7, media, 0, kind);
                    assert!(ids.file_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                    (ids.file_id[..4].to_string(), ids.file_unique_id[..4].to_string())
                })
                .collect();
        let expected = [("BAAC", "AgAD"), ("BQAC", "AgAD"), ("CQAC", "AgAD"), ("CgAC", "AgAD"), ("AwAC", "AgAD")];
        assert_eq!(prefixes, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn only_photos_and_document_like_files_stand_for_each_other() {
        assert!(FileKind::Video.usable_as(FileKind::Document));
        assert!(FileKind::Voice.usable_as(FileKind::Audio));
        assert!(FileKind::Photo.usable_as(FileKind::Photo));
        assert!(!FileKind::Photo.usable_as(FileKind::Document));
        assert!(!FileKind::Animation.usable_as(FileKind::Photo));
    }
}
