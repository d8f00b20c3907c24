//! Files users sent to bots (photos, documents), kept by `file_id` so later
//! calls can refer to them. Ids have Telegram's shape: a `file_id` is an
//! opaque base64url string valid only for the bot that received it, while a
//! `file_unique_id` is shorter and the same for every bot and every time.

use std::collections::{HashMap, HashSet};

use rand::Rng;

/// What a file is; Telegram's ids start differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Document,
}

impl FileKind {
    /// First byte of a `file_id`: real ones start "AgAC" (photo) and "BQAC" (document).
    fn id_type(self) -> u8 {
        match self {
            FileKind::Photo => 2,
            FileKind::Document => 5,
        }
    }

    /// First byte of a `file_unique_id`: "AQAD" (photo), "AgAD" (document).
    fn unique_type(self) -> u8 {
        match self {
            FileKind::Photo => 1,
            FileKind::Document => 2,
        }
    }
}

/// What is known of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub kind: FileKind,
    pub file_size: u64,
    /// Photos only.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Documents only.
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
}

/// A remembered file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The bot whose `file_id` this is.
    pub bot_id: i64,
    pub file_unique_id: String,
    pub meta: FileMeta,
}

/// The ids of a stored file, as put in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIds {
    pub file_id: String,
    pub file_unique_id: String,
}

/// Every file users sent, by `file_id`.
#[derive(Debug, Default)]
pub struct Files {
    by_id: HashMap<String, StoredFile>,
    /// Media ids given out, so no two uploads share one.
    media: HashSet<u64>,
}

impl Files {
    /// A new upload. The sizes of one photo share it, as in Telegram, and
    /// differ by `variant`.
    pub fn new_media(&mut self) -> u64 {
        let mut rng = rand::thread_rng();
        loop {
            let media = rng.gen::<u64>();
            if self.media.insert(media) {
                return media;
            }
        }
    }

    /// Remembers one file of an upload, as received by `bot_id`.
    pub fn store(&mut self, bot_id: i64, media: u64, variant: u8, meta: FileMeta) -> FileIds {
        let file_unique_id = unique_id(meta.kind, media, variant);
        let mut file_id = new_file_id(meta.kind, bot_id, media, variant);
        // The random access hash makes a clash all but impossible; never reuse one anyway.
        while self.by_id.contains_key(&file_id) {
            file_id = new_file_id(meta.kind, bot_id, media, variant);
        }
        self.by_id.insert(file_id.clone(), StoredFile { bot_id, file_unique_id: file_unique_id.clone(), meta });
        FileIds { file_id, file_unique_id }
    }

    /// A file by its `file_id`, if it was given to this bot.
    pub fn get(&self, bot_id: i64, file_id: &str) -> Option<&StoredFile> {
        self.by_id.get(file_id).filter(|file| file.bot_id == bot_id)
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

    fn photo() -> FileMeta {
        FileMeta {
            kind: FileKind::Photo,
            file_size: 10,
            width: Some(90),
            height: Some(68),
            file_name: None,
            mime_type: None,
        }
    }

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
        let small = files.store(7, media, 0, photo());
        let large = files.store(7, media, 2, photo());
        assert!(small.file_id.starts_with("AgAC"), "{}", small.file_id);
        assert!(small.file_unique_id.starts_with("AQAD"), "{}", small.file_unique_id);
        assert!(small.file_unique_id.len() < small.file_id.len());
        assert_ne!(small.file_id, large.file_id);
        assert_ne!(small.file_unique_id, large.file_unique_id);
        // The same file given to another bot: another file_id, the same unique id.
        let other_bot = files.store(8, media, 0, photo());
        assert_ne!(other_bot.file_id, small.file_id);
        assert_eq!(other_bot.file_unique_id, small.file_unique_id);

        assert_eq!(files.get(7, &small.file_id).map(|f| f.meta.width), Some(Some(90)));
        assert!(files.get(8, &small.file_id).is_none());
        assert!(files.get(7, "AgACunknown").is_none());
        let document = FileMeta { kind: FileKind::Document, width: None, height: None, ..photo() };
        let media = files.new_media();
        let document = files.store(7, media, 0, document);
        assert!(document.file_id.starts_with("BQAC") && document.file_unique_id.starts_with("AgAD"));
        assert!(document.file_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
