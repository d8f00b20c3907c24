//! `editMessageText` for messages the bot sent in private chats and groups.

use serde_json::Value;

use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::{now_unix, SentRecord};

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    if params.has("inline_message_id") {
        return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
    }
    let chat_id = outgoing::chat_id(params)?;
    let message_id = match params.i64("message_id") {
        Ok(Some(id)) => id,
        _ => return Err(ApiError::bad_request("message identifier is not specified")),
    };
    let raw_text = params.str("text").unwrap_or_default();
    if raw_text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    let parse_mode = outgoing::parse_mode(params)?;
    let markup = reply_markup::from_params(params)?;
    if markup.as_ref().is_some_and(|m| !reply_markup::is_inline_keyboard(m)) {
        return Err(ApiError::bad_request("inline keyboard expected"));
    }

    let mut world = ctx.sandbox.world();
    let target = outgoing::resolve_chat(&world, chat_id)?;
    let formatted = outgoing::format_text(&raw_text, parse_mode.as_deref(), params, "entities")?;
    outgoing::check_access(&world, ctx.bot_id, &target)?;
    let current = {
        let bot = world.bots.get(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
        let stored =
            bot.message(chat_id, message_id).ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if !stored.from_bot {
            return Err(ApiError::bad_request("message can't be edited"));
        }
        stored.json.clone()
    };
    let entities: Vec<Value> = formatted.entities.iter().map(|e| e.to_json()).collect();
    let same_text = current.get("text").and_then(Value::as_str) == Some(formatted.text.as_str());
    let current_entities = current.get("entities").cloned().unwrap_or(Value::Array(Vec::new()));
    let same_entities = current_entities == Value::Array(entities.clone());
    let same_markup = current.get("reply_markup") == markup.as_ref();
    if same_text && same_entities && same_markup {
        return Err(ApiError::bad_request(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }

    let limits = ctx.sandbox.config.limits;
    outgoing::check_flood(&mut world, &limits, ctx.bot_id, chat_id, false, ctx.method.name)?;

    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let mut edited = current;
    let date = edited.get("date").and_then(Value::as_i64).unwrap_or_default();
    if let Some(map) = edited.as_object_mut() {
        map.insert("edit_date".into(), Value::from(now_unix()));
        map.insert("text".into(), Value::from(formatted.text.clone()));
        if entities.is_empty() {
            map.remove("entities");
        } else {
            map.insert("entities".into(), Value::Array(entities.clone()));
        }
        match &markup {
            Some(markup) => {
                map.insert("reply_markup".into(), markup.clone());
            }
            None => {
                map.remove("reply_markup");
            }
        }
    }
    if let Some(stored) = bot.chats.get_mut(&chat_id).and_then(|log| log.messages.get_mut(&message_id)) {
        stored.json = edited.clone();
    }
    bot.record_sent(SentRecord {
        message_id,
        chat_id,
        text: formatted.text,
        raw_text,
        parse_mode,
        entities,
        reply_markup: markup,
        date,
        method: ctx.method.name.to_string(),
    });
    Ok(ApiReply::new(edited))
}
