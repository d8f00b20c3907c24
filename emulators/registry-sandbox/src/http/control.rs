//! The control API under `/registry`: tests and developers read the whole registry. No auth.

use warp::http::Method;

use super::{answer, only, HttpError, HttpResult};
use crate::registry::Registry;

pub(super) fn handle(registry: &Registry, method: &Method, segments: &[&str]) -> HttpResult {
    match segments {
        ["services"] => {
            only(method, "GET")?;
            answer(200, registry.list())
        }
        _ => Err(HttpError::not_found()),
    }
}
