//! The JSON API front that the registry and relay emulators share: answers and
//! refusals, body decoding, path splitting, and a warp filter that hands every
//! request to one `dispatch` function. Each emulator keeps only its routing and
//! how its own errors become refusals.
//!
//! Refusals are answered as `{"error": code, "message": message[, "field": field]}`,
//! with an `Allow` header on a 405.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use warp::http::header::{ALLOW, CONTENT_TYPE};
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

/// A successful answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A refusal, answered as `{"error": code, "message": message[, "field": field]}`.
#[derive(Debug)]
pub struct HttpError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, where there is one worth naming.
    pub field: Option<String>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

pub type HttpResult = Result<Answer, HttpError>;

impl HttpError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, allow: None }
    }

    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such route")
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_body", message)
    }

    /// The same refusal naming `field`; `None` names none.
    pub fn with_field(self, field: Option<&str>) -> Self {
        Self { field: field.map(str::to_string), ..self }
    }
}

/// A successful answer with `body` as JSON.
pub fn answer(status: u16, body: impl Serialize) -> HttpResult {
    let body = serde_json::to_value(body).map_err(|e| HttpError::new(500, "internal", e.to_string()))?;
    Ok(Answer { status, body })
}

/// Refuses any method but `allowed` with 405.
pub fn only(method: &Method, allowed: &'static str) -> Result<(), HttpError> {
    if method.as_str() == allowed {
        return Ok(());
    }
    Err(method_not_allowed(method, allowed))
}

/// The 405 for `method` where only `allowed` (as written in the `Allow` header) is.
pub fn method_not_allowed(method: &Method, allowed: &'static str) -> HttpError {
    HttpError {
        allow: Some(allowed),
        ..HttpError::new(405, "method_not_allowed", format!("{method} is not allowed here; use {allowed}"))
    }
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(|b| b.is_ascii_whitespace())
}

/// Decodes a required JSON body into `T`, with serde's description of what
/// is wrong with it.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, HttpError> {
    if is_blank(body) {
        return Err(HttpError::invalid_body("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| HttpError::invalid_body(format!("invalid JSON body: {e}")))
}

/// Decodes a required JSON object body. What is wrong with the body as a
/// whole is `invalid_body`; what is wrong with its fields is for the caller.
pub fn object_body(body: &[u8]) -> Result<Map<String, Value>, HttpError> {
    match json_body(body)? {
        Value::Object(object) => Ok(object),
        _ => Err(HttpError::invalid_body("the body must be a JSON object")),
    }
}

/// Accepts an empty body or `{}`, for actions that take no parameters.
pub fn empty_body(body: &[u8]) -> Result<(), HttpError> {
    if is_blank(body) {
        return Ok(());
    }
    match object_body(body)?.keys().next() {
        None => Ok(()),
        Some(key) => Err(HttpError::invalid_body(format!("this call takes no parameters, not {key:?}"))),
    }
}

/// The rest of `path` below `prefix`, split into segments; `None` if `path` is not under it.
pub fn segments_under<'p>(path: &'p str, prefix: &str) -> Option<Vec<&'p str>> {
    let rest = path.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

/// The HTTP response for `result`: its JSON body, or the refusal's.
pub fn respond(result: HttpResult) -> Response<Body> {
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

/// Every request, whatever its method and path, goes to `dispatch` with the
/// emulator's `state`, and its result is answered by [`respond`] and logged at
/// debug. `dispatch` takes the request by value so that it may be an `async`
/// block; a synchronous one returns `std::future::ready(...)`.
pub fn routes<S, F, Fut>(
    state: Arc<S>,
    dispatch: F,
) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Method, String, HeaderMap, Bytes) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = HttpResult> + Send,
{
    warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .and_then(move |method: Method, path: FullPath, headers: HeaderMap, body: Bytes| {
            let result = dispatch(state.clone(), method.clone(), path.as_str().to_owned(), headers, body);
            async move {
                let result = result.await;
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
    use serde::Deserialize;

    use super::*;

    #[test]
    fn paths_are_split_below_their_prefix_only() {
        assert_eq!(segments_under("/v1/services/a.b/verify", "/v1"), Some(vec!["services", "a.b", "verify"]));
        assert_eq!(segments_under("/v1", "/v1"), Some(vec![]));
        assert_eq!(segments_under("/v1/health/", "/v1"), Some(vec!["health"]));
        assert_eq!(segments_under("/v10/health", "/v1"), None);
        assert_eq!(segments_under("/registry/services", "/v1"), None);
        assert_eq!(segments_under("/relay", "/v1"), None);
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
        assert!(empty_body(b"[]").is_err());
    }

    #[test]
    fn typed_bodies_say_what_is_wrong() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fault {
            ms: u64,
        }
        assert_eq!(json_body::<Fault>(br#"{"ms": 5}"#).expect("decoded").ms, 5);
        assert_eq!(json_body::<Fault>(b" ").expect_err("refused").message, "a JSON body is required");
        for bad in [&br#"{"ms": -1}"#[..], br#"{"ms": 1, "s": 2}"#, b"{}", b"[1,"] {
            let e = json_body::<Fault>(bad).expect_err("refused");
            assert_eq!((e.status, e.code), (400, "invalid_body"), "{:?}", String::from_utf8_lossy(bad));
            assert!(e.message.starts_with("invalid JSON body: "), "{}", e.message);
        }
    }

    fn json_of(response: &Response<Bytes>) -> Value {
        serde_json::from_slice(response.body()).expect("a JSON body")
    }

    #[tokio::test]
    async fn requests_reach_dispatch_and_refusals_are_answered_as_json() {
        let routes = routes(Arc::new("state"), |state: Arc<&str>, method, path, headers: HeaderMap, body| async move {
            match path.as_str() {
                "/echo" => answer(
                    200,
                    json!({
                        "state": *state,
                        "method": method.as_str(),
                        "key": headers.get("x-key").and_then(|v| v.to_str().ok()),
                        "body": String::from_utf8_lossy(&body),
                    }),
                ),
                "/only-get" => only(&method, "GET").and_then(|()| answer(200, json!({}))),
                "/field" => Err(HttpError::new(409, "taken", "the name is taken").with_field(Some("name"))),
                _ => Err(HttpError::not_found()),
            }
        });

        let response =
            warp::test::request().method("PUT").path("/echo").header("x-key", "k").body("hi").reply(&routes).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/json"));
        assert_eq!(json_of(&response), json!({"state": "state", "method": "PUT", "key": "k", "body": "hi"}));

        let response = warp::test::request().method("POST").path("/only-get").reply(&routes).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers().get(ALLOW).and_then(|v| v.to_str().ok()), Some("GET"));
        assert_eq!(
            json_of(&response),
            json!({"error": "method_not_allowed", "message": "POST is not allowed here; use GET"})
        );

        let response = warp::test::request().path("/field").reply(&routes).await;
        assert_eq!(response.status(), 409);
        assert!(response.headers().get(ALLOW).is_none());
        assert_eq!(json_of(&response), json!({"error": "taken", "message": "the name is taken", "field": "name"}));

        let response = warp::test::request().path("/nowhere").reply(&routes).await;
        assert_eq!(response.status(), 404);
        assert_eq!(json_of(&response), json!({"error": "not_found", "message": "no such route"}));
    }
}
