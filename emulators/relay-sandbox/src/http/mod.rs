//! The HTTP front: `/v1` is the public ledger API, `/relay` the control API,
//! and anything else is a JSON 404.

mod control;
mod public;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use warp::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE};
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

use crate::error::LedgerError;
use crate::ledger::Relay;

/// A successful answer: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

/// A refusal, answered as `{"error": code, "message": message[, "field": field]}`.
#[derive(Debug)]
struct HttpError {
    status: u16,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

type HttpResult = Result<Answer, HttpError>;

impl HttpError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, allow: None }
    }

    fn not_found() -> Self {
        Self::new(404, "not_found", "no such route")
    }

    fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_body", message)
    }
}

impl From<LedgerError> for HttpError {
    fn from(e: LedgerError) -> Self {
        Self { field: e.field(), ..Self::new(e.status(), e.code(), e.to_string()) }
    }
}

fn answer(status: u16, body: impl Serialize) -> HttpResult {
    let body = serde_json::to_value(body).map_err(|e| HttpError::new(500, "internal", e.to_string()))?;
    Ok(Answer { status, body })
}

/// Refuses any method but `allowed` with 405.
fn only(method: &Method, allowed: &'static str) -> Result<(), HttpError> {
    if method.as_str() == allowed {
        return Ok(());
    }
    Err(method_not_allowed(method, allowed))
}

fn method_not_allowed(method: &Method, allowed: &'static str) -> HttpError {
    HttpError {
        allow: Some(allowed),
        ..HttpError::new(405, "method_not_allowed", format!("{method} is not allowed here; use {allowed}"))
    }
}

/// Decodes a required JSON body, naming what is wrong with it.
fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(HttpError::invalid_body("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| HttpError::invalid_body(format!("invalid JSON body: {e}")))
}

/// Accepts an empty body or `{}`, for actions that take no parameters.
fn empty_body(body: &[u8]) -> Result<(), HttpError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(());
    }
    json_body::<Nothing>(body).map(|_| ())
}

/// The rest of `path` below `prefix`, split into segments; `None` if `path` is not under it.
fn segments_under<'p>(path: &'p str, prefix: &str) -> Option<Vec<&'p str>> {
    let rest = path.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

fn respond(result: HttpResult) -> Response<Body> {
    let (status, body, allow) = match result {
        Ok(Answer { status, body }) => (status, body, None),
        Err(e) => {
            let mut body = json!({"error": e.code, "message": e.message});
            if let (Some(field), Some(map)) = (e.field, body.as_object_mut()) {
                map.insert("field".into(), json!(field));
            }
            (e.status, body, e.allow)
        }
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(CONTENT_TYPE, "application/json");
    if let Some(allow) = allow {
        builder = builder.header(ALLOW, allow);
    }
    builder.body(Body::from(body.to_string())).unwrap_or_else(|_| Response::new(Body::from("{}")))
}

fn dispatch(relay: &Relay, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> HttpResult {
    if let Some(segments) = segments_under(path, "/v1") {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        public::handle(relay, method, &segments, authorization)
    } else if let Some(segments) = segments_under(path, "/relay") {
        control::handle(relay, method, &segments, body)
    } else {
        Err(HttpError::not_found())
    }
}

/// All routes of a relay-sandbox.
pub fn routes(relay: Arc<Relay>) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone {
    warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .and_then(move |method: Method, path: FullPath, headers: HeaderMap, body: Bytes| {
            let relay = relay.clone();
            async move {
                let result = dispatch(&relay, &method, path.as_str(), &headers, &body);
                match &result {
                    Ok(a) => tracing::debug!(%method, path = path.as_str(), status = a.status, "request"),
                    Err(e) => {
                        tracing::debug!(%method, path = path.as_str(), status = e.status, code = e.code, "refused")
                    }
                }
                Ok::<_, Infallible>(respond(result))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_below_their_prefix_only() {
        assert_eq!(segments_under("/v1/transactions/ab", "/v1"), Some(vec!["transactions", "ab"]));
        assert_eq!(segments_under("/v1", "/v1"), Some(vec![]));
        assert_eq!(segments_under("/v1/health/", "/v1"), Some(vec!["health"]));
        assert_eq!(segments_under("/v10/health", "/v1"), None);
        assert_eq!(segments_under("/relay", "/v1"), None);
    }
}
