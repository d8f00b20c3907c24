//! `setWebhook`, `deleteWebhook` and `getWebhookInfo`.

use serde_json::{json, Value};

use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::state::{Bot, Webhook};

/// Update types a bot may ask for in `allowed_updates`.
pub const UPDATE_TYPES: [&str; 24] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "managed_bot",
];

/// Parses `allowed_updates`; unknown names are ignored as Telegram does.
pub fn allowed_updates(params: &Params) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) =
        params.json("allowed_updates").map_err(|_| ApiError::bad_request("can't parse allowed updates JSON object"))?
    else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(ApiError::bad_request("can't parse allowed updates JSON object"));
    };
    let mut list = Vec::new();
    for item in items {
        let Value::String(name) = item else {
            return Err(ApiError::bad_request("can't parse allowed updates JSON object"));
        };
        if UPDATE_TYPES.contains(&name.as_str()) && !list.contains(&name) {
            list.push(name);
        }
    }
    Ok(Some(list))
}

fn drop_pending(bot: &mut Bot) {
    bot.updates.clear();
    bot.notify_updates();
}

pub fn set_webhook(ctx: &Ctx, params: &Params) -> ApiResult {
    let url = params.str("url").unwrap_or_default();
    let secret = params.str("secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret {
        if secret.len() > 256 {
            return Err(ApiError::bad_request("secret token is too long"));
        }
        if !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ApiError::bad_request("secret token contains unallowed characters"));
        }
    }
    let max_connections = params.i64("max_connections").ok().flatten().unwrap_or(40).clamp(1, 100) as u32;
    let allowed = allowed_updates(params)?;
    let drop_pending_updates = params.bool("drop_pending_updates");
    if url.is_empty() {
        return delete(ctx, drop_pending_updates);
    }
    crate::webhook::validate_url(&url, ctx.sandbox.config.allow_insecure_webhooks)?;

    let mut world = ctx.sandbox.world();
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let new_hook = Webhook { url, secret, max_connections };
    let unchanged = bot.webhook.as_ref() == Some(&new_hook) && (allowed.is_none() || allowed == bot.allowed_updates);
    if drop_pending_updates {
        drop_pending(bot);
    }
    if unchanged {
        return Ok(ApiReply::described(Value::Bool(true), "Webhook is already set"));
    }
    if bot.webhook.as_ref().map(|h| &h.url) != Some(&new_hook.url) {
        bot.webhook_error = None;
    }
    if allowed.is_some() {
        bot.allowed_updates = allowed;
    }
    bot.webhook = Some(new_hook);
    bot.notify_webhook();
    tracing::info!(bot = %bot.username, "webhook set");
    Ok(ApiReply::described(Value::Bool(true), "Webhook was set"))
}

fn delete(ctx: &Ctx, drop_pending_updates: bool) -> ApiResult {
    let mut world = ctx.sandbox.world();
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    if drop_pending_updates {
        drop_pending(bot);
    }
    if bot.webhook.take().is_none() {
        return Ok(ApiReply::described(Value::Bool(true), "Webhook is already deleted"));
    }
    bot.webhook_error = None;
    bot.notify_webhook();
    tracing::info!(bot = %bot.username, "webhook deleted");
    Ok(ApiReply::described(Value::Bool(true), "Webhook was deleted"))
}

pub fn delete_webhook(ctx: &Ctx, params: &Params) -> ApiResult {
    delete(ctx, params.bool("drop_pending_updates"))
}

pub fn get_webhook_info(ctx: &Ctx, _params: &Params) -> ApiResult {
    let mut world = ctx.sandbox.world();
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    bot.drop_disallowed_front();
    let pending = bot.updates.iter().filter(|u| bot.allows(u.kind)).count();
    let mut info = json!({
        "url": bot.webhook.as_ref().map(|h| h.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": pending,
    });
    if let Some(map) = info.as_object_mut() {
        if let Some(hook) = &bot.webhook {
            if let Some((date, message)) = &bot.webhook_error {
                map.insert("last_error_date".into(), json!(date));
                map.insert("last_error_message".into(), json!(message));
            }
            map.insert("max_connections".into(), json!(hook.max_connections));
        }
        if let Some(allowed) = &bot.allowed_updates {
            map.insert("allowed_updates".into(), json!(allowed));
        }
    }
    Ok(ApiReply::new(info))
}
