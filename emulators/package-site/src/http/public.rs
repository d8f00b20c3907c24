//! The site as a client reads it: channel indexes, pool files and the installer.

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use warp::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use warp::http::{Method, Response};
use warp::hyper::Body;

use super::{json, only, HttpResult};
use crate::error::SiteError;
use crate::store::Store;

const READ_CHUNK: usize = 64 * 1024;

/// `GET|HEAD /channels/{channel}.json`.
pub(super) fn index(store: &Store, method: &Method, name: &str) -> HttpResult {
    only(method, "GET, HEAD")?;
    let channel = name.strip_suffix(".json").unwrap_or(name);
    json(200, &store.index(channel)?, method)
}

/// `GET|HEAD /pool/{file}`; `rest` is everything after `/pool/`, so more than
/// one segment is a path inside `{file}` and refused.
pub(super) async fn pool(store: &Store, method: &Method, rest: &[&str]) -> HttpResult {
    only(method, "GET, HEAD")?;
    let [name] = rest else { return Err(SiteError::InvalidFile) };
    let stored = store.file(name)?;
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        // A reset between the lookup and the open unpublished the file.
        let file = tokio::fs::File::open(&stored.path).await.map_err(|_| SiteError::FileNotFound)?;
        store.record_download(name);
        Body::wrap_stream(chunks(file))
    };
    Response::builder()
        .status(200)
        .header(CONTENT_TYPE, "application/vnd.debian.binary-package")
        .header(CONTENT_LENGTH, stored.size)
        .header(ETAG, format!("\"sha256:{}\"", stored.sha256))
        .body(body)
        .map_err(|e| SiteError::internal("building a response", e))
}

/// The installer as this repository has it (deploy/install.sh).
const INSTALLER: &str = include_str!("../../../../deploy/install.sh");

/// `GET|HEAD /install.sh`.
pub(super) fn installer(method: &Method) -> HttpResult {
    only(method, "GET, HEAD")?;
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(INSTALLER) };
    Response::builder()
        .status(200)
        .header(CONTENT_TYPE, "text/x-shellscript; charset=utf-8")
        .header(CONTENT_LENGTH, INSTALLER.len())
        .body(body)
        .map_err(|e| SiteError::internal("building a response", e))
}

/// The file's bytes as a stream, so a large package is never held in memory.
fn chunks(file: tokio::fs::File) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send {
    futures::stream::try_unfold(file, |mut file| async move {
        let mut buffer = vec![0; READ_CHUNK];
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.truncate(read);
        Ok(Some((Bytes::from(buffer), file)))
    })
}
