//! The bytes of uploaded files, kept in memory so bots can download them
//! (`getFile`) and the page can show them, and what the bytes say of
//! themselves: an image's format and sides, read from its header.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

/// Most bytes kept at once. A long-running sandbox receives uploads without
/// end; past this, the oldest uploads lose their bytes (their ids stay valid,
/// so sending them again by `file_id` still works, but they can no longer be
/// downloaded or shown).
pub const MAX_KEPT_BYTES: usize = 256 * 1024 * 1024;

/// The bytes of uploads, by media id, oldest evicted first.
#[derive(Debug)]
pub struct Blobs {
    by_media: HashMap<u64, Bytes>,
    /// Media ids in the order their bytes came.
    order: VecDeque<u64>,
    total: usize,
    cap: usize,
}

impl Default for Blobs {
    fn default() -> Self {
        Self::with_cap(MAX_KEPT_BYTES)
    }
}

impl Blobs {
    /// A store keeping at most `cap` bytes.
    pub fn with_cap(cap: usize) -> Self {
        Self { by_media: HashMap::new(), order: VecDeque::new(), total: 0, cap }
    }

    /// Keeps the bytes of `media`, evicting the oldest bytes while the total
    /// would exceed the cap. Bytes bigger than the cap alone are not kept.
    pub fn insert(&mut self, media: u64, bytes: Bytes) {
        if bytes.len() > self.cap {
            return;
        }
        while self.total + bytes.len() > self.cap {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(evicted) = self.by_media.remove(&oldest) {
                self.total -= evicted.len();
            }
        }
        self.total += bytes.len();
        if let Some(previous) = self.by_media.insert(media, bytes) {
            self.total -= previous.len();
            self.order.retain(|m| *m != media);
        }
        self.order.push_back(media);
    }

    /// The bytes of `media`, unless never kept or evicted.
    pub fn get(&self, media: u64) -> Option<&Bytes> {
        self.by_media.get(&media)
    }

    /// Bytes kept now.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.total
    }
}

/// An image format a browser shows, known by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    WebP,
}

impl ImageFormat {
    /// The format of `bytes`, if they start as one of these images do.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else {
            None
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::WebP => "webp",
        }
    }
}

/// `(width, height)` of a PNG, JPEG, GIF or WebP image from its header;
/// None for other bytes or a header cut short.
pub fn image_sides(bytes: &[u8]) -> Option<(u32, u32)> {
    let le16 = |at: usize| bytes.get(at..at + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
    let be32 = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let le24 = |at: usize| bytes.get(at..at + 3).map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]));
    let sides = match ImageFormat::sniff(bytes)? {
        // IHDR is always the first chunk.
        ImageFormat::Png => (be32(16)?, be32(20)?),
        ImageFormat::Gif => (le16(6)?, le16(8)?),
        ImageFormat::Jpeg => jpeg_sides(bytes)?,
        ImageFormat::WebP => match bytes.get(12..16)? {
            b"VP8 " => (le16(26)? & 0x3fff, le16(28)? & 0x3fff),
            b"VP8L" => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                ((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
            }
            b"VP8X" => (le24(24)? + 1, le24(27)? + 1),
            _ => return None,
        },
    };
    Some(sides).filter(|(w, h)| *w > 0 && *h > 0)
}

/// The sides in a JPEG's first start-of-frame segment.
fn jpeg_sides(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Segments start with 0xFF (padding 0xFFs may repeat), then the marker.
        while bytes.get(at) == Some(&0xff) && bytes.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        if *bytes.get(at)? != 0xff {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
        // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker) {
            let height = u16::from_be_bytes([*bytes.get(at + 5)?, *bytes.get(at + 6)?]);
            let width = u16::from_be_bytes([*bytes.get(at + 7)?, *bytes.get(at + 8)?]);
            return Some((u32::from(width), u32::from(height)));
        }
        if length < 2 {
            return None;
        }
        at += 2 + length;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_bytes_go_first_beyond_the_cap() {
        let mut blobs = Blobs::with_cap(10);
        blobs.insert(1, Bytes::from_static(b"aaaa"));
        blobs.insert(2, Bytes::from_static(b"bbbb"));
        assert_eq!(blobs.total(), 8);
        blobs.insert(3, Bytes::from_static(b"cccc"));
        assert_eq!(blobs.get(1), None, "evicted");
        assert_eq!(blobs.get(2).map(|b| &b[..]), Some(&b"bbbb"[..]));
        assert_eq!(blobs.get(3).map(|b| &b[..]), Some(&b"cccc"[..]));
        assert_eq!(blobs.total(), 8);
        blobs.insert(4, Bytes::from(vec![0; 11]));
        assert_eq!(blobs.get(4), None, "bigger than the cap alone");
        assert_eq!(blobs.total(), 8);
        blobs.insert(5, Bytes::from(vec![0; 10]));
        assert_eq!((blobs.get(2), blobs.get(3), blobs.total()), (None, None, 10));
    }

    #[test]
    fn formats_and_sides_come_from_the_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(ImageFormat::sniff(&png), Some(ImageFormat::Png));
        assert_eq!(image_sides(&png), Some((640, 480)));
        assert_eq!(image_sides(&png[..20]), None, "cut short");

        let gif = b"GIF89a\x20\x03\x58\x02rest";
        assert_eq!((ImageFormat::sniff(gif), image_sides(gif)), (Some(ImageFormat::Gif), Some((800, 600))));

        // SOI, an APP0 segment, then SOF0 with height 300 and width 400.
        let jpeg =
            [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90];
        assert_eq!((ImageFormat::sniff(&jpeg), image_sides(&jpeg)), (Some(ImageFormat::Jpeg), Some((400, 300))));

        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x1f, 0x00, 0x00, 0x0f, 0x00, 0x00]);
        assert_eq!((ImageFormat::sniff(&webp), image_sides(&webp)), (Some(ImageFormat::WebP), Some((32, 16))));

        assert_eq!(ImageFormat::sniff(b"%PDF-1.7"), None);
        assert_eq!(image_sides(b"%PDF-1.7"), None);
    }
}
