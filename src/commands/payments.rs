//! `prices`, `wallet`, `relay-check`: what paid sends cost and where they go.

use anyhow::Context;

use super::load_config;

/// Prices per template and payment mode, the limits, and every template's variables.
pub fn prices(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    let settings = novij_ingress::settings_of(&config, Vec::new());
    if json {
        println!("{}", serde_json::to_string_pretty(&settings)?);
        return Ok(());
    }
    println!("prices per recipient ({}):", config.payments.asset);
    for (template, by_mode) in &settings.prices {
        let modes: Vec<String> = by_mode.iter().map(|(mode, price)| format!("{mode}={price}")).collect();
        println!("  {template:<20} {}", modes.join("  "));
    }
    let l = &settings.limits;
    println!("limits:");
    println!("  sends per project per 24 h     {}", unlimited(l.project_daily_sends));
    println!("  waiting reminders per project  {}", unlimited(l.project_pending_reminders));
    println!("  quote valid for                {} s", config.payments.quote_ttl_seconds);
    println!(
        "  Telegram                       {}/s per bot, {}/s per chat, {}/min per group, {}/s with paid broadcast",
        l.telegram_per_bot_per_second,
        l.telegram_per_chat_per_second,
        l.telegram_per_group_per_minute,
        l.telegram_paid_broadcast_per_second
    );
    println!("templates:");
    for t in novij_templates::catalogue() {
        println!("  {} — {}", t.name, t.description);
        for v in t.variables {
            let kind = serde_json::to_value(&v.kind).context("describing a variable")?;
            let required = if v.required { "required" } else { "optional" };
            println!("    {:<16} {required:<8} {kind}  {}", v.name, v.description);
        }
    }
    Ok(())
}

fn unlimited(n: u32) -> String {
    if n == 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

/// The service wallet paid sends must pay.
pub fn wallet(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    match &config.payments.service_wallet_id {
        Some(wallet) if json => {
            println!("{}", serde_json::json!({ "service_wallet_id": wallet }));
            Ok(())
        }
        Some(wallet) => {
            println!("{wallet}");
            Ok(())
        }
        None => anyhow::bail!("SERVICE_WALLET_ID is not set: paid (DSR) sends are disabled"),
    }
}

/// Checks that the Relay API answers, and shows the service wallet's balance.
pub async fn relay_check(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    let relay = novij_runtime::relay_client(&config)?
        .context("RELAY_API_BASE_URL is not set: paid (DSR) sends are disabled")?;
    relay
        .health()
        .await
        .map_err(|e| super::Unreachable::new("the Relay API", e))
        .context("the Relay API does not answer its health check")?;
    let wallet = match &config.payments.service_wallet_id {
        Some(wallet_id) => Some(relay.wallet(wallet_id).await.with_context(|| format!("service wallet {wallet_id}"))?),
        None => None,
    };
    if json {
        let wallet = wallet.map(
            |w| serde_json::json!({ "wallet_id": w.wallet_id, "balance": w.balance.to_string(), "asset": w.asset }),
        );
        println!("{}", serde_json::json!({ "relay": "ok", "service_wallet": wallet }));
        return Ok(());
    }
    println!("Relay API: ok");
    if let Some(wallet) = wallet {
        println!("service wallet {}: {} {}", wallet.wallet_id, wallet.balance, wallet.asset);
    }
    Ok(())
}
