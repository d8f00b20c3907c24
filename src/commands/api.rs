//! The CLI as a client of the API over NATS (`nt.api.v1.<operation>`, with
//! the admin key): the operations live once, in the command layer.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::{load_config, Unreachable};

/// Asks the API for `operation` (plus `.<id>` where it has one); fails with its error when it refuses.
pub async fn call(operation: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let config = load_config()?;
    let nats =
        novij_bus::connect(&novij_runtime::command_nats_target(&config), "cli").await.context("connecting to NATS")?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Authorization", format!("Bearer {}", config.admin_api_key).as_str());
    headers.insert("X-Request-Id", format!("cli-{}", std::process::id()).as_str());
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let subject = format!("{}.{operation}", novij_ingress::api::nats::PREFIX);
    let reply =
        tokio::time::timeout(Duration::from_secs(120), nats.request_with_headers(subject, headers, payload.into()))
            .await
            .map_err(|_| Unreachable::new("the API over NATS", "no answer in time"))?
            .map_err(|e| Unreachable::new("the API over NATS (is an ingress running?)", e))?;
    let body: Value = serde_json::from_slice(&reply.payload).context("the API's answer is not JSON")?;
    if let Some(error) = reply.headers.as_ref().and_then(|h| h.get("Nats-Service-Error")) {
        anyhow::bail!("{}: {}", error.as_str(), body["error"]["message"].as_str().unwrap_or_default());
    }
    Ok(body)
}
