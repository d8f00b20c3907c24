//! The registry's API under `/v1`, as docs/REGISTRY.md describes it.

use emulator_kit::json_api::{answer, empty_body, method_not_allowed, object_body, only, HttpError, HttpResult};
use serde_json::json;
use warp::http::Method;

use crate::model;
use crate::registry::Registry;

pub(super) async fn handle(
    registry: &Registry,
    method: &Method,
    segments: &[&str],
    authorization: Option<&str>,
    body: &[u8],
) -> HttpResult {
    // Before routing, as a real registry would: without the key nothing is revealed, not even a route.
    if !registry.authorizes(authorization) {
        return Err(HttpError::new(401, "unauthorized", "a valid API key is required as Authorization: Bearer <key>"));
    }
    match segments {
        ["health"] => {
            only(method, "GET")?;
            answer(200, json!({"status": "ok"}))
        }
        ["services"] => {
            only(method, "POST")?;
            let entry = model::entry_from_json(&object_body(body)?)?;
            let stored = registry.register(entry)?;
            tracing::info!(service_id = %stored.entry.service_id, version = %stored.entry.version, "service registered");
            answer(201, stored)
        }
        ["services", service_id] => match method.as_str() {
            "GET" => answer(200, registry.service(service_id)?),
            "PUT" => {
                let entry = model::entry_from_json(&object_body(body)?)?;
                let stored = registry.update(service_id, entry)?;
                tracing::info!(%service_id, version = %stored.entry.version, "service updated");
                answer(200, stored)
            }
            _ => Err(method_not_allowed(method, "GET, PUT")),
        },
        ["services", service_id, "verify"] => {
            only(method, "POST")?;
            empty_body(body)?;
            let verification = registry.verify(service_id).await?;
            tracing::info!(
                %service_id, status = ?verification.status, problems = verification.problems.len(), "service verified"
            );
            answer(200, verification)
        }
        _ => Err(HttpError::not_found()),
    }
}
