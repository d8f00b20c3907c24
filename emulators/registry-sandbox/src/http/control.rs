//! The control API under `/registry`: tests and developers read the whole registry. No auth.

use emulator_kit::json_api::{answer, only, HttpError, HttpResult};
use warp::http::Method;

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
