//! `sendMessage`: strict validation, flood control, and the Message object.

use serde_json::{json, Value};

use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::{now_unix, SentRecord, StoredMessage};

/// The message a call replies to: (message_id, allow_sending_without_reply).
fn reply_target(params: &Params) -> Result<Option<(i64, bool)>, ApiError> {
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

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let chat_id = outgoing::chat_id(params)?;
    let raw_text = params.str("text").unwrap_or_default();
    if raw_text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    let parse_mode = outgoing::parse_mode(params)?;
    let markup = reply_markup::from_params(params)?;
    let reply_to = reply_target(params)?;
    if params.has("link_preview_options") {
        let options = params
            .json("link_preview_options")
            .map_err(|_| ApiError::bad_request("can't parse link preview options JSON object"))?;
        if !options.as_ref().is_none_or(Value::is_object) {
            return Err(ApiError::bad_request("can't parse link preview options JSON object"));
        }
    }

    let mut world = ctx.sandbox.world();
    let target = outgoing::resolve_chat(&world, chat_id)?;
    let formatted = outgoing::format_text(&raw_text, parse_mode.as_deref(), params, "entities")?;
    outgoing::check_access(&world, ctx.bot_id, &target)?;

    let replied = {
        let bot = world.bots.get(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
        match reply_to {
            Some((message_id, allow_missing)) => match bot.message(chat_id, message_id) {
                Some(stored) => Some(stored.json.clone()),
                None if allow_missing => None,
                None => return Err(ApiError::bad_request("message to be replied not found")),
            },
            None => None,
        }
    };

    let limits = ctx.sandbox.config.limits;
    let paid_broadcast = params.bool("allow_paid_broadcast");
    outgoing::check_flood(&mut world, &limits, ctx.bot_id, chat_id, paid_broadcast, ctx.method.name)?;

    let message_id = world.next_message_id(ctx.bot_id, chat_id);
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let date = now_unix();
    if paid_broadcast {
        bot.stats.paid_broadcast += 1;
    }
    let mut message = json!({
        "message_id": message_id,
        "from": bot.user_json(),
        "chat": target.chat_json(),
        "date": date,
    });
    let entities: Vec<Value> = formatted.entities.iter().map(|e| e.to_json()).collect();
    if let Some(map) = message.as_object_mut() {
        if let Some(replied) = replied {
            map.insert("reply_to_message".into(), replied);
        }
        map.insert("text".into(), Value::from(formatted.text.clone()));
        if !entities.is_empty() {
            map.insert("entities".into(), Value::Array(entities.clone()));
        }
        if let Some(options) = params.json("link_preview_options").ok().flatten() {
            if options.as_object().is_some_and(|o| !o.is_empty()) {
                map.insert("link_preview_options".into(), options);
            }
        }
        if let Some(markup) = markup.as_ref().filter(|m| reply_markup::is_inline_keyboard(m)) {
            map.insert("reply_markup".into(), markup.clone());
        }
    }
    let mut stored_json = message.clone();
    if let Some(map) = stored_json.as_object_mut() {
        map.remove("reply_to_message");
    }
    bot.store_message(chat_id, message_id, StoredMessage { json: stored_json, from_bot: true });
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
    Ok(ApiReply::new(message))
}
