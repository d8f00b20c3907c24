//! The HTTP front: `/v1` is the registry's API, `/registry` the control API,
//! and anything else is a JSON 404.

mod control;
mod public;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Map, Value};
use warp::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE};
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

use crate::error::RegistryError;
use crate::registry::Registry;

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
    field: Option<String>,
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

impl From<RegistryError> for HttpError {
    fn from(e: RegistryError) -> Self {
        Self { field: e.field().map(str::to_string), ..Self::new(e.status(), e.code(), e.to_string()) }
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

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(|b| b.is_ascii_whitespace())
}

/// Decodes a required JSON object body. What is wrong with the body as a
/// whole is `invalid_body`; what is wrong with its fields is for the caller.
fn object_body(body: &[u8]) -> Result<Map<String, Value>, HttpError> {
    if is_blank(body) {
        return Err(HttpError::invalid_body("a JSON body is required"));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(HttpError::invalid_body("the body must be a JSON object")),
        Err(e) => Err(HttpError::invalid_body(format!("invalid JSON body: {e}"))),
    }
}

/// Accepts an empty body or `{}`, for actions that take no parameters.
fn empty_body(body: &[u8]) -> Result<(), HttpError> {
    if is_blank(body) {
        return Ok(());
    }
    match object_body(body)?.keys().next() {
        None => Ok(()),
        Some(key) => Err(HttpError::invalid_body(format!("this call takes no parameters, not {key:?}"))),
    }
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

async fn dispatch(registry: &Registry, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> HttpResult {
    if let Some(segments) = segments_under(path, "/v1") {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        public::handle(registry, method, &segments, authorization, body).await
    } else if let Some(segments) = segments_under(path, "/registry") {
        control::handle(registry, method, &segments)
    } else {
        Err(HttpError::not_found())
    }
}

/// All routes of a registry-sandbox.
pub fn routes(registry: Arc<Registry>) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone {
    warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .and_then(move |method: Method, path: FullPath, headers: HeaderMap, body: Bytes| {
            let registry = registry.clone();
            async move {
                let result = dispatch(&registry, &method, path.as_str(), &headers, &body).await;
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
        assert_eq!(segments_under("/v1/services/a.b/verify", "/v1"), Some(vec!["services", "a.b", "verify"]));
        assert_eq!(segments_under("/v1", "/v1"), Some(vec![]));
        assert_eq!(segments_under("/v1/health/", "/v1"), Some(vec!["health"]));
        assert_eq!(segments_under("/v10/health", "/v1"), None);
        assert_eq!(segments_under("/registry/services", "/v1"), None);
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(object_body(br#"{"a": 1}"#).is_ok());
        for bad in [&b""[..], b"  ", b"[]", b"\"x\"", b"{", b"null"] {
            let e = object_body(bad).expect_err("refused");
            assert_eq!((e.status, e.code), (400, "invalid_body"), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(empty_body(b"").is_ok());
        assert!(empty_body(b" {} ").is_ok());
        assert!(empty_body(br#"{"force": true}"#).is_err());
    }

    #[test]
    fn refusals_carry_their_field() {
        let e = HttpError::from(RegistryError::invalid("kind", "kind must be 1-128 characters"));
        assert_eq!((e.status, e.code, e.field.as_deref()), (400, "invalid_entry", Some("kind")));
        let e = HttpError::from(RegistryError::ServiceExists("a".into()));
        assert_eq!((e.status, e.code, e.field), (409, "service_exists", None));
    }
}
