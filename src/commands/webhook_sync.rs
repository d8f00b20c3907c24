//! `webhook-sync <integration_id|common|--all> [--drop-pending] [--json]`:
//! points bots' webhooks at this service again (setWebhook with their secret,
//! `max_connections` and `allowed_updates`; `POST /integrations/{id}/webhook/sync`
//! over NATS) and prints each webhook as Telegram then reports it.

use anyhow::Context as _;
use serde_json::{json, Value};

use super::api::call;
use super::load_config;

pub async fn run(id: Option<String>, all: bool, drop_pending: bool, as_json: bool) -> anyhow::Result<()> {
    let targets = match (id, all) {
        (Some(id), false) => vec![id],
        (None, true) => every_bot().await?,
        _ => anyhow::bail!("name one integration (or `common`), or --all"),
    };
    let body = json!({ "drop_pending_updates": drop_pending });
    let mut views = Vec::new();
    let mut failed = Vec::new();
    for target in targets {
        match call(&format!("integrations.webhook.sync.{target}"), Some(body.clone())).await {
            Ok(view) => views.push(view),
            Err(e) => failed.push(json!({ "bot_key": target, "error": format!("{e:#}") })),
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({ "synced": views, "failed": failed }))?);
    } else {
        for view in &views {
            print_view(view);
        }
        for failure in &failed {
            println!("{}: not synced: {}", failure["bot_key"].as_str().unwrap_or("?"), failure["error"]);
        }
    }
    anyhow::ensure!(failed.is_empty(), "{} of the bots could not be synced", failed.len());
    Ok(())
}

fn print_view(view: &Value) {
    let webhook = &view["webhook"];
    println!(
        "{} (@{}): webhook {}, {} pending updates, last error: {}",
        view["bot_key"].as_str().unwrap_or("?"),
        view["bot_username"].as_str().unwrap_or("?"),
        webhook["url"].as_str().filter(|u| !u.is_empty()).unwrap_or("none"),
        webhook["pending_update_count"].as_u64().unwrap_or(0),
        webhook["last_error_message"].as_str().unwrap_or("none"),
    );
}

/// The common bot, if configured, and every live integration's own bot
/// (from the projections).
async fn every_bot() -> anyhow::Result<Vec<String>> {
    let config = load_config()?;
    let db = novij_projections::connect(&config.database_url).await.context("connecting to Postgres")?;
    let custom = novij_projections::queries::custom_bot_keys(&db).await.context("listing the bots")?;
    let common = config.common_bot_token.is_some().then(|| "common".to_string());
    Ok(common.into_iter().chain(custom).collect())
}
