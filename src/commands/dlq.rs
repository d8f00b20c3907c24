//! `dlq list` and `dlq retry [send_id|--all]`: dead letters from the command
//! line, as a client of the API over NATS (`nt.api.v1.ops.dead_letters.*`,
//! with the admin key): the operations live once, in the command layer.

use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};

use super::load_config;

/// Asks the API for `operation`; fails with its error when it refuses.
async fn call(operation: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let config = load_config()?;
    let nats = novij_bus::connect(&config.nats_url, "cli").await.context("connecting to NATS")?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Authorization", format!("Bearer {}", config.admin_api_key).as_str());
    headers.insert("X-Request-Id", format!("cli-dlq-{}", std::process::id()).as_str());
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let subject = format!("{}.{operation}", novij_ingress::api::nats::PREFIX);
    let reply =
        tokio::time::timeout(Duration::from_secs(120), nats.request_with_headers(subject, headers, payload.into()))
            .await
            .context("no answer from the API in time")?
            .context("the API is not reachable over NATS (is an ingress running?)")?;
    let body: Value = serde_json::from_slice(&reply.payload).context("the API's answer is not JSON")?;
    if let Some(error) = reply.headers.as_ref().and_then(|h| h.get("Nats-Service-Error")) {
        anyhow::bail!("{}: {}", error.as_str(), body["error"]["message"].as_str().unwrap_or_default());
    }
    Ok(body)
}

pub async fn list() -> anyhow::Result<()> {
    let letters = call("ops.dead_letters.list", None).await?;
    let letters = letters.as_array().cloned().unwrap_or_default();
    for l in &letters {
        let field = |name: &str| l[name].as_str().map(str::to_string).unwrap_or_else(|| l[name].to_string());
        println!(
            "{}\t{}\t{}\tattempts={}\t{}\t{}",
            field("send_id"),
            field("bot_key"),
            field("reason"),
            field("attempts"),
            field("dead_lettered_at"),
            field("detail")
        );
    }
    println!("{} dead letter(s)", letters.len());
    Ok(())
}

pub async fn retry(send_id: Option<String>, all: bool) -> anyhow::Result<()> {
    let body = match (send_id, all) {
        (Some(id), false) => json!({ "send_id": id }),
        (None, true) => json!({ "all": true }),
        _ => anyhow::bail!("give a send id or --all"),
    };
    let report = call("ops.dead_letters.retry", Some(body)).await?;
    let retried = report["retried"].as_array().map_or(0, Vec::len);
    println!("{retried} send(s) queued again");
    Ok(())
}
