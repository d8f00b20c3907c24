//! `GET /sandbox/files/{file_unique_id}`: the bytes of an uploaded file, for
//! the page to show a photo or offer a document. Images known by their magic
//! number get their type; anything else is a download
//! (`application/octet-stream`, `Content-Disposition: attachment`), so no
//! uploaded bytes ever render as a page of this origin. 404 when the sandbox
//! has no bytes for the id (never uploaded, or evicted).

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::{header, Response, StatusCode};
use warp::hyper::Body;

use super::json_response;
use crate::state::{Files, ImageFormat, Sandbox};

/// The control API path of a file's bytes, when the sandbox has them.
pub(super) fn url(files: &Files, message: &Value) -> Option<String> {
    const KINDS: [&str; 6] = ["photo", "video", "animation", "document", "audio", "voice"];
    let media = KINDS.iter().find_map(|kind| message.get(*kind))?;
    // The largest size of a photo: the page shows that one.
    let file = match media {
        Value::Array(sizes) => sizes.last()?,
        object => object,
    };
    let unique_id = file.get("file_unique_id")?.as_str()?;
    files.has_bytes(unique_id).then(|| format!("/sandbox/files/{unique_id}"))
}

/// A name safe in a quoted header parameter: ASCII letters, digits and `.-_ `, the rest `_`.
fn safe_file_name(name: Option<&str>) -> String {
    let name: String = name
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' })
        .collect();
    if name.trim_matches(['.', ' ', '_']).is_empty() {
        "file".to_string()
    } else {
        name
    }
}

pub(super) fn serve(sandbox: &Arc<Sandbox>, file_unique_id: &str) -> Response<Body> {
    let found = {
        let world = sandbox.world();
        world.files.bytes_by_unique_id(file_unique_id).map(|(bytes, name)| (bytes.clone(), name.map(String::from)))
    };
    let Some((bytes, name)) = found else {
        return json_response(404, &json!({"error": format!("no bytes for file {file_unique_id}")}));
    };
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_LENGTH, bytes.len())
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=3600");
    let builder = match ImageFormat::sniff(&bytes) {
        Some(format) => builder.header(header::CONTENT_TYPE, format.mime_type()),
        None => builder.header(header::CONTENT_TYPE, "application/octet-stream").header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", safe_file_name(name.as_deref())),
        ),
    };
    builder.body(Body::from(bytes)).unwrap_or_else(|_| json_response(500, &json!({"error": "cannot build the answer"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_made_safe_for_the_header() {
        assert_eq!(safe_file_name(Some("report 2024.pdf")), "report 2024.pdf");
        assert_eq!(safe_file_name(Some("a\"b\r\n.txt")), "a_b__.txt");
        assert_eq!(safe_file_name(Some("отчёт.pdf")), "_____.pdf");
        assert_eq!(safe_file_name(Some("..")), "file");
        assert_eq!(safe_file_name(None), "file");
    }
}
