//! `getFile`: a `File` object with the `file_path` a bot downloads the file
//! at, `GET /file/bot<token>/<file_path>` (see `bot_api::download`). Errors
//! as the Bot API server words them: a `file_id` TDLib cannot read is
//! "invalid file_id" whatever TDLib said, a file over 20 MB "file is too
//! big", and a download Telegram's servers refuse — another bot's file, or
//! here a file whose bytes the sandbox does not have (sent by URL, sent by
//! a user of the control API, or evicted) — "wrong file_id or the file is
//! temporarily unavailable".

use serde_json::{json, Value};

use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::input_file;
use crate::bot_api::params::Params;
use crate::state::{mime_type_of, FileKind, Files, ImageFormat, StoredFile};

/// Largest file bots may download from Telegram's Bot API: 20 MB.
pub const MAX_DOWNLOAD_SIZE: u64 = 20 * 1024 * 1024;

fn unavailable() -> ApiError {
    ApiError::bad_request("wrong file_id or the file is temporarily unavailable")
}

/// The size of the file as the message carrying it declared it (the size
/// of this copy of a photo), for files whose bytes the sandbox lacks.
fn declared_size(files: &Files, file: &StoredFile, file_id: &str) -> Option<u64> {
    let content = files.content(file)?;
    let object = match content {
        Value::Array(sizes) => sizes.iter().find(|size| size["file_id"] == file_id)?,
        object => object,
    };
    object.get("file_size").and_then(Value::as_u64)
}

/// The extension of the file's path: the image format of a photo (Telegram
/// turns every photo into a JPEG; the sandbox keeps the bytes as uploaded),
/// else the uploaded name's, when it is a known one.
fn extension(files: &Files, file: &StoredFile, bytes: &[u8]) -> Option<String> {
    if let Some(format) = ImageFormat::sniff(bytes) {
        return Some(format.extension().to_string());
    }
    if file.kind == FileKind::Photo {
        return Some("jpg".to_string());
    }
    let name = files.uploaded_name(file).filter(|name| mime_type_of(name).is_some())?;
    name.rsplit_once('.').map(|(_, extension)| extension.to_ascii_lowercase())
}

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let file_id = params.str("file_id").unwrap_or_default();
    if file_id.is_empty() {
        return Err(ApiError::bad_request("file_id not specified"));
    }
    let invalid = || ApiError::bad_request("invalid file_id");
    input_file::check_encoding(&file_id).map_err(|_| invalid())?;
    let mut world = ctx.sandbox.world();
    let files = &mut world.files;
    // Ids the sandbox never gave out are ids TDLib could not unserialize.
    let file = files.find(&file_id).cloned().ok_or_else(invalid)?;
    if file.bot_id != ctx.bot_id {
        return Err(unavailable());
    }
    let bytes = files.bytes(&file).cloned();
    let size = match &bytes {
        Some(bytes) => Some(bytes.len() as u64),
        None => declared_size(files, &file, &file_id),
    };
    if size.is_some_and(|size| size > MAX_DOWNLOAD_SIZE) {
        return Err(ApiError::bad_request("file is too big"));
    }
    let bytes = bytes.ok_or_else(unavailable)?;
    let extension = extension(files, &file, &bytes);
    let file_path = files.file_path(&file, extension.as_deref());
    Ok(ApiReply::new(json!({
        "file_id": file_id,
        "file_unique_id": files.unique_id(&file),
        "file_size": bytes.len(),
        "file_path": file_path,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NewFile;

    #[test]
    fn photos_get_their_format_and_documents_their_known_extension() {
        let mut files = Files::default();
        let mut receive = |kind, name: Option<&str>, bytes: &'static [u8]| {
            let file = NewFile {
                file_name: name.map(String::from),
                bytes: Some(bytes.into()),
                width: 1,
                height: 1,
                ..NewFile::new(kind, bytes.len() as u64)
            };
            let content = files.receive(7, &file);
            let id = match &content {
                Value::Array(sizes) => sizes[0]["file_id"].clone(),
                object => object["file_id"].clone(),
            };
            id.as_str().unwrap_or_default().to_string()
        };
        let png = receive(FileKind::Photo, Some("a.jpg"), b"\x89PNG\r\n\x1a\nrest");
        let raw = receive(FileKind::Photo, None, b"not an image");
        let pdf = receive(FileKind::Document, Some("Report.PDF"), b"%PDF");
        let odd = receive(FileKind::Document, Some("data.weird"), b"?");
        let ext = |id: &str| {
            let file = files.find(id).cloned().expect("stored");
            let bytes = files.bytes(&file).cloned().expect("kept");
            extension(&files, &file, &bytes)
        };
        assert_eq!(ext(&png).as_deref(), Some("png"));
        assert_eq!(ext(&raw).as_deref(), Some("jpg"));
        assert_eq!(ext(&pdf).as_deref(), Some("pdf"));
        assert_eq!(ext(&odd), None);
    }
}
