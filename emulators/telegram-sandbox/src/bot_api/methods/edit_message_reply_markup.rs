//! `editMessageReplyMarkup`: replaces (or, without `reply_markup`, removes)
//! the inline keyboard of a message the bot sent.

use serde_json::Value;

use super::edits;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::SentRecord;

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let (chat_id, message_id) = edits::target(params)?;
    let markup = reply_markup::from_params(params)?;
    if markup.as_ref().is_some_and(|m| !reply_markup::is_inline_keyboard(m)) {
        return Err(ApiError::bad_request("inline keyboard expected"));
    }
    let mut world = ctx.sandbox.world();
    let mut edited = edits::editable(&world, ctx, chat_id, message_id)?;
    if edited.get("reply_markup") == markup.as_ref() {
        return Err(edits::not_modified());
    }
    edits::set_markup(&mut edited, markup.as_ref());
    // The record keeps what the message carries (text or media), with the new keyboard.
    let mut content = world
        .bots
        .get(&ctx.bot_id)
        .and_then(|bot| bot.sent_content(chat_id, message_id))
        .cloned()
        .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    content.reply_markup = markup;
    let record = SentRecord {
        message_id,
        chat_id,
        content,
        date: edited.get("date").and_then(Value::as_i64).unwrap_or_default(),
        method: ctx.method.name.to_string(),
    };
    Ok(ApiReply::new(edits::store(&mut world, ctx, edited, record)?))
}
