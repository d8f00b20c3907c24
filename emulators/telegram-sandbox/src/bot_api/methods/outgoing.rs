//! What every message-producing method shares: resolving the chat, formatting
//! text, checking who may be written to, and flood control.

use std::time::Instant;

use serde_json::Value;

use crate::bot_api::entities::{utf16_len, Entity, FormattedText};
use crate::bot_api::errors::ApiError;
use crate::bot_api::params::Params;
use crate::bot_api::{html, markdown};
use crate::state::{now_stamp, User, Violation, World};

/// Longest text of a message, in UTF-16 code units after entity parsing.
pub const MAX_TEXT_LEN: usize = 4096;

/// The `chat_id` parameter: missing → "chat_id is empty"; not a known
/// integer id (e.g. an unknown @channel) → "chat not found".
pub fn chat_id(params: &Params) -> Result<i64, ApiError> {
    match params.get("chat_id") {
        None => Err(ApiError::bad_request("chat_id is empty")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ApiError::bad_request("chat_id is empty")),
        Some(_) => params.i64("chat_id").ok().flatten().ok_or_else(|| ApiError::bad_request("chat not found")),
    }
}

/// The accepted parse modes, lower-cased; anything else is refused.
pub fn parse_mode(params: &Params) -> Result<Option<String>, ApiError> {
    let Some(mode) = params.str("parse_mode").filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    match mode.to_ascii_lowercase().as_str() {
        "html" => Ok(Some("HTML".into())),
        "markdown" => Ok(Some("Markdown".into())),
        "markdownv2" => Ok(Some("MarkdownV2".into())),
        _ => Err(ApiError::bad_request("unsupported parse_mode")),
    }
}

/// Explicit `entities` given instead of a parse mode.
fn explicit_entities(params: &Params, key: &str) -> Result<Option<Vec<Entity>>, ApiError> {
    let value = params.json(key).map_err(|_| ApiError::bad_request("can't parse entities JSON object"))?;
    let Some(value) = value else { return Ok(None) };
    let Value::Array(items) = value else {
        return Err(ApiError::bad_request("can't parse entities JSON object"));
    };
    let mut entities = Vec::new();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str);
        let offset = item.get("offset").and_then(Value::as_u64);
        let length = item.get("length").and_then(Value::as_u64);
        let (Some(kind), Some(offset), Some(length)) = (kind, offset, length) else {
            return Err(ApiError::bad_request("can't parse MessageEntity"));
        };
        let mut entity = Entity::new(kind, offset as usize, length as usize);
        entity.url = item.get("url").and_then(Value::as_str).map(String::from);
        entity.language = item.get("language").and_then(Value::as_str).map(String::from);
        entity.custom_emoji_id = item.get("custom_emoji_id").and_then(Value::as_str).map(String::from);
        entities.push(entity);
    }
    Ok(Some(entities))
}

/// Parses message text in the given mode and applies the length rules.
pub fn format_text(
    raw: &str,
    mode: Option<&str>,
    params: &Params,
    entities_key: &str,
) -> Result<FormattedText, ApiError> {
    let formatted = match mode {
        Some("HTML") => html::parse_html(raw),
        Some("MarkdownV2") => markdown::parse_markdown_v2(raw),
        Some("Markdown") => markdown::parse_markdown_legacy(raw),
        _ => Ok(FormattedText {
            text: raw.to_string(),
            entities: explicit_entities(params, entities_key)?.unwrap_or_default(),
        }),
    }
    .map_err(|detail| ApiError::bad_request(format!("can't parse entities: {detail}")))?;
    if formatted.text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if utf16_len(&formatted.text) > MAX_TEXT_LEN {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(formatted)
}

/// The private chat partner behind `chat_id`, or "chat not found".
pub fn private_chat_user(world: &World, chat_id: i64) -> Result<User, ApiError> {
    if chat_id <= 0 {
        return Err(ApiError::bad_request("chat not found"));
    }
    world.users.get(&chat_id).cloned().ok_or_else(|| ApiError::bad_request("chat not found"))
}

/// Whether the bot may write to this user: started and not blocked.
pub fn check_can_write(world: &World, bot_id: i64, user_id: i64) -> Result<(), ApiError> {
    let relation = world.bots.get(&bot_id).map(|bot| bot.relation(user_id)).unwrap_or_default();
    if relation.blocked {
        return Err(ApiError::forbidden("bot was blocked by the user"));
    }
    if !relation.started {
        return Err(ApiError::forbidden("bot can't initiate conversation with a user"));
    }
    Ok(())
}

/// Counts one message against the flood limits, recording violations.
pub fn check_flood(
    world: &mut World,
    limits: &crate::config::Limits,
    bot_id: i64,
    chat_id: i64,
    method: &str,
) -> Result<(), ApiError> {
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(ApiError::unauthorized());
    };
    match bot.limiter.check_and_record(limits, chat_id, Instant::now()) {
        Ok(()) => Ok(()),
        Err(denied) => {
            let (at, at_ms) = now_stamp();
            let username = bot.username.clone();
            tracing::warn!(bot = %username, method, scope = ?denied.scope, reason = ?denied.reason, retry_after = denied.retry_after, "flood limit violated");
            world.violations.push(Violation {
                bot_username: username,
                chat_id: Some(chat_id),
                scope: denied.scope,
                reason: denied.reason,
                method: method.to_string(),
                retry_after: denied.retry_after,
                at,
                at_ms,
            });
            Err(ApiError::too_many_requests(denied.retry_after))
        }
    }
}
