//! The HTTP front: `/v1` is the registry's API, `/registry` the control API,
//! and anything else is a JSON 404.

mod control;
mod public;

use std::sync::Arc;

use emulator_kit::json_api::{self, segments_under, HttpError, HttpResult};
use warp::http::header::AUTHORIZATION;
use warp::http::{HeaderMap, Method, Response};
use warp::hyper::Body;
use warp::Filter;

use crate::error::RegistryError;
use crate::registry::Registry;

impl From<RegistryError> for HttpError {
    fn from(e: RegistryError) -> Self {
        HttpError::new(e.status(), e.code(), e.to_string()).with_field(e.field())
    }
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
    json_api::routes(registry, |registry, method, path, headers, body| async move {
        dispatch(&registry, &method, &path, &headers, &body).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_their_field() {
        let e = HttpError::from(RegistryError::invalid("kind", "kind must be 1-128 characters"));
        assert_eq!((e.status, e.code, e.field.as_deref()), (400, "invalid_entry", Some("kind")));
        let e = HttpError::from(RegistryError::ServiceExists("a".into()));
        assert_eq!((e.status, e.code, e.field), (409, "service_exists", None));
    }
}
