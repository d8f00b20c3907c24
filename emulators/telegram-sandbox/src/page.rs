//! The sandbox's web page: `GET /` and its assets under `/page/`, embedded in
//! the binary (no build step, nothing fetched at run time), and `GET
//! /sandbox/events`, the server-sent events that keep it live.

use std::convert::Infallible;
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use warp::http::{header, Response, StatusCode};
use warp::hyper::Body;
use warp::sse::Event;
use warp::Reply;

use crate::state::Sandbox;

/// (path under `/page/`, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", "text/javascript; charset=utf-8", include_str!("../page/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../page/api.js")),
    ("render.js", "text/javascript; charset=utf-8", include_str!("../page/render.js")),
    ("entities.js", "text/javascript; charset=utf-8", include_str!("../page/entities.js")),
    ("dom.js", "text/javascript; charset=utf-8", include_str!("../page/dom.js")),
    ("panels.js", "text/javascript; charset=utf-8", include_str!("../page/panels.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("../page/app.css")),
    ("favicon.svg", "image/svg+xml", include_str!("../page/favicon.svg")),
];

const INDEX: &str = include_str!("../page/index.html");

/// Scripts only from here and no inline code: text from bots can never run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset_response(content_type: &str, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::CONTENT_SECURITY_POLICY, CSP)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The page or one of its assets, for a GET of `path`; None for other paths.
pub fn asset(path: &str) -> Option<Response<Body>> {
    if path == "/" {
        return Some(asset_response("text/html; charset=utf-8", INDEX));
    }
    let name = path.strip_prefix("/page/")?;
    ASSETS.iter().find(|(asset, _, _)| *asset == name).map(|(_, content_type, body)| asset_response(content_type, body))
}

/// One event per change, named "change" with the notice as JSON data; a
/// page that fell behind gets `{"type":"resync"}`. Ends when the sandbox stops.
fn changes(sandbox: Arc<Sandbox>) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    let receiver = sandbox.subscribe();
    let hello = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let rest = stream::unfold((receiver, sandbox), |(mut receiver, sandbox)| async move {
        let data = tokio::select! {
            received = receiver.recv() => match received {
                Ok(notice) => notice.to_string(),
                Err(RecvError::Lagged(_)) => r#"{"type":"resync"}"#.to_string(),
                Err(RecvError::Closed) => return None,
            },
            _ = sandbox.stopped() => return None,
        };
        Some((Ok(Event::default().event("change").data(data)), (receiver, sandbox)))
    });
    hello.chain(rest)
}

/// `GET /sandbox/events`.
pub fn events(sandbox: Arc<Sandbox>) -> Response<Body> {
    warp::sse::reply(warp::sse::keep_alive().stream(changes(sandbox))).into_response()
}
