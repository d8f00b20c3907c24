//! `GET /file/bot<token>/<file_path>`: the bytes of a file at the path
//! `getFile` gave the bot. A wrong token is 401 as for calls; a path the bot
//! was never given, or whose bytes are gone, Telegram's 404 "Not Found".

use std::sync::Arc;

use warp::http::{header, Response, StatusCode};
use warp::hyper::Body;

use super::errors::ApiError;
use super::router::respond;
use crate::state::{mime_type_of, ImageFormat, Sandbox};

/// Splits `/file/bot<token>/<file_path>`; the path may have folders.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let (token, file_path) = path.strip_prefix("/file/bot")?.split_once('/')?;
    Some((token, file_path)).filter(|(token, file_path)| !token.is_empty() && !file_path.is_empty())
}

/// The Content-Type of a download: the image format the bytes have, else
/// what the path's extension says.
fn content_type(file_path: &str, bytes: &[u8]) -> &'static str {
    ImageFormat::sniff(bytes)
        .map(ImageFormat::mime_type)
        .or_else(|| mime_type_of(file_path))
        .unwrap_or("application/octet-stream")
}

/// Handles a GET whose path starts with `/file/bot`.
pub fn handle(sandbox: &Arc<Sandbox>, path: &str) -> Response<Body> {
    let Some((token, file_path)) = split_path(path) else {
        return respond(&Err(ApiError::not_found()));
    };
    let world = sandbox.world();
    let Some(bot_id) = world.bot_id_by_token(token) else {
        return respond(&Err(ApiError::unauthorized()));
    };
    let Some(bytes) = world.files.download(bot_id, file_path).cloned() else {
        tracing::info!(file_path, "file download: not found");
        return respond(&Err(ApiError::not_found()));
    };
    drop(world);
    tracing::info!(file_path, size = bytes.len(), "file download");
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type(file_path, &bytes))
        .header(header::CONTENT_LENGTH, bytes.len())
        // Served from the page's origin: never let a browser guess a type (HTML) the bytes were not given.
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| respond(&Err(ApiError::for_status(500, None))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_types() {
        assert_eq!(split_path("/file/bot1:abc/photos/file_0.jpg"), Some(("1:abc", "photos/file_0.jpg")));
        assert_eq!(split_path("/file/bot1:abc/"), None);
        assert_eq!(split_path("/file/bot/photos/file_0.jpg"), None);
        assert_eq!(split_path("/file/bot1:abc"), None);
        assert_eq!(content_type("photos/file_0.jpg", b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(content_type("documents/file_1.pdf", b"%PDF"), "application/pdf");
        assert_eq!(content_type("documents/file_2", b"?"), "application/octet-stream");
    }
}
