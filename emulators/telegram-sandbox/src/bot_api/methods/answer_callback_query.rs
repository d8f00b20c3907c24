//! `answerCallbackQuery` for queries produced by pressed inline buttons.

use serde_json::{json, Value};

use super::Ctx;
use crate::bot_api::entities::utf16_len;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::state::now_stamp;

fn invalid_query() -> ApiError {
    ApiError::bad_request("query is too old and response timeout expired or query ID is invalid")
}

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let query_id = params.str("callback_query_id").unwrap_or_default();
    let text = params.str("text");
    if text.as_deref().is_some_and(|t| utf16_len(t) > 200) {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    let mut world = ctx.sandbox.world();
    let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let ttl = ctx.sandbox.config.callback_query_ttl;
    let query = bot.callback_queries.get_mut(&query_id).ok_or_else(invalid_query)?;
    if query.answered || query.pressed.elapsed() > ttl {
        return Err(invalid_query());
    }
    query.answered = true;
    let (at, at_ms) = now_stamp();
    let (pressed_at_ms, latency_ms) = (query.pressed_at_ms, query.pressed.elapsed().as_millis() as u64);
    let (user_id, chat_id, message_id) = (query.user_id, query.chat_id, query.message_id);
    bot.callback_answers.push(json!({
        "callback_query_id": query_id,
        "user_id": user_id,
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        "show_alert": params.bool("show_alert"),
        "url": params.str("url"),
        "at": at,
        "at_ms": at_ms,
        "pressed_at_ms": pressed_at_ms,
        "latency_ms": latency_ms,
    }));
    Ok(ApiReply::new(Value::Bool(true)))
}
