//! The file of a media message as a call gives it — an uploaded file part, an
//! HTTP URL or a `file_id` — read and checked as the Bot API server and TDLib
//! do, with their error texts. URLs are taken as fetched: the sandbox never
//! downloads them.

use bytes::Bytes;
use serde_json::Value;

use super::errors::ApiError;
use super::params::{Params, Upload};
use crate::state::{FileKind, Files};

/// Largest photo TDLib uploads: 10 MB.
pub const MAX_PHOTO_SIZE: u64 = 10 * 1024 * 1024;

/// How a call gives a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFile {
    Upload(Upload),
    Url(String),
    FileId(String),
}

impl InputFile {
    /// The file `value` names, as TDLib's Bot API server reads it: an
    /// `attach://<name>` value is the file part `<name>`, another non-empty
    /// value a URL (when it has a dot) or a `file_id`, and an empty one the
    /// file part `part` (the parameter's own name; InputMedia have none).
    pub fn read(params: &Params, part: Option<&str>, value: &str) -> Option<Self> {
        let part = match value.strip_prefix("attach://") {
            Some(name) => name,
            None if value.contains('.') => return Some(InputFile::Url(value.to_string())),
            None if !value.is_empty() => return Some(InputFile::FileId(value.to_string())),
            None => part?,
        };
        params.upload(part).cloned().map(InputFile::Upload)
    }
}

/// A file that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Uploaded, or to be fetched from a URL: a file Telegram receives now.
    New {
        /// None for a URL: its size is unknown until fetched.
        file_size: Option<u64>,
        file_name: Option<String>,
        url: Option<String>,
        /// What was uploaded; None for a URL (the sandbox fetches nothing).
        bytes: Option<Bytes>,
    },
    /// A file the bot received before: what messages carrying it show.
    Known { kind: FileKind, content: Value },
}

/// Telegram's answer for a `file_id` that is not this bot's (or not a file
/// at all) and for a URL it cannot use.
pub fn wrong_file() -> ApiError {
    ApiError::bad_request("wrong file identifier/HTTP URL specified")
}

/// Checks a file to be sent as `wanted` by `bot_id`.
pub fn check(input: &InputFile, wanted: FileKind, files: &Files, bot_id: i64) -> Result<Checked, ApiError> {
    match input {
        InputFile::Upload(upload) => {
            if upload.size() == 0 {
                return Err(ApiError::bad_request("file must be non-empty"));
            }
            if wanted == FileKind::Photo && upload.size() > MAX_PHOTO_SIZE {
                return Err(ApiError::bad_request(format!(
                    "file of size {} bytes is too big for a photo; the maximum size is {MAX_PHOTO_SIZE} bytes",
                    upload.size()
                )));
            }
            Ok(Checked::New {
                file_size: Some(upload.size()),
                file_name: Some(upload.file_name.clone()).filter(|name| !name.is_empty()),
                url: None,
                bytes: Some(upload.bytes.clone()),
            })
        }
        InputFile::Url(url) => {
            check_url(url).map_err(|why| ApiError::bad_request(format!("invalid file HTTP URL specified: {why}")))?;
            Ok(Checked::New { file_size: None, file_name: url_file_name(url), url: Some(url.clone()), bytes: None })
        }
        InputFile::FileId(file_id) => {
            check_encoding(file_id)
                .map_err(|why| ApiError::bad_request(format!("wrong remote file identifier specified: {why}")))?;
            let stored = files.find(file_id).ok_or_else(wrong_file)?;
            // TDLib knows a file's type from its id; only Telegram's servers
            // know whose it is.
            if !stored.kind.usable_as(wanted) {
                return Err(ApiError::bad_request(format!(
                    "can't use file of type {} as {}",
                    stored.kind.tdlib_name(),
                    wanted.tdlib_name()
                )));
            }
            if stored.bot_id != bot_id {
                return Err(wrong_file());
            }
            let content = files.content(stored).cloned().ok_or_else(wrong_file)?;
            Ok(Checked::Known { kind: stored.kind, content })
        }
    }
}

/// TDLib's checks of a URL (its `parse_url`): http or https, a host, a valid port.
fn check_url(url: &str) -> Result<(), &'static str> {
    let scheme_end = url.find([':', '/', '?', '#', '@', '[', ']']).unwrap_or(url.len());
    let rest = match url[scheme_end..].strip_prefix("://") {
        Some(rest) if ["http", "https"].contains(&url[..scheme_end].to_ascii_lowercase().as_str()) => rest,
        Some(_) => return Err("Unsupported URL protocol"),
        None => url,
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo_host = match authority.rfind([':', ']', '@']) {
        Some(colon) if colon > 0 && authority[colon..].starts_with(':') => {
            let port = authority[colon + 1..].parse::<u32>().ok().filter(|p| (1..=65_535).contains(p));
            if port.is_none() {
                return Err("Wrong port number specified in the URL");
            }
            &authority[..colon]
        }
        _ => authority,
    };
    let host = userinfo_host.rsplit('@').next().unwrap_or_default();
    match host {
        "" => Err("URL host is empty"),
        "." => Err("Host is invalid"),
        _ => Ok(()),
    }
}

/// TDLib's checks of base64url, the encoding of every `file_id`.
pub(crate) fn check_encoding(file_id: &str) -> Result<(), &'static str> {
    let unpadded = file_id.trim_end_matches('=');
    let padding = file_id.len() - unpadded.len();
    if padding >= 3 {
        return Err("Wrong string padding");
    }
    if padding > 0 && !file_id.len().is_multiple_of(4) {
        return Err("Wrong padding length");
    }
    if unpadded.len() % 4 == 1 {
        return Err("Wrong string length");
    }
    if !unpadded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err("Wrong character in the string");
    }
    Ok(())
}

/// The name a file fetched from `url` gets: the last segment of its path.
fn url_file_name(url: &str) -> Option<String> {
    let without_query = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let path = without_query.split_once("://").map_or(without_query, |(_, rest)| rest);
    let (_, name) = path.rsplit_once('/')?;
    Some(name.to_string()).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NewFile;

    #[test]
    fn values_name_uploads_urls_or_file_ids() {
        let params = Params::parse(
            "",
            Some("multipart/form-data; boundary=b"),
            b"--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\nJPEG\r\n--b--",
        )
        .unwrap();
        let upload = InputFile::Upload(Upload::new("a.jpg", &b"JPEG"[..]));
        assert_eq!(InputFile::read(&params, Some("photo"), ""), Some(upload.clone()));
        assert_eq!(InputFile::read(&params, None, "attach://photo"), Some(upload));
        assert_eq!(InputFile::read(&params, None, "attach://other"), None);
        assert_eq!(InputFile::read(&params, None, ""), None);
        assert_eq!(InputFile::read(&params, Some("video"), ""), None);
        assert_eq!(
            InputFile::read(&params, Some("photo"), "https://x.org/a.png"),
            Some(InputFile::Url("https://x.org/a.png".into()))
        );
        assert_eq!(InputFile::read(&params, Some("photo"), "AgACxyz"), Some(InputFile::FileId("AgACxyz".into())));
    }

    #[test]
    fn urls_are_checked_as_tdlib_parses_them() {
        assert_eq!(check_url("https://example.com/a.jpg"), Ok(()));
        assert_eq!(check_url("HTTP://user@example.com:8080/a.jpg?x=1"), Ok(()));
        assert_eq!(check_url("example.com/a.jpg"), Ok(()), "http is assumed");
        assert_eq!(check_url("ftp://example.com/a.jpg"), Err("Unsupported URL protocol"));
        assert_eq!(check_url("/tmp/photo.jpg"), Err("URL host is empty"));
        assert_eq!(check_url("https://example.com:0/a.jpg"), Err("Wrong port number specified in the URL"));
        assert_eq!(check_url("https://example.com:99999/a.jpg"), Err("Wrong port number specified in the URL"));
        assert_eq!(url_file_name("https://example.com/files/report.pdf?dl=1"), Some("report.pdf".into()));
        assert_eq!(url_file_name("https://example.com/"), None);
        assert_eq!(url_file_name("https://example.com"), None);
    }

    #[test]
    fn file_ids_are_checked_then_looked_up_for_this_bot_only() {
        let mut files = Files::default();
        let photo = files.receive(7, &NewFile { width: 800, height: 600, ..NewFile::new(FileKind::Photo, 5000) });
        let photo_id = photo[0]["file_id"].as_str().unwrap_or_default().to_string();
        let video = files.receive(7, &NewFile::new(FileKind::Video, 5000));
        let video_id = video["file_id"].as_str().unwrap_or_default().to_string();
        let error = |id: &str, wanted: FileKind, bot: i64| {
            check(&InputFile::FileId(id.into()), wanted, &files, bot).unwrap_err().description
        };

        assert_eq!(
            check(&InputFile::FileId(photo_id.clone()), FileKind::Photo, &files, 7),
            Ok(Checked::Known { kind: FileKind::Photo, content: photo })
        );
        // Any document-like file stands for another.
        assert_eq!(
            check(&InputFile::FileId(video_id.clone()), FileKind::Document, &files, 7),
            Ok(Checked::Known { kind: FileKind::Video, content: video })
        );
        assert_eq!(error(&photo_id, FileKind::Photo, 8), "Bad Request: wrong file identifier/HTTP URL specified");
        assert_eq!(error("AgACunknown0", FileKind::Photo, 7), "Bad Request: wrong file identifier/HTTP URL specified");
        assert_eq!(error(&video_id, FileKind::Photo, 8), "Bad Request: can't use file of type Video as Photo");
        assert_eq!(error(&photo_id, FileKind::Voice, 7), "Bad Request: can't use file of type Photo as VoiceNote");
        assert_eq!(
            error("my photo", FileKind::Photo, 7),
            "Bad Request: wrong remote file identifier specified: Wrong character in the string"
        );
        assert_eq!(
            error("AgACA", FileKind::Photo, 7),
            "Bad Request: wrong remote file identifier specified: Wrong string length"
        );
    }

    #[test]
    fn uploads_must_have_bytes_and_photos_at_most_10_mb() {
        let files = Files::default();
        let upload = |size: u64| InputFile::Upload(Upload::new("a.jpg", vec![0; size as usize]));
        let error = |size, kind| check(&upload(size), kind, &files, 7).unwrap_err().description;
        assert_eq!(error(0, FileKind::Document), "Bad Request: file must be non-empty");
        assert_eq!(
            error(MAX_PHOTO_SIZE + 1, FileKind::Photo),
            "Bad Request: file of size 10485761 bytes is too big for a photo; the maximum size is 10485760 bytes"
        );
        assert!(check(&upload(MAX_PHOTO_SIZE), FileKind::Photo, &files, 7).is_ok());
        assert_eq!(
            check(&upload(MAX_PHOTO_SIZE + 1), FileKind::Document, &files, 7),
            Ok(Checked::New {
                file_size: Some(MAX_PHOTO_SIZE + 1),
                file_name: Some("a.jpg".into()),
                url: None,
                bytes: Some(vec![0; MAX_PHOTO_SIZE as usize + 1].into()),
            })
        );
    }
}
