//! What `editMessageText` and `editMessageReplyMarkup` share: which message,
//! whether the bot may edit it, Telegram's "not modified", and storing the
//! edited message.

use serde_json::Value;

use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::ApiError;
use crate::bot_api::params::Params;
use crate::state::{now_unix, SentRecord, World};

/// The chat and message an edit is for.
pub fn target(params: &Params) -> Result<(i64, i64), ApiError> {
    if params.has("inline_message_id") {
        return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
    }
    let chat_id = outgoing::chat_id(params)?;
    match params.i64("message_id") {
        Ok(Some(id)) => Ok((chat_id, id)),
        _ => Err(ApiError::bad_request("message identifier is not specified")),
    }
}

/// The message as it is now, if the calling bot may edit it.
pub fn editable(world: &World, ctx: &Ctx, chat_id: i64, message_id: i64) -> Result<Value, ApiError> {
    let target = outgoing::resolve_chat(world, chat_id)?;
    outgoing::check_access(world, ctx.bot_id, &target)?;
    let bot = world.bots.get(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let stored = bot.message(chat_id, message_id).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    if !stored.from_bot {
        return Err(ApiError::bad_request("message can't be edited"));
    }
    Ok(stored.json.clone())
}

pub fn not_modified() -> ApiError {
    ApiError::bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    )
}

/// Sets or removes `reply_markup` in a message's JSON.
pub fn set_markup(message: &mut Value, markup: Option<&Value>) {
    if let Some(map) = message.as_object_mut() {
        match markup {
            Some(markup) => map.insert("reply_markup".into(), markup.clone()),
            None => map.remove("reply_markup"),
        };
    }
}

/// Counts the edit against the flood limits, stores the edited message and
/// records it; answers the edited message.
pub fn store(world: &mut World, ctx: &Ctx, mut edited: Value, record: SentRecord) -> Result<Value, ApiError> {
    let limits = ctx.sandbox.config.limits;
    outgoing::check_flood(world, &limits, ctx.bot_id, record.chat_id, false, 1, ctx.method.name)?;
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    if let Some(map) = edited.as_object_mut() {
        map.insert("edit_date".into(), Value::from(now_unix()));
    }
    if let Some(stored) = bot.chats.get_mut(&record.chat_id).and_then(|log| log.messages.get_mut(&record.message_id)) {
        stored.json = edited.clone();
    }
    bot.record_sent(record);
    Ok(edited)
}
