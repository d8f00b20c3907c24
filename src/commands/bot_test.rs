//! `bot-test <integration_id|common> [--json]`: the bot's token, identity and
//! webhook as Telegram sees them (`GET /integrations/{id}/webhook`, over NATS),
//! with no message to anyone. A refused token exits 1.

use super::api::call;

pub async fn run(id: String, json: bool) -> anyhow::Result<()> {
    let view = call(&format!("integrations.webhook.{id}"), None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else if view["token_valid"] == true {
        let webhook = &view["webhook"];
        println!("token valid: @{} (id {})", view["bot_username"].as_str().unwrap_or("?"), view["bot_id"]);
        let url = webhook["url"].as_str().filter(|u| !u.is_empty()).unwrap_or("none (long polling)");
        println!("webhook: {url}");
        println!("pending updates: {}", webhook["pending_update_count"].as_u64().unwrap_or(0));
        println!("last error: {}", webhook["last_error_message"].as_str().unwrap_or("none"));
    } else {
        println!("token refused by Telegram: {}", view["detail"].as_str().unwrap_or("?"));
    }
    anyhow::ensure!(view["token_valid"] == true, "the bot's token is not valid");
    Ok(())
}
