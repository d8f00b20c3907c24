//! Pointing a bot's webhook at this service's ingress.

use novij_events::integration::COMMON_BOT_KEY;
use novij_runtime::derive;
use novij_telegram_client::{BotApiError, SetWebhook};

use crate::Dispatcher;

/// The updates the service handles.
pub(crate) const ALLOWED_UPDATES: &[&str] = &["message", "callback_query", "my_chat_member"];

/// The webhook URL of a bot key.
pub fn url(d: &Dispatcher, bot_key: &str) -> String {
    novij_runtime::webhook_url(&d.rt.config, bot_key)
}

/// Calls setWebhook for `bot_key` with its derived secret.
pub async fn set(d: &Dispatcher, bot_key: &str, token: &str) -> Result<String, BotApiError> {
    set_dropping(d, bot_key, token, false).await
}

/// [`set`], dropping the updates Telegram still holds if `drop_pending`.
pub async fn set_dropping(
    d: &Dispatcher,
    bot_key: &str,
    token: &str,
    drop_pending: bool,
) -> Result<String, BotApiError> {
    let url = url(d, bot_key);
    let params = SetWebhook {
        url: url.clone(),
        secret_token: derive::webhook_secret(&d.rt.keyring, bot_key),
        max_connections: d.rt.config.webhook_max_connections,
        allowed_updates: ALLOWED_UPDATES.iter().map(|s| s.to_string()).collect(),
        drop_pending_updates: drop_pending,
    };
    d.api.set_webhook(token, &params).await?;
    Ok(url)
}

/// Keeps the common bot's webhook pointed here; a failure is logged, not fatal
/// (the next start or `webhook-sync` tries again).
pub async fn sync_common(d: &Dispatcher) {
    let Some(token) = d.rt.config.common_bot_token.clone() else { return };
    match set(d, COMMON_BOT_KEY, &token).await {
        Ok(_) => tracing::info!(bot_key = COMMON_BOT_KEY, "webhook set"),
        Err(e) => tracing::warn!(bot_key = COMMON_BOT_KEY, error = %e, "setting the webhook failed"),
    }
}
