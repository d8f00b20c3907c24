//! The HTTP front: the site itself (`/channels`, `/pool`), the control API
//! under `/control`, and a JSON 404 for anything else.

mod control;
mod public;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Buf;
use futures::Stream;
use serde::Serialize;
use warp::http::header::{ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

use crate::error::SiteError;
use crate::store::Store;

type HttpResult = Result<Response<Body>, SiteError>;

/// Refuses any method not in `allowed` (as written in the `Allow` header) with 405.
fn only(method: &Method, allowed: &'static str) -> Result<(), SiteError> {
    if allowed.split(", ").any(|m| m == method.as_str()) {
        return Ok(());
    }
    Err(SiteError::MethodNotAllowed { method: method.to_string(), allow: allowed })
}

/// A JSON answer; to a `HEAD`, the same headers without the body.
fn json(status: u16, body: &impl Serialize, method: &Method) -> HttpResult {
    let body = serde_json::to_vec(body).map_err(|e| SiteError::internal("encoding JSON", e))?;
    let length = body.len();
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(body) };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, length)
        .body(body)
        .map_err(|e| SiteError::internal("building a response", e))
}

fn refusal(e: &SiteError) -> Response<Body> {
    let mut response = Response::new(Body::from(e.body().to_string()));
    *response.status_mut() = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().expect("a header value"));
    if let Some(allow) = e.allow() {
        response.headers_mut().insert(ALLOW, allow.parse().expect("a header value"));
    }
    response
}

/// Who may call the control API.
#[derive(Debug, Clone)]
struct ControlKey(Option<String>);

impl ControlKey {
    fn authorizes(&self, headers: &HeaderMap) -> bool {
        let Some(key) = &self.0 else { return true };
        let presented = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        presented.and_then(|h| h.strip_prefix("Bearer ")) == Some(key.as_str())
    }
}

async fn dispatch<S, B>(
    store: &Store,
    key: &ControlKey,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: S,
) -> HttpResult
where
    S: Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf + Send,
{
    // Empty segments are kept: `/pool//x.deb` is not `/pool/x.deb` on a static site either.
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    match segments.as_slice() {
        ["channels", name] if name.ends_with(".json") => public::index(store, method, name),
        ["pool", rest @ ..] if !rest.is_empty() => public::pool(store, method, rest).await,
        ["install.sh"] => public::installer(method),
        ["control", rest @ ..] => {
            // Before routing: without the key nothing is revealed, not even a route.
            if !key.authorizes(headers) {
                return Err(SiteError::Unauthorized);
            }
            let declared_length = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
            control::handle(store, method, rest, query, declared_length, body).await
        }
        _ => Err(SiteError::NotFound),
    }
}

/// All routes of a package site; `control_key`, when set, guards `/control`.
pub fn routes(
    store: Arc<Store>,
    control_key: Option<String>,
) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone {
    let key = ControlKey(control_key);
    // `warp::query::raw` rejects a request without a query; none is an empty one here.
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and_then(move |method: Method, path: FullPath, query: String, headers: HeaderMap, body| {
            let (store, key) = (store.clone(), key.clone());
            async move {
                let result = dispatch(&store, &key, &method, path.as_str(), &query, &headers, body).await;
                let response = result.unwrap_or_else(|e| {
                    tracing::debug!(%method, path = path.as_str(), status = e.status(), code = e.code(), "refused");
                    refusal(&e)
                });
                Ok::<_, Infallible>(response)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_key_is_compared_exactly() {
        let header = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, v.parse().expect("a header value"));
            headers
        };
        assert!(ControlKey(None).authorizes(&HeaderMap::new()));
        let guarded = ControlKey(Some("k1".into()));
        assert!(guarded.authorizes(&header("Bearer k1")));
        assert!(!guarded.authorizes(&HeaderMap::new()));
        for bad in ["k1", "Bearer k1 ", "bearer k1", "Bearer k", "Bearer  k1"] {
            assert!(!guarded.authorizes(&header(bad)), "{bad:?}");
        }
    }

    #[test]
    fn methods_are_matched_against_the_allow_list() {
        assert!(only(&Method::HEAD, "GET, HEAD").is_ok());
        assert!(only(&Method::GET, "GET, HEAD").is_ok());
        let e = only(&Method::POST, "GET, HEAD").expect_err("refused");
        assert_eq!((e.status(), e.allow()), (405, Some("GET, HEAD")));
    }
}
