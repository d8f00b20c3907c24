//! What every message-producing method shares: resolving the chat, formatting
//! text and captions, checking who may be written to, the message replied
//! to, flood control, and storing and recording what was sent.

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::Ctx;
use crate::bot_api::entities::{utf16_len, Entity, FormattedText};
use crate::bot_api::errors::ApiError;
use crate::bot_api::params::Params;
use crate::bot_api::{html, markdown};
use crate::state::{
    now_stamp, now_unix, BotMembership, GroupKind, SentContent, SentRecord, StoredMessage, User, Violation, World,
};

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

/// Parses text or a caption in the given mode, or takes its explicit
/// entities from the parameter `entities_key`.
pub fn parse_text(
    raw: &str,
    mode: Option<&str>,
    params: &Params,
    entities_key: &str,
) -> Result<FormattedText, ApiError> {
    match mode {
        Some("HTML") => html::parse_html(raw),
        Some("MarkdownV2") => markdown::parse_markdown_v2(raw),
        Some("Markdown") => markdown::parse_markdown_legacy(raw),
        _ => Ok(FormattedText {
            text: raw.to_string(),
            entities: explicit_entities(params, entities_key)?.unwrap_or_default(),
        }),
    }
    .map_err(|detail| ApiError::bad_request(format!("can't parse entities: {detail}")))
}

/// Parses message text in the given mode and applies the length rules.
pub fn format_text(
    raw: &str,
    mode: Option<&str>,
    params: &Params,
    entities_key: &str,
) -> Result<FormattedText, ApiError> {
    let formatted = parse_text(raw, mode, params, entities_key)?;
    if formatted.text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if utf16_len(&formatted.text) > MAX_TEXT_LEN {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(formatted)
}

/// The chat a call is addressed to.
#[derive(Debug, Clone)]
pub enum ChatTarget {
    /// A private chat with a user.
    Private(User),
    /// A basic group or supergroup.
    Group { id: i64, kind: GroupKind, chat: Value },
}

impl ChatTarget {
    /// The chat's id.
    pub fn id(&self) -> i64 {
        match self {
            ChatTarget::Private(user) => user.id,
            ChatTarget::Group { id, .. } => *id,
        }
    }

    /// The `Chat` object of messages in this chat.
    pub fn chat_json(&self) -> Value {
        match self {
            ChatTarget::Private(user) => user.private_chat_json(),
            ChatTarget::Group { chat, .. } => chat.clone(),
        }
    }
}

/// Resolves `chat_id`: unknown chats are "chat not found", an upgraded basic
/// group answers with its new supergroup id.
pub fn resolve_chat(world: &World, chat_id: i64) -> Result<ChatTarget, ApiError> {
    if chat_id > 0 {
        return world
            .users
            .get(&chat_id)
            .cloned()
            .map(ChatTarget::Private)
            .ok_or_else(|| ApiError::bad_request("chat not found"));
    }
    let group = world.groups.get(&chat_id).ok_or_else(|| ApiError::bad_request("chat not found"))?;
    if let Some(new_chat_id) = group.migrated_to {
        return Err(ApiError::migrated(new_chat_id));
    }
    Ok(ChatTarget::Group { id: group.id, kind: group.kind, chat: group.chat_json() })
}

/// Whether the bot may write to the chat: a user who started it and did not
/// block it, or a group it is a member of.
pub fn check_access(world: &World, bot_id: i64, target: &ChatTarget) -> Result<(), ApiError> {
    match target {
        ChatTarget::Private(user) => check_can_write(world, bot_id, user.id),
        ChatTarget::Group { id, kind, .. } => {
            let membership = world.groups.get(id).and_then(|g| g.bots.get(&bot_id)).copied();
            match membership {
                Some(BotMembership::Member) => Ok(()),
                Some(BotMembership::Kicked) => {
                    Err(ApiError::forbidden(format!("bot was kicked from the {} chat", kind.as_str())))
                }
                None => Err(ApiError::forbidden(format!("bot is not a member of the {} chat", kind.as_str()))),
            }
        }
    }
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

/// The message a call replies to: (message_id, allow_sending_without_reply),
/// from `reply_parameters` or the older `reply_to_message_id`.
pub fn reply_target(params: &Params) -> Result<Option<(i64, bool)>, ApiError> {
    if let Some(reply) = params
        .json("reply_parameters")
        .map_err(|_| ApiError::bad_request("can't parse reply parameters JSON object"))?
    {
        let message_id = reply
            .get("message_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::bad_request("can't parse reply parameters JSON object"))?;
        let allow = reply.get("allow_sending_without_reply").and_then(Value::as_bool).unwrap_or(false);
        return Ok(Some((message_id, allow)));
    }
    let legacy =
        params.i64("reply_to_message_id").map_err(|_| ApiError::bad_request("message to be replied not found"))?;
    Ok(legacy.map(|id| (id, params.bool("allow_sending_without_reply"))))
}

/// The message replied to, as the answer shows it; None when there is no
/// reply, or the message is gone and the call allowed sending without it.
pub fn replied_message(
    world: &World,
    bot_id: i64,
    chat_id: i64,
    reply_to: Option<(i64, bool)>,
) -> Result<Option<Value>, ApiError> {
    let Some((message_id, allow_missing)) = reply_to else { return Ok(None) };
    let bot = world.bots.get(&bot_id).ok_or_else(ApiError::unauthorized)?;
    match bot.message(chat_id, message_id) {
        Some(stored) => Ok(Some(stored.json.clone())),
        None if allow_missing => Ok(None),
        None => Err(ApiError::bad_request("message to be replied not found")),
    }
}

/// Counts `messages` messages of one call against the flood limits, all or
/// none, recording violations; `paid_broadcast` is the call's
/// `allow_paid_broadcast`, whose messages the bot pays for.
pub fn check_flood(
    world: &mut World,
    limits: &crate::config::Limits,
    bot_id: i64,
    chat_id: i64,
    paid_broadcast: bool,
    messages: usize,
    method: &str,
) -> Result<(), ApiError> {
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(ApiError::unauthorized());
    };
    match bot.limiter.check_and_record(limits, chat_id, paid_broadcast, messages, Instant::now()) {
        Ok(()) => {
            if paid_broadcast {
                bot.stats.paid_broadcast += messages as u64;
            }
            Ok(())
        }
        Err(denied) => {
            let (at, at_ms) = now_stamp();
            let username = bot.username.clone();
            bot.stats.violations += 1;
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

/// Sends one message that passed every check: gives it the chat's next id,
/// keeps it in the chat log (without the message it replies to: Telegram
/// shows replies one level deep) and records it. Answers the `Message`.
pub fn deliver(
    world: &mut World,
    ctx: &Ctx,
    target: &ChatTarget,
    replied: Option<&Value>,
    fields: Map<String, Value>,
    content: SentContent,
) -> Result<Value, ApiError> {
    let chat_id = target.id();
    let message_id = world.next_message_id(ctx.bot_id, chat_id);
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let date = now_unix();
    let mut message = json!({
        "message_id": message_id,
        "from": bot.user_json(),
        "chat": target.chat_json(),
        "date": date,
    });
    if let Some(map) = message.as_object_mut() {
        map.extend(fields);
    }
    let reply_to = replied.and_then(|r| r.get("message_id")).and_then(Value::as_i64);
    bot.store_message(chat_id, message_id, StoredMessage { json: message.clone(), from_bot: true, reply_to });
    if let (Some(map), Some(replied)) = (message.as_object_mut(), replied) {
        map.insert("reply_to_message".into(), replied.clone());
    }
    bot.record_sent(SentRecord { message_id, chat_id, content, date, method: ctx.method.name.to_string() });
    Ok(message)
}
